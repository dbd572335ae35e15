"""recon with its constants from the calibration DB (MariaDB) gives the bytes the same constants from YAML
give, in podman (rootless, the test user), Charliecloud (the test user), native (the test user) and
docker (root); calibration v2 gives other bytes. The password reaches the job only as --secret."""

from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path

import pytest

from tests.conftest import tool_works
from tests.integration.conftest import run
from tests.services.calib_jobs import (
    Calibrations,
    db_options,
    file_options,
    private_copy,
    recon_argv,
)
from tests.services.endpoints import MariaDB


@pytest.fixture
def reader_secret(mariadb: MariaDB, user_dir: Path, test_user: pwd.struct_passwd) -> Path:
    """The reader's option file as a secret of the test user: its own file, mode 0600."""
    directory = user_dir / "secrets"
    directory.mkdir(mode=0o700)
    os.chown(directory, test_user.pw_uid, test_user.pw_gid)
    return private_copy(mariadb.reader_option_file, directory, test_user.pw_uid, test_user.pw_gid)


def _outputs(user_dir: Path, test_user: pwd.struct_passwd, *names: str) -> list[Path]:
    made = []
    for name in names:
        path = user_dir / name
        path.mkdir()
        os.chown(path, test_user.pw_uid, test_user.pw_gid)
        made.append(path)
    return made


def _three_recons(
    runtime: str, image: str, digi: Path, outs: list[Path], secret: Path, calibrations: Calibrations,
    *, user: str | None, env: dict[str, str] | None, python: str | None = None,
) -> list[bytes]:  # fmt: skip
    """recon with v1 from YAML, v1 from the DB, v2 from the DB: the three outputs' bytes."""
    cases = [
        file_options("v1"),
        db_options(calibrations, calibrations.v1),
        db_options(calibrations, calibrations.v2),
    ]
    for out, options in zip(outs, cases, strict=True):
        argv = recon_argv(runtime=runtime, image=image, digi=digi, out=out, options=options, python=python)
        if "calibSource=db" in options[0]:
            argv[2:2] = ["--secret", f"calibdb={secret}"]
        result = run(*argv, user=user, env=env)
        assert "RECON: 200 events processed" in result.stderr + result.stdout
    return [(out / "recon.root").read_bytes() for out in outs]


def _assert_db_equals_yaml(outputs: list[bytes]) -> None:
    yaml_v1, db_v1, db_v2 = outputs
    assert db_v1 == yaml_v1, "recon with v1 from the DB differs from v1 from YAML"
    assert db_v2 != db_v1, "calibration v2 changed nothing"
    assert b"calib_v1 1.1.0" in db_v1 and b"calib_v2 1.2.0" in db_v2  # the calibration metadata


def test_podman_rootless_db_equals_yaml(
    rootless_recon: str, digi_input: Path, calibrations: Calibrations, reader_secret: Path,
    user_dir: Path, test_user: pwd.struct_passwd, user_env: dict[str, str],
) -> None:  # fmt: skip
    outs = _outputs(user_dir, test_user, "yaml-v1", "db-v1", "db-v2")
    outputs = _three_recons("podman", rootless_recon, digi_input, outs, reader_secret, calibrations,
                            user=test_user.pw_name, env=user_env)  # fmt: skip
    _assert_db_equals_yaml(outputs)


def test_charliecloud_db_equals_yaml(
    rootless_recon: str, digi_input: Path, calibrations: Calibrations, reader_secret: Path,
    user_dir: Path, test_user: pwd.struct_passwd, user_env: dict[str, str],
) -> None:  # fmt: skip
    if shutil.which("ch-run") is None:
        pytest.skip("Charliecloud (ch-run) not installed")
    outs = _outputs(user_dir, test_user, "yaml-v1", "db-v1", "db-v2")
    outputs = _three_recons("charliecloud", rootless_recon, digi_input, outs, reader_secret, calibrations,
                            user=test_user.pw_name, env=user_env)  # fmt: skip
    _assert_db_equals_yaml(outputs)


def test_native_db_equals_yaml(
    native_python: str, recon_ref: str, digi_input: Path, calibrations: Calibrations, reader_secret: Path,
    user_dir: Path, test_user: pwd.struct_passwd, user_env: dict[str, str],
) -> None:  # fmt: skip
    outs = _outputs(user_dir, test_user, "yaml-v1", "db-v1", "db-v2")
    outputs = _three_recons("native", recon_ref, digi_input, outs, reader_secret, calibrations,
                            user=test_user.pw_name, env=user_env, python=native_python)  # fmt: skip
    _assert_db_equals_yaml(outputs)


def test_docker_db_equals_yaml(
    recon_ref: str, digi_input: Path, calibrations: Calibrations, mariadb: MariaDB, shared_tmp: Path,
) -> None:  # fmt: skip
    if not tool_works("/usr/bin/docker", "info"):
        pytest.skip("the docker engine is not running (scripts/setup-host.sh starts it)")
    root = shared_tmp / "docker-calib"
    root.mkdir()
    secrets = root / "secrets"
    secrets.mkdir(mode=0o700)
    secret = private_copy(mariadb.reader_option_file, secrets, os.geteuid(), os.getegid())
    outs = []
    for name in ("yaml-v1", "db-v1", "db-v2"):
        (root / name).mkdir()
        outs.append(root / name)
    outputs = _three_recons("docker", recon_ref, digi_input, outs, secret, calibrations, user=None, env=None)
    _assert_db_equals_yaml(outputs)
