"""Engine command lines for a build, against reviewed goldens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hepstack.build.engines import BuildRequest, get_engine
from hepstack.errors import HepstackError

REQUEST = BuildRequest(
    containerfile=Path("/scratch/Containerfile"),
    context=Path("/scratch/context"),
    tags=["localhost/lat/framework:0123456789ab", "localhost/lat/framework:latest"],
    labels={"io.hepstack.key": "0123456789ab", "org.opencontainers.image.title": "lat/framework"},
    secrets={"hepstack-ca": Path("/etc/ssl/certs/ca-certificates.crt")},
    no_cache=True,
)


@pytest.mark.parametrize("engine", ["podman", "docker"])
def test_build_argv_matches_golden(engine: str, golden) -> None:  # type: ignore[no-untyped-def]
    argv = get_engine(engine).build_argv(REQUEST)
    golden(f"argv/build-{engine}.json", json.dumps([Path(argv[0]).name, *argv[1:]], indent=1) + "\n")


def test_docker_builds_with_buildkit() -> None:
    assert get_engine("docker").build_env(REQUEST)["DOCKER_BUILDKIT"] == "1"


def test_unknown_engine_suggests() -> None:
    with pytest.raises(HepstackError) as caught:
        get_engine("podmn")
    assert caught.value.hint is not None and "did you mean 'podman'" in caught.value.hint
