"""Fixtures for the cross-user tests: the non-root test user (the attacker) and scratch space it can reach,
from tests/integration/conftest.py, imported rather than duplicated."""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

import pytest

from tests.integration.conftest import shared_tmp, test_user  # noqa: F401 - fixtures, used by name


@pytest.fixture
def public(shared_tmp: Path, request: pytest.FixtureRequest) -> Path:
    """A directory every user may create files in, sticky like /tmp: where shared caches end up."""
    path = shared_tmp / f"public-{request.node.name}"
    path.mkdir()
    path.chmod(0o1777)
    return path


def as_user(user: pwd.struct_passwd, script: str, *args: str) -> None:
    """Run a Python ``script`` (argv: ``args``) as ``user``, with the system interpreter (no hepstack)."""
    environment = ["env", "-i", "PATH=/usr/bin:/bin", f"HOME={user.pw_dir}"]
    result = subprocess.run(
        ["runuser", "-u", user.pw_name, "--", *environment, "/usr/bin/python3", "-c", script, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )
    assert result.returncode == 0, result.stderr


def mode(path: Path) -> int:
    return os.lstat(path).st_mode & 0o7777
