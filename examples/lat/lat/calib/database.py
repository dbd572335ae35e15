"""Calibration constants in the calibration database (MariaDB/MySQL), per version tag and run range.

A *tag* (``v1``, ``v2``) is one calibration version; each of its *intervals* of validity, an inclusive run
range, holds a full set of constants loaded from one calibration YAML file (``lat-calib load``). recon
reads the interval that holds each event's run (``calibSource: db``); the YAML files stay the offline
fallback (``calibSource: file``). Both give the same constants, bit for bit: DOUBLE columns hold the
IEEE doubles the YAML parses to, and each interval keeps the name, version and sha256 of the file it
came from, which recon records in its output (``calibration`` metadata), so the output bytes are equal.

The connection is ``mysql://USER@HOST:PORT/DATABASE``; the password is read from a file, never from the
command line or the environment: a secret name (``/run/secrets/NAME`` in a container, the file named by
``$HEPSTACK_SECRET_<NAME>`` from ``hepstack run --secret``) or a file path, holding either a MariaDB client
option file (``[client]`` ... ``password=...``) or the password alone on its first line.

The client is PyMySQL (pure Python: nothing to compile, no libmariadb in the image, a wheel for the
legacy platform's Python 3.9 as for bookworm's 3.11), imported only when the database is used.
"""

from __future__ import annotations

import configparser
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lat import geometry
from lat.framework.errors import InputError, LatError

