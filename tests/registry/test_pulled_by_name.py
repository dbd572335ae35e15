"""Another user (a second, rootless podman store) pulls a release by manifest,
then `run` and `submit --print` find it by STACK/LAYER."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_STACK, TEST_USER, hepstack
from tests.registry.conftest import RegistryServer, cli

pytestmark = [pytest.mark.registry, pytest.mark.podman, pytest.mark.slow]


@pytest.fixture
def other_user() -> Iterator[tuple[pwd.struct_passwd, Path]]:
    if os.geteuid() != 0:
        pytest.skip("switching to the test user needs root")
    try:
        user = pwd.getpwnam(TEST_USER)
    except KeyError:
        pytest.skip(f"test user {TEST_USER} missing (scripts/setup-host.sh creates it)")
    shared = Path(tempfile.mkdtemp(prefix="hepstack-pulled-"))
    shared.chmod(0o755)
    state = shared / "state"
    state.mkdir()
    os.chown(state, user.pw_uid, user.pw_gid)
    yield user, shared
    shutil.rmtree(shared, ignore_errors=True)


def test_pulled_release_runs_and_submits_by_name(
    example_images: dict[str, str],
    registry: RegistryServer,
    credentials: dict[str, str],
    other_user: tuple[pwd.struct_passwd, Path],
) -> None:
    user, shared = other_user
    manifest = shared / "lat-base.json"
    cli(
        "push",
        str(EXAMPLE_STACK),
        "base",
        "--registry",
        f"{registry.host}/byname",
        "--no-tls-verify",
        "--manifest",
        str(manifest),
        env=credentials,
    )
    manifest.chmod(0o644)
    digest = json.loads(manifest.read_text())["images"][0]["digest"]
    env = {
        **credentials,
        "HOME": user.pw_dir,
        "USER": user.pw_name,
        "HEPSTACK_DATA_DIR": str(shared / "state" / "data"),
        "HEPSTACK_CACHE_DIR": str(shared / "state" / "cache"),
    }
    before = hepstack(
        "run", "--runtime", "podman", "lat/base", "--", "true", env=env, user=user.pw_name, check=False
    )
    assert before.returncode == 2 and "no build of lat/base" in before.stderr
    pulled = hepstack("pull", "--manifest", str(manifest), "--no-tls-verify", env=env, user=user.pw_name)
    assert digest in pulled.stdout and "as lat/base" in pulled.stdout
    ran = hepstack("run", "--runtime", "podman", "lat/base", "--", "true", env=env, user=user.pw_name)
    assert ran.returncode == 0
    script = hepstack(
        "submit",
        "--scheduler",
        "local",
        "--runtime",
        "podman",
        "--print",
        "lat/base",
        "--",
        "true",
        env=env,
        user=user.pw_name,
    ).stdout
    assert f"{registry.host}/byname/lat/base:1.0" in script
    nersc = hepstack(
        "submit", "--site", "nersc", "--print", "lat/base", "--", "true", env=env, user=user.pw_name
    )
    assert f"{registry.host}/byname/lat/base@{digest}" in nersc.stdout


def test_plain_http_registry_without_the_flag_is_one_error_with_a_hint(
    registry: RegistryServer, credentials: dict[str, str]
) -> None:
    result = cli("pull", f"{registry.host}/byname/lat/base:1.0", env=credentials, check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error:") and "speaks plain HTTP" in lines[0]
    assert lines[1].startswith("hint:") and "--no-tls-verify" in lines[1]
    assert len(lines) == 2 and "level=fatal" not in result.stderr and "retrying" not in result.stderr
