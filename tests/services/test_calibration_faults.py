"""The calibration DB's faults as a job sees them (podman, rootless, the test user), and where a secret's
content must never be: image layers, the job script and log, hepstack's state and catalog, any process's
argv or environment while the job runs."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import secrets
import shlex
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import HEPSTACK
from tests.integration.conftest import run
from tests.services.calib_jobs import (
    CONNECT_TIMEOUT_S,
    Calibrations,
    db_options,
    password_of,
    private_copy,
    recon_argv,
)
from tests.services.endpoints import MariaDB


def _private_dir(parent: Path, name: str, owner: pwd.struct_passwd) -> Path:
    path = parent / name
    path.mkdir(mode=0o700)
    os.chown(path, owner.pw_uid, owner.pw_gid)
    return path


def _user_file(directory: Path, name: str, text: str, owner: pwd.struct_passwd, mode: int = 0o600) -> Path:
    path = directory / name
    path.write_text(text)
    os.chown(path, owner.pw_uid, owner.pw_gid)
    path.chmod(mode)
    return path


def _db_job(
    image: str, digi: Path, out: Path, secret: Path, calibrations: Calibrations, url: str | None = None
) -> list[str]:
    argv = recon_argv(runtime="podman", image=image, digi=digi, out=out,
                      options=db_options(calibrations, calibrations.v1, url))  # fmt: skip
    argv[2:2] = ["--secret", f"calibdb={secret}"]
    return argv


def test_an_unreachable_db_fails_the_job_in_bounded_time_naming_it_with_no_output(
    rootless_recon: str, digi_input: Path, calibrations: Calibrations, mariadb: MariaDB,
    user_dir: Path, test_user: pwd.struct_passwd, user_env: dict[str, str],
) -> None:  # fmt: skip
    secret = private_copy(mariadb.reader_option_file, _private_dir(user_dir, "s", test_user),
                          test_user.pw_uid, test_user.pw_gid)  # fmt: skip
    out = _private_dir(user_dir, "out", test_user)
    closed = "mysql://lat_reader@127.0.0.1:1/latcalib"  # nothing listens on port 1
    started = time.monotonic()
    result = run(*_db_job(rootless_recon, digi_input, out, secret, calibrations, closed),
                 user=test_user.pw_name, env=user_env, check=False)  # fmt: skip
    elapsed = time.monotonic() - started
    assert result.returncode == 2, result.stderr
    assert (
        f"lat-run: error: calibration DB {closed}: cannot connect within {CONNECT_TIMEOUT_S} s"
        in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert elapsed < CONNECT_TIMEOUT_S + 20  # the connect timeout plus a container's start, not a hang
    assert list(out.iterdir()) == []  # no partial output


def test_a_wrong_password_is_a_clear_error_and_shown_nowhere(
    rootless_recon: str, digi_input: Path, calibrations: Calibrations, mariadb: MariaDB,
    user_dir: Path, test_user: pwd.struct_passwd, user_env: dict[str, str],
) -> None:  # fmt: skip
    wrong = secrets.token_urlsafe(18)
    secret = _user_file(_private_dir(user_dir, "s", test_user), "wrong.cnf",
                        f"[client]\nuser=lat_reader\npassword={wrong}\n", test_user)  # fmt: skip
    out = _private_dir(user_dir, "out", test_user)
    result = run(*_db_job(rootless_recon, digi_input, out, secret, calibrations),
                 user=test_user.pw_name, env=user_env, check=False)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.endswith(
        f"lat-run: error: calibration DB {calibrations.url}: access denied for lat_reader (wrong password?)\n"
        f"lat-run: hint: check the password in /run/secrets/calibdb\n"
    ), result.stderr
    assert wrong not in result.stdout + result.stderr
    assert password_of(mariadb.reader_option_file) not in result.stdout + result.stderr
    assert list(out.iterdir()) == []


def test_a_secret_others_can_read_is_refused_before_anything_runs(
    rootless_recon: str, digi_input: Path, calibrations: Calibrations, mariadb: MariaDB,
    user_dir: Path, test_user: pwd.struct_passwd, user_env: dict[str, str],
) -> None:  # fmt: skip
    secret = private_copy(mariadb.reader_option_file, _private_dir(user_dir, "s", test_user),
                          test_user.pw_uid, test_user.pw_gid, mode=0o644)  # fmt: skip
    out = _private_dir(user_dir, "out", test_user)
    result = run(*_db_job(rootless_recon, digi_input, out, secret, calibrations),
                 user=test_user.pw_name, env=user_env, check=False)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == (
        f"error: the secret file {secret} has mode 0644: group or others may read or change it\n"
        f"hint: chmod 600 {secret}\n"
    )
    assert list(out.iterdir()) == []


def _processes_holding(needle: bytes, uid: int) -> list[str]:
    """Processes of ``uid`` (the runtime, conmon, the payload) whose argv or environment hold ``needle``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            for part in ("cmdline", "environ"):
                if needle in (entry / part).read_bytes():
                    found.append(f"{entry.name}/{part}")
        except OSError:
            continue  # gone meanwhile
    return found


