"""Acceptance: as a non-root user, `hepstack run ... touch /out/x` leaves a file owned by that user, for
podman rootless, podman rootful (through sudo), docker and charliecloud; writing to / fails."""

from __future__ import annotations

import pwd
from pathlib import Path

import pytest

from tests.conftest import HEPSTACK
from tests.integration.conftest import run

pytestmark = [pytest.mark.slow]
PROBE = "touch /out/x && id -u && id -g; touch /probe-root 2>&1 || true"


def _check(out: Path, result_stdout: str, user: pwd.struct_passwd) -> None:
    made = out / "x"
    assert made.exists(), result_stdout
    assert (made.stat().st_uid, made.stat().st_gid) == (user.pw_uid, user.pw_gid)
    assert f"{user.pw_uid}\n{user.pw_gid}\n" in result_stdout
    assert "Read-only file system" in result_stdout


@pytest.mark.podman
@pytest.mark.rootless
def test_podman_rootless(
    test_user: pwd.struct_passwd, rootless_image: str, user_out: Path, user_env: dict[str, str]
) -> None:
    result = run(
        HEPSTACK,
        "run",
        "--runtime",
        "podman",
        "--bind",
        f"{user_out}:/out",
        rootless_image,
        "--",
        "sh",
        "-c",
        PROBE,
        user=test_user.pw_name,
        env=user_env,
    )
    _check(user_out, result.stdout, test_user)


@pytest.mark.podman
def test_podman_rootful_through_sudo(
    test_user: pwd.struct_passwd, release_ref: str, user_out: Path, user_env: dict[str, str], sudo_rule: None
) -> None:
    # sudo records the caller in SUDO_UID/SUDO_GID; hepstack (root) runs the container as that caller.
    result = run(
        "sudo",
        "-n",
        HEPSTACK,
        "run",
        "--runtime",
        "podman",
        "--bind",
        f"{user_out}:/out",
        release_ref,
        "--",
        "sh",
        "-c",
        PROBE,
        user=test_user.pw_name,
        env=user_env,
    )
    _check(user_out, result.stdout, test_user)
    printed = run(
        "sudo",
        "-n",
        HEPSTACK,
        "run",
        "--print",
        "--runtime",
        "podman",
        release_ref,
        "--",
        "true",
        user=test_user.pw_name,
        env=user_env,
    ).stdout
    assert f"--user {test_user.pw_uid}:{test_user.pw_gid}" in printed


@pytest.mark.docker
def test_docker(
    test_user: pwd.struct_passwd, docker_image: str, user_out: Path, user_env: dict[str, str]
) -> None:
    result = run(
        HEPSTACK,
        "run",
        "--runtime",
        "docker",
        "--engine",
        "docker",
        "--bind",
        f"{user_out}:/out",
        docker_image,
        "--",
        "sh",
        "-c",
        PROBE,
        user=test_user.pw_name,
        env=user_env,
    )
    _check(user_out, result.stdout, test_user)


@pytest.mark.charliecloud
def test_charliecloud(
    test_user: pwd.struct_passwd, docker_image: str, user_out: Path, user_env: dict[str, str]
) -> None:
    # The user's image source is the docker engine (docker group); the unpacked tree is cached.
    argv = [
        HEPSTACK,
        "run",
        "--runtime",
        "charliecloud",
        "--engine",
        "docker",
        "--bind",
        f"{user_out}:/out",
        docker_image,
        "--",
        "sh",
        "-c",
        PROBE,
    ]
    result = run(*argv, user=test_user.pw_name, env=user_env)
    _check(user_out, result.stdout, test_user)
    cache = Path(user_env["HEPSTACK_CACHE_DIR"]) / "charliecloud"
    trees = [p for p in cache.iterdir() if p.is_dir()]
    assert len(trees) == 1 and trees[0].stat().st_uid == test_user.pw_uid
    # A second run reuses the unpacked tree: nothing new appears in the cache.
    (user_out / "x").unlink()
    run(*argv, user=test_user.pw_name, env=user_env)
    assert [p for p in cache.iterdir() if p.is_dir()] == trees


def test_native_applies_layer_env_and_profile(release_ref: str, example_images: dict[str, str]) -> None:
    from tests.conftest import hepstack

    # After `--` everything belongs to the command, even words that look like hepstack options.
    out = hepstack(
        "run", "--runtime", "native", "lat/release", "--", "sh", "-c", 'echo "$0 $1"', "--env", "X=1"
    )
    assert out.stdout.strip() == "--env X=1"
    out = hepstack(
        "run",
        "--runtime",
        "native",
        "--env",
        "HEPSTACK_X=explicit",
        "lat/release",
        "--",
        "sh",
        "-c",
        'echo "$LAT_RELEASE $LAT_FRAMEWORK $HEPSTACK_X"',
    )
    assert out.stdout.strip() == "1.0 1 explicit"
