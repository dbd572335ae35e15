"""xrootd 5.5 as scripts/setup-services.sh promises it: a job (the non-root test user) copies a file up
and down with xrdcp, the server's adler32 equals the file's, and a wrong path fails in seconds."""

from __future__ import annotations

import os
import subprocess
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_USER
from tests.services.endpoints import XROOTD_CLIENT_TIMEOUTS, Xrootd


def as_test_user(*argv: str) -> list[str]:
    """``argv`` as the test user (a job's user), with the xrootd client time-outs in its environment."""
    assignments = [f"{key}={value}" for key, value in XROOTD_CLIENT_TIMEOUTS.items()]
    return ["runuser", "-u", TEST_USER, "--", "env", *assignments, *argv]


def run(argv: list[str], xrootd: Xrootd) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, capture_output=True, text=True, env=xrootd.client_env(), timeout=60, check=False
    )


@pytest.fixture
def remote_dir(xrootd: Xrootd) -> Iterator[str]:
    path = f"/hepstack-test-{uuid.uuid4().hex[:12]}"
    yield path
    for name in ("events.dat",):
        run(["xrdfs", xrootd.root_url, "rm", f"{path}/{name}"], xrootd)
    run(["xrdfs", xrootd.root_url, "rmdir", path], xrootd)


def test_copy_up_and_down_with_adler32(xrootd: Xrootd, remote_dir: str, user_dir: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 7)
    source = user_dir / "events.dat"
    source.write_bytes(data)
    remote = xrootd.url(f"{remote_dir}/events.dat")

    up = run(as_test_user("xrdcp", "--nopbar", "--cksum", "adler32", str(source), remote), xrootd)
    assert up.returncode == 0, up.stderr
    down = run(
        as_test_user("xrdcp", "--nopbar", "--cksum", "adler32", remote, str(user_dir / "back.dat")), xrootd
    )
    assert down.returncode == 0, down.stderr
    assert (user_dir / "back.dat").read_bytes() == data

    query = run(["xrdfs", xrootd.root_url, "query", "checksum", f"{remote_dir}/events.dat"], xrootd)
    assert query.returncode == 0, query.stderr
    assert query.stdout.split() == ["adler32", f"{zlib.adler32(data):08x}"]


def test_a_wrong_path_fails_fast(xrootd: Xrootd, user_dir: Path) -> None:
    missing = xrootd.url(f"/hepstack-test-{uuid.uuid4().hex[:12]}/no-such-file")
    result = run(as_test_user("xrdcp", "--nopbar", missing, str(user_dir / "x")), xrootd)
    assert result.returncode != 0
    assert "[3011]" in result.stderr and "no such file or directory" in result.stderr  # kXR_NotFound


def test_no_server_fails_fast_with_the_client_timeouts(xrootd: Xrootd, user_dir: Path) -> None:
    # Nothing listens on port 1: without XRD_CONNECTIONRETRY xrdcp would retry for minutes
    # (docs/host-facts.md).
    result = run(as_test_user("xrdcp", "--nopbar", "root://127.0.0.1:1//x", str(user_dir / "x")), xrootd)
    assert result.returncode != 0
    assert "Connection error" in result.stderr