def _files_holding(needle: bytes, *roots: Path) -> list[str]:
    found = []
    for root in roots:
        for path in [root] if root.is_file() else root.rglob("*"):
            if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
                found.append(str(path))
    return found


def _wait_for(path: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear within {seconds} s"
        time.sleep(0.1)


@pytest.mark.slow
def test_the_password_is_nowhere_but_in_its_file(
    rootless_recon: str, digi_input: Path, calibrations: Calibrations, mariadb: MariaDB,
    user_dir: Path, test_user: pwd.struct_passwd, user_env: dict[str, str],
) -> None:  # fmt: skip
    """A batch job (local scheduler, podman) that reads the DB with --secret; while it runs, and after."""
    password = password_of(mariadb.reader_option_file).encode()
    secret = private_copy(mariadb.reader_option_file, _private_dir(user_dir, "s", test_user),
                          test_user.pw_uid, test_user.pw_gid)  # fmt: skip
    out = _private_dir(user_dir, "out", test_user)
    state = _private_dir(user_dir, "state", test_user)
    env = {**user_env, "HEPSTACK_DATA_DIR": str(state / "data"), "HEPSTACK_CACHE_DIR": str(state / "cache")}
    job_argv = recon_argv(runtime="podman", image=rootless_recon, digi=digi_input, out=out,
                          options=db_options(calibrations, calibrations.v1))  # fmt: skip
    recon = shlex.join(job_argv[job_argv.index("--") + 1 :])  # lat-run recon ...
    payload = (f'sha256sum < "$HEPSTACK_SECRET_CALIBDB"; {recon} && touch {out}/started; '
               f"while [ ! -e {out}/stop ]; do sleep 0.1; done")  # fmt: skip
    submitted = run(HEPSTACK, "submit", "--scheduler", "local", "--runtime", "podman", "--secret",
                    f"calibdb={secret}", "--bind", f"{digi_input}:{digi_input}:ro", "--bind", f"{out}:{out}",
                    "--workdir", str(out), rootless_recon, "--", "sh", "-c", payload,
                    user=test_user.pw_name, env=env)  # fmt: skip
    job = submitted.stdout.split()[2]
    _wait_for(out / "started", 120)
    try:
        ps = subprocess.run(["ps", "-e", "-ww", "-o", "args"], capture_output=True, check=True).stdout
        assert b"/run/secrets/calibdb" in ps or str(secret).encode() in ps  # the job is there, by path
        assert password not in ps
        assert _processes_holding(b"target=/run/secrets/calibdb", test_user.pw_uid) != []  # podman's, seen
        assert _processes_holding(password, test_user.pw_uid) == []
        assert _processes_holding(password, 0) == []  # nor root's (podman's helpers, the tests themselves)
    finally:
        (out / "stop").touch()
    final = run(
        HEPSTACK, "jobs", job, "--watch", "--interval", "0.3", "--json", user=test_user.pw_name, env=env
    )
    record = json.loads(final.stdout)[0]
    assert [task["exit_code"] for task in record["tasks"]] == [0]
    log = run(HEPSTACK, "logs", job, user=test_user.pw_name, env=env).stdout
    assert hashlib.sha256(secret.read_bytes()).hexdigest() in log  # the job did read the secret
    archive = user_dir / "image.tar"
    run("podman", "image", "save", "--output", str(archive), rootless_recon, user=test_user.pw_name, env=env)
    catalog = Path.home() / ".local/share/hepstack/catalog.sqlite"
    roots = [state, out, archive, *([catalog] if catalog.exists() else [])]
    assert _files_holding(password, secret) == [str(secret)]  # the search finds it where it is
    assert _files_holding(password, *roots) == []
    assert _files_holding(str(secret).encode(), state / "data" / "jobs") != []  # the script names the path


def test_the_job_cannot_change_its_secret(
    rootless_recon: str, user_dir: Path, test_user: pwd.struct_passwd, user_env: dict[str, str]
) -> None:
    secret = _user_file(_private_dir(user_dir, "s", test_user), "token", "t0ken\n", test_user)
    script = 'cat /run/secrets/token; echo changed > "$HEPSTACK_SECRET_TOKEN"'
    result = run(HEPSTACK, "run", "--secret", f"token={secret}", rootless_recon, "--", "sh", "-c", script,
                 user=test_user.pw_name, env=user_env, check=False)  # fmt: skip
    assert result.stdout == "t0ken\n"
    assert result.returncode != 0 and "Read-only file system" in result.stderr
    assert secret.read_text() == "t0ken\n"
