"""Where the test servers of scripts/setup-services.sh listen, and how to log in, for tests.

The set-up writes one file per service, ``/etc/hepstack/services/NAME.json`` (``HEPSTACK_SERVICES_DIR``
points elsewhere), naming host, port and the root-only file that holds each credential. A service that
is not set up here, or whose credential this user cannot read, raises :class:`ServiceUnavailable` with
the reason; the fixtures in tests/conftest.py turn that into a skip, so a machine without these servers
still runs the rest. Passwords are read from their files when a connection is made and never printed:
a SQLAlchemy ``URL`` shows its password as ``***``.

Example::

    engine = sqlalchemy.create_engine(postgres_url("hepstack"))
"""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

SETUP_HINT = "run scripts/setup-services.sh as root"


class ServiceUnavailable(Exception):
    """This service is not set up here (the message says what is missing)."""


def services_dir() -> Path:
    return Path(os.environ.get("HEPSTACK_SERVICES_DIR", "/etc/hepstack/services"))


def endpoint(name: str) -> dict[str, Any]:
    """The endpoint file of service ``name``, as a dict."""
    path = services_dir() / f"{name}.json"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ServiceUnavailable(f"{name} is not set up here: no {path} ({SETUP_HINT})") from None
    data: dict[str, Any] = json.loads(text)
    return data


def read_secret(path: str | Path) -> str:
    """A credential file's text; unreadable (not root) is a reason to skip, not an error."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except PermissionError:
        raise ServiceUnavailable(f"{path} is readable by root only; run these tests as root") from None
    except FileNotFoundError:
        raise ServiceUnavailable(f"no credential file {path} ({SETUP_HINT})") from None


def pgpass_fields(line: str) -> list[str]:
    """One line of a libpq password file: five ':'-separated fields, '\\' escaping ':' and '\\'."""
    fields, current, escaped = [], "", False
    for char in line.rstrip("\n"):
        if escaped:
            current, escaped = current + char, False
        elif char == "\\":
            escaped = True
        elif char == ":":
            fields.append(current)
            current = ""
        else:
            current += char
    fields.append(current)
    if len(fields) != 5:
        raise ValueError("a password file line has 5 fields: host:port:database:user:password")
    return fields


def postgres_url(database: str | None = None) -> URL:
    """SQLAlchemy URL (postgresql+psycopg) of role hepstack, which may create databases (CREATEDB)."""
    info = endpoint("postgresql")
    lines = [line for line in read_secret(info["pgpass"]).splitlines() if line and not line.startswith("#")]
    _host, _port, _database, user, password = pgpass_fields(lines[0])
    return URL.create(
        "postgresql+psycopg",
        username=user,
        password=password,
        host=info["host"],
        port=info["port"],
        database=database or info["database"],
    )


@dataclass(frozen=True)
class MariaDB:
    """The example's calibration database: ``writer`` may change it, ``reader`` (what jobs get) only reads.

    The option files are MariaDB client option files ([client] host, port, user, password):
    ``mariadb --defaults-extra-file=FILE`` and PyMySQL's ``read_default_file=FILE`` read them.
    """

    host: str
    port: int
    database: str
    writer_option_file: Path
    reader_option_file: Path

    def connect(self, *, reader: bool = False, **options: Any) -> Any:
        """A PyMySQL connection to ``database`` as the writer (or the reader)."""
        import pymysql

        option_file = self.reader_option_file if reader else self.writer_option_file
        read_secret(option_file)  # a clear skip reason when not root, before PyMySQL's own error
        return pymysql.connect(
            read_default_file=str(option_file), database=self.database, connect_timeout=10, **options
        )


def mariadb() -> MariaDB:
    info = endpoint("mariadb")
    return MariaDB(
        host=info["host"],
        port=info["port"],
        database=info["database"],
        writer_option_file=Path(info["writer"]["option_file"]),
        reader_option_file=Path(info["reader"]["option_file"]),
    )


# xrdcp and xrdfs retry a dead server or a wrong path for minutes by default (docs/host-facts.md):
# fail in seconds.
XROOTD_CLIENT_TIMEOUTS = {
    "XRD_CONNECTIONRETRY": "1",
    "XRD_CONNECTIONWINDOW": "5",
    "XRD_REQUESTTIMEOUT": "10",
    "XRD_STREAMTIMEOUT": "10",
}


@dataclass(frozen=True)
class Xrootd:
    """The xrootd data server; ``url("/dir/file")`` is a file on it. No authentication: a stand-in."""

    root_url: str
    data_dir: Path
    checksum: str

    def url(self, path: str) -> str:
        return f"{self.root_url}//{path.lstrip('/')}"

    def client_env(self) -> dict[str, str]:
        return {**os.environ, **XROOTD_CLIENT_TIMEOUTS}


def xrootd() -> Xrootd:
    info = endpoint("xrootd")
    return Xrootd(root_url=info["url"], data_dir=Path(info["data_dir"]), checksum=info["checksum"])


@dataclass(frozen=True)
class SshSite:
    """This host's SLURM and SGE behind an sshd on 127.0.0.1:2222, as user ``user`` with a key.

    ``argv("squeue", "-u", user)`` is the ssh command line; the remote words are quoted for the remote
    shell (ssh joins them with spaces). Host key checking is strict against the pinned known_hosts.
    """

    host: str
    port: int
    user: str
    identity_file: Path
    known_hosts: Path

    def argv(self, *remote: str) -> list[str]:
        return [
            "ssh",
            "-F",
            "/dev/null",
            "-p",
            str(self.port),
            "-i",
            str(self.identity_file),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "ConnectTimeout=10",
            f"{self.user}@{self.host}",
            "--",
            shlex.join(remote),
        ]


def ssh_site() -> SshSite:
    info = endpoint("ssh")
    return SshSite(
        host=info["host"],
        port=info["port"],
        user=info["user"],
        identity_file=Path(info["identity_file"]),
        known_hosts=Path(info["known_hosts"]),
    )


@dataclass(frozen=True)
class Chromium:
    browser: Path
    driver: Path


def chromium() -> Chromium:
    info = endpoint("chromium")
    return Chromium(browser=Path(info["browser"]), driver=Path(info["driver"]))
