"""A locked version the archive no longer serves, or a release file changed since the lock, stops the
build before it starts (docs/releases.md)."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from hepstack.release.archive import LockedVersionGone, check_served, parse_index
from hepstack.release.lockfile import Archive, write_lock
from tests.conftest import hepstack, tool_works
from tests.release.helpers import copy_stack, empty_store, hand_lock, storage_conf

INDEX = """Package: python3
Version: 3.11.2-1+b1

Package: python3-six
Version: 1.16.0-4
Architecture: all
"""


def test_index_parsing() -> None:
    assert parse_index(INDEX) == {"python3": {"3.11.2-1+b1"}, "python3-six": {"1.16.0-4"}}


def test_served_versions_pass_and_a_gone_one_is_named() -> None:
    def fetch(archive: Archive) -> dict[str, set[str]]:
        return parse_index(INDEX)

    check_served(hand_lock(), ["base", "tools", "app"], fetch=fetch)
    with pytest.raises(LockedVersionGone) as caught:
        check_served(
            hand_lock(six="1.15.0-2"),
            ["base", "tools"],
            fetch=fetch,
            released=lambda layer: "r.example/x@sha256:ab",
        )
    message = caught.value.message
    assert "layer 'tools'" in message and "python3-six" in message and "1.15.0-2" in message
    assert caught.value.hint and "podman pull r.example/x@sha256:ab" in caught.value.hint


@pytest.mark.podman
@pytest.mark.mmdebstrap
def test_build_locked_with_a_version_the_archive_lacks(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Against Debian's real archive: exit 2, package, version, layer and the hint; nothing built."""
    if not tool_works("podman", "info"):
        pytest.skip("podman does not work here (run scripts/setup-host.sh)")
    spec = copy_stack(tmp_path / "stack")
    write_lock(hand_lock(six="1.16.0-4+hepstack.gone1"), spec.parent / "stack.lock")
    environment = {"CONTAINERS_STORAGE_CONF": str(storage_conf(tmp_path))}
    request.addfinalizer(lambda: empty_store(Path(environment["CONTAINERS_STORAGE_CONF"])))
    before = _image_ids(environment)
    result = hepstack("build", "--locked", str(spec), check=False, env=environment)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "layer 'tools'" in result.stderr and "python3-six" in result.stderr
    assert "1.16.0-4+hepstack.gone1" in result.stderr and "nothing was built" in result.stderr
    assert "hint:" in result.stderr and "digest" in result.stderr
    assert "Traceback" not in result.stderr
    assert _image_ids(environment) == before  # nothing built (a rootless user's store may hold others)


def test_build_locked_with_a_release_file_changed_since_the_lock(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The tree's files/app.py is not the one locked: exit 2 naming layer and file, nothing built."""
    if not tool_works("podman", "info"):
        pytest.skip("podman does not work here (run scripts/setup-host.sh)")
    spec = copy_stack(tmp_path / "stack")
    app = spec.parent / "files" / "app.py"
    write_lock(hand_lock(app_sha=hashlib.sha256(app.read_bytes()).hexdigest()), spec.parent / "stack.lock")
    environment = {"CONTAINERS_STORAGE_CONF": str(storage_conf(tmp_path))}
    request.addfinalizer(lambda: empty_store(Path(environment["CONTAINERS_STORAGE_CONF"])))
    dry = hepstack("build", "--locked", "--dry-run", str(spec), env=environment)
    assert "would build" in dry.stdout  # the lock matches the tree: the plan is made
    before = _image_ids(environment)
    with app.open("a") as edited:
        edited.write("print('not released')\n")
    result = hepstack("build", "--locked", str(spec), check=False, env=environment)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "layer 'app'" in result.stderr and "files/app.py" in result.stderr
    assert "nothing was built" in result.stderr and "re-lock" in result.stderr
    assert "Traceback" not in result.stderr
    assert _image_ids(environment) == before  # nothing built (a rootless user's store may hold others)


def _image_ids(environment: dict[str, str]) -> list[str]:
    listed = subprocess.run(
        ["podman", "images", "--quiet", "--no-trunc"],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted(listed.stdout.split())
