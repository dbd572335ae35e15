"""stack.lock: written byte-stable, read back equal, hostile values refused with file and key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hepstack.errors import HepstackError
from hepstack.release.lockfile import layer_lock_line, lock_hash, read_lock, write_lock
from tests.release.helpers import hand_lock


def test_round_trip_is_byte_stable(tmp_path: Path) -> None:
    path = tmp_path / "stack.lock"
    write_lock(hand_lock(), path)
    first = path.read_bytes()
    write_lock(read_lock(path), path)
    assert path.read_bytes() == first
    assert read_lock(path) == hand_lock()
    assert lock_hash(path).startswith("sha256:") and len(lock_hash(path)) == 71


def test_a_pin_changes_only_its_layer_entry() -> None:
    old, new = hand_lock(), hand_lock(packaging="24.1")
    assert layer_lock_line("app", old.layers["app"], 1) != layer_lock_line("app", new.layers["app"], 1)
    assert old.layers["tools"].digest() == new.layers["tools"].digest()


@pytest.mark.parametrize(
    ("layer", "key", "value", "expected"),
    [
        ("tools", "apt", {"python3-six; rm -rf /": "1"}, "layers.tools.apt"),
        ("tools", "apt", {"python3-six": "1.0 && curl x"}, "layers.tools.apt.python3-six"),
        (
            "app",
            "pip",
            [{"name": "packaging", "version": "24.0\n--index-url x", "hashes": []}],
            "pip.packaging",
        ),
        ("app", "pip", [{"name": "packaging", "version": "24.0", "hashes": ["md5:00"]}], "hashes"),
        ("app", "local_pip", ["../../etc"], "layers.app.local_pip"),
        (
            "base",
            "archive",
            {"mirror": "file:///etc", "suite": "bookworm", "architecture": "amd64"},
            "mirror",
        ),
        ("base", "parent_digest", "debian:bookworm", "parent_digest"),
    ],
)
def test_hostile_values_are_refused(
    tmp_path: Path, layer: str, key: str, value: object, expected: str
) -> None:
    path = tmp_path / "stack.lock"
    write_lock(hand_lock(), path)
    body = json.loads(path.read_text())
    body["layers"][layer][key] = value
    path.write_text(json.dumps(body))
    with pytest.raises(HepstackError) as caught:
        read_lock(path)
    assert str(path) in caught.value.message and expected in caught.value.message
    assert caught.value.hint and "hepstack lock" in caught.value.hint


def test_not_a_lock(tmp_path: Path) -> None:
    path = tmp_path / "stack.lock"
    path.write_text('{"lock_version": 99}')
    with pytest.raises(HepstackError, match="not a hepstack lock"):
        read_lock(path)
    with pytest.raises(HepstackError, match="no lock file"):
        read_lock(tmp_path / "missing.lock")