URL = re.compile(
    r"^mysql://(?P<user>[A-Za-z0-9_]{1,32})@(?P<host>[A-Za-z0-9.-]{1,253}):(?P<port>[0-9]{1,5})"
    r"/(?P<database>[A-Za-z0-9_]{1,64})$"
)
URL_RULE = "mysql://USER@HOST:PORT/DATABASE (the password comes from a file, not the URL)"
TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
SECRET_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")  # hepstack's --secret NAME
CONNECT_TIMEOUT_S = 10  # a job whose database is unreachable fails within this, naming the endpoint
READ_TIMEOUT_S = 60
MAX_RUN = 2**32 - 1
RANGES = ("fine", "coarse")  # adc_range 0 and 1, as in the YAML and in CalDigi's range

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS calib_interval (
        tag VARCHAR(32) NOT NULL, first_run INT UNSIGNED NOT NULL, last_run INT UNSIGNED NOT NULL,
        name VARCHAR(64) NOT NULL, version VARCHAR(32) NOT NULL, sha256 CHAR(64) NOT NULL,
        noise_adc DOUBLE NOT NULL, comment TEXT NOT NULL, PRIMARY KEY (tag, first_run))""",
    """CREATE TABLE IF NOT EXISTS calib_constant (
        tag VARCHAR(32) NOT NULL, first_run INT UNSIGNED NOT NULL, adc_range TINYINT UNSIGNED NOT NULL,
        channel SMALLINT UNSIGNED NOT NULL, pedestal DOUBLE NOT NULL, gain DOUBLE NOT NULL,
        PRIMARY KEY (tag, first_run, adc_range, channel),
        FOREIGN KEY (tag, first_run) REFERENCES calib_interval (tag, first_run) ON DELETE CASCADE)""",
)


@dataclass(frozen=True)
class Endpoint:
    user: str
    host: str
    port: int
    database: str

    def __str__(self) -> str:  # what every message names: never a password
        return f"mysql://{self.user}@{self.host}:{self.port}/{self.database}"


def parse_url(text: str) -> Endpoint:
    match = URL.match(text)
    if match is None or not 0 < int(match["port"]) < 65536:
        raise LatError(
            f"calibration DB {text!r} is not {URL_RULE}", hint="e.g. mysql://lat_reader@db:3306/latcalib"
        )
    return Endpoint(match["user"], match["host"], int(match["port"]), match["database"])


def check_tag(tag: str) -> str:
    if not TAG.match(tag):
        raise LatError(
            f"calibration tag {tag!r} is not a tag", hint="letters, digits, '_', '.', '-', e.g. v1"
        )
    return tag


def password_file(source: str) -> Path:
    """A secret name (``$HEPSTACK_SECRET_<NAME>``, else ``/run/secrets/NAME``) or a file path."""
    if SECRET_NAME.match(source):
        return Path(os.environ.get("HEPSTACK_SECRET_" + source.upper()) or f"/run/secrets/{source}")
    return Path(source)


def read_password(source: str) -> str:
    """The password in ``source``'s file: a client option file's ``[client] password``, or line one."""
    path = password_file(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(
            f"cannot read the calibration DB password file {path}: {exc.strerror}",
            hint="give the secret to the job: hepstack run --secret NAME=FILE (FILE: yours, mode 0600)",
        ) from None
    if text.lstrip().startswith("["):
        options = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            options.read_string(text, source=str(path))
            return options.get("client", "password").strip("'\"")
        except (configparser.Error, ValueError):
            raise InputError(f"{path}: an option file without [client] password=...") from None
    password = text.split("\n", 1)[0].rstrip("\r")
    if not password:
        raise InputError(f"{path}: the password file's first line is empty")
    return password


@contextmanager
def connect(endpoint: Endpoint, password_source: str, *, autocommit: bool = True) -> Iterator[Any]:
    """A PyMySQL connection; a refusal or timeout is an :class:`InputError` naming the endpoint (never the
    password), raised within :data:`CONNECT_TIMEOUT_S` for an unreachable server."""
    import pymysql

    password = read_password(password_source)
    try:
        connection = pymysql.connect(
            host=endpoint.host, port=endpoint.port, user=endpoint.user, password=password,
            database=endpoint.database, connect_timeout=CONNECT_TIMEOUT_S, read_timeout=READ_TIMEOUT_S,
            write_timeout=READ_TIMEOUT_S, autocommit=autocommit, charset="utf8mb4",
        )  # fmt: skip
    except pymysql.err.OperationalError as exc:
        code = exc.args[0] if exc.args else 0
        if code == 1045:  # ER_ACCESS_DENIED_ERROR
            raise InputError(
                f"calibration DB {endpoint}: access denied for {endpoint.user} (wrong password?)",
                hint=f"check the password in {password_file(password_source)}",
            ) from None
        raise InputError(
            f"calibration DB {endpoint}: cannot connect within {CONNECT_TIMEOUT_S} s (error {code})",
            hint="is the server up and reachable from this node? (or use calibSource: file)",
        ) from None
    finally:
        del password
    try:
        yield connection
    finally:
        connection.close()


def create_schema(connection: Any) -> None:
    with connection.cursor() as cursor:
        for statement in SCHEMA:
            cursor.execute(statement)


def store_interval(
    connection: Any, tag: str, first_run: int, last_run: int, calib: Mapping[str, Any]
) -> None:
    """Constants ``calib`` (as recon's ``load_calibration`` gives them) for runs [first_run, last_run]
    of ``tag``, replacing that interval if it exists; one transaction. Overlaps are refused."""
    check_tag(tag)
    if not 0 <= first_run <= last_run <= MAX_RUN:
        raise LatError(f"bad run range {first_run}-{last_run}", hint=f"0 <= FIRST <= LAST <= {MAX_RUN}")
    version = ".".join(str(v) for v in calib["version"])
    rows = [
        (tag, first_run, adc_range, channel, float(calib["pedestal"][adc_range, channel]),
         float(calib["gain"][adc_range, channel]))
        for adc_range in range(len(RANGES)) for channel in range(geometry.CAL_CHANNELS)
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT first_run, last_run FROM calib_interval WHERE tag = %s AND first_run <> %s "
            "AND first_run <= %s AND last_run >= %s",
            (tag, first_run, last_run, first_run),
        )
        overlap = cursor.fetchone()
        if overlap is not None:
            raise LatError(
                f"runs {first_run}-{last_run} overlap interval {overlap[0]}-{overlap[1]} of {tag}",
                hint="load a new tag for reprocessing, or the same FIRST run to replace an interval",
            )
        cursor.execute("DELETE FROM calib_interval WHERE tag = %s AND first_run = %s", (tag, first_run))
        cursor.execute(
            "INSERT INTO calib_interval VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (tag, first_run, last_run, calib["name"], version, calib["sha256"], float(calib["noise"]),
             calib.get("comment", "")),
        )  # fmt: skip
        cursor.executemany("INSERT INTO calib_constant VALUES (%s, %s, %s, %s, %s, %s)", rows)


@dataclass(frozen=True)
class Interval:
    first_run: int
    last_run: int
    constants: dict[str, Any]  # the keys of recon's load_calibration


def fetch_intervals(endpoint: Endpoint, password_source: str, tag: str) -> list[Interval]:
    """Every interval of ``tag``, constants included (2 x 96 x 2 doubles each: read all at job start)."""
    check_tag(tag)
    with connect(endpoint, password_source) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT first_run, last_run, name, version, sha256, noise_adc FROM calib_interval "
            "WHERE tag = %s ORDER BY first_run",
            (tag,),
        )
        heads = cursor.fetchall()
        cursor.execute(
            "SELECT first_run, adc_range, channel, pedestal, gain FROM calib_constant WHERE tag = %s", (tag,)
        )
        constants = cursor.fetchall()
    if not heads:
        raise InputError(f"calibration DB {endpoint}: no calibration {tag}", hint="load it: lat-calib load")
    intervals = []
    for first_run, last_run, name, version, sha256, noise in heads:
        pedestal = np.full((len(RANGES), geometry.CAL_CHANNELS), np.nan)
        gain = np.full_like(pedestal, np.nan)
        for row_first, adc_range, channel, row_pedestal, row_gain in constants:
            if row_first == first_run:
                pedestal[adc_range, channel], gain[adc_range, channel] = row_pedestal, row_gain
        if np.isnan(pedestal).any() or np.isnan(gain).any():
            raise InputError(f"calibration DB {endpoint}: {tag} runs {first_run}-{last_run} is incomplete")
        calib = {
            "name": name,
            "sha256": sha256,
            "version": [int(part) for part in version.split(".")],
            "pedestal": pedestal,
            "gain": gain,
            "noise": float(noise),
        }
        intervals.append(Interval(int(first_run), int(last_run), calib))
    return intervals
