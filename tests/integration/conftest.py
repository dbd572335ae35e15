"""Fixtures for tests against the real engines: a non-root user with the example image in reach."""

from __future__ import annotations

import os
import pwd
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import HEPSTACK, TEST_USER, tool_works


def run(
    *argv: str, user: str | None = None, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    command = list(argv)
    if user is not None:
        assignments = [f"{k}={v}" for k, v in (env or {}).items()]
        command = ["runuser", "-u", user, "--", "env", *assignments, *command]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        env=None if user else {**os.environ, **(env or {})},
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


@pytest.fixture(scope="session")
def shared_tmp() -> Iterator[Path]:
    """Scratch space the test user can reach (pytest's own tmp is root-only, mode 700)."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="hepstack-tests-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def test_user() -> pwd.struct_passwd:
    if os.geteuid() != 0:
        pytest.skip("these tests switch to the non-root test user, which needs root")
    try:
        return pwd.getpwnam(TEST_USER)
    except KeyError:
        pytest.skip(f"test user {TEST_USER} missing (scripts/setup-host.sh creates it)")


@pytest.fixture(scope="session")
def release_ref(example_images: dict[str, str]) -> str:
    return example_images["release"]


@pytest.fixture(scope="session")
def image_archive(release_ref: str, shared_tmp: Path) -> Path:
    """The release image as a docker-archive any user can read (to load into per-user stores)."""
    archive = shared_tmp / "release.tar"
    run("podman", "save", "--output", str(archive), release_ref)
    archive.chmod(0o644)
    return archive


@pytest.fixture(scope="session")
def user_env(test_user: pwd.struct_passwd, shared_tmp: Path) -> dict[str, str]:
    state = shared_tmp / "user-state"
    state.mkdir()
    os.chown(state, test_user.pw_uid, test_user.pw_gid)
    return {
        "HOME": test_user.pw_dir,
        "USER": test_user.pw_name,
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HEPSTACK_DATA_DIR": str(state / "data"),
        "HEPSTACK_CACHE_DIR": str(state / "cache"),
    }


@pytest.fixture(scope="session")
def rootless_image(
    test_user: pwd.struct_passwd, image_archive: Path, release_ref: str, user_env: dict[str, str]
) -> str:
    """The release image loaded into the test user's own (rootless) podman store."""
    if not tool_works("podman", "--version"):
        pytest.skip("podman not installed")
    run("podman", "load", "--input", str(image_archive), user=test_user.pw_name, env=user_env)
    return release_ref


@pytest.fixture(scope="session")
def docker_image(release_ref: str, image_archive: Path) -> str:
    if not tool_works("/usr/bin/docker", "info"):
        pytest.skip("the docker engine is not running (scripts/setup-host.sh starts it)")
    run("/usr/bin/docker", "load", "--input", str(image_archive))
    return release_ref


@pytest.fixture
def user_out(test_user: pwd.struct_passwd, shared_tmp: Path, request: pytest.FixtureRequest) -> Path:
    out = shared_tmp / f"out-{request.node.name}"
    out.mkdir()
    os.chown(out, test_user.pw_uid, test_user.pw_gid)
    return out


@pytest.fixture(scope="session")
def sudo_rule(test_user: pwd.struct_passwd) -> Iterator[None]:
    """Let the test user run this hepstack through sudo (rootful podman), for the session only."""
    if not tool_works("sudo", "--version"):
        pytest.skip("sudo not installed")
    rule = Path("/etc/sudoers.d/hepstack-tests")
    rule.write_text(f"{test_user.pw_name} ALL=(root) NOPASSWD: {HEPSTACK}\n")
    rule.chmod(0o440)
    yield
    rule.unlink()
