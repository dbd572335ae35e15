"""The calibration DB's client side without a server: URLs, where the password comes from, the config
checks. (recon against MariaDB itself: hepstack's tests/services/test_calibration_db.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli

from lat.calib import database
from lat.framework.errors import InputError, LatError


def test_a_url_names_user_host_port_and_database_but_never_a_password() -> None:
    endpoint = database.parse_url("mysql://lat_reader@db.example.org:3306/latcalib")
    assert (endpoint.user, endpoint.host, endpoint.port, endpoint.database) == (
        "lat_reader", "db.example.org", 3306, "latcalib")  # fmt: skip
    assert str(endpoint) == "mysql://lat_reader@db.example.org:3306/latcalib"
    for bad in ("mysql://lat:pw@db:3306/latcalib", "mysql://lat@db/latcalib", "postgres://lat@db:1/x",
                "mysql://lat@db:70000/x", "mysql://lat@db:3306/lat;drop"):  # fmt: skip
        with pytest.raises(LatError, match="is not mysql://USER@HOST:PORT/DATABASE"):
            database.parse_url(bad)


def test_the_password_comes_from_an_option_file_or_a_password_file(tmp_path: Path) -> None:
    option_file = tmp_path / "calibdb.cnf"
    option_file.write_text("[client]\nhost=127.0.0.1\nuser=lat_reader\npassword=p#a=ss;word\n")
    plain = tmp_path / "password"
    plain.write_text("only-line-one\nsecond\n")
    assert database.read_password(str(option_file)) == "p#a=ss;word"
    assert database.read_password(str(plain)) == "only-line-one"


def test_a_secret_name_is_the_file_hepstack_names_or_run_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HEPSTACK_SECRET_CALIBDB", raising=False)
    assert database.password_file("calibdb") == Path("/run/secrets/calibdb")
    monkeypatch.setenv("HEPSTACK_SECRET_CALIBDB", str(tmp_path / "db.cnf"))
    assert database.password_file("calibdb") == tmp_path / "db.cnf"
    with pytest.raises(InputError, match=f"cannot read the calibration DB password file {tmp_path}/db.cnf"):
        database.read_password("calibdb")


def test_recon_config_errors_name_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAT_CALIB_DB", raising=False)
    key = "physics.producers.cal"
    (tmp_path / "digi.root").write_bytes(b"")  # the configuration is checked before any input is read
    for setting, message in (
        (f"{key}.calibSource=dbase", f"recon.yaml: {key}.calibSource: is 'dbase': write file or db"),
        (f"{key}.calibDb=mysql://x", f"recon.yaml: {key}.calibDb: calibration DB 'mysql://x' is not"),
        (f"{key}.calibDb=", f"recon.yaml: {key}.calibDb: is empty and $LAT_CALIB_DB is not set"),
    ):
        result = run_cli(["recon", "-s", "digi.root", "-o", "r.root", "--set", f"{key}.calibSource=db",
                          "--set", setting], tmp_path)  # fmt: skip
        assert result.returncode == 2 and message in result.stderr, result.stderr
