"""A locked plan: exact versions in every step, the lock entry in each key, reproducible settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from hepstack.build.plan import make_plan
from hepstack.errors import HepstackError
from hepstack.release.lockfile import Lock, locked_inputs
from hepstack.spec import load_stack
from tests.release.helpers import LOCK_STACK, hand_lock


def keys(lock: Lock | None) -> dict[str, str]:
    inputs = locked_inputs(lock, "locktest") if lock is not None else None
    return {layer.name: layer.key for layer in make_plan(load_stack(LOCK_STACK / "stack.yaml"), None, inputs)}


def test_locked_containerfiles(golden) -> None:  # type: ignore[no-untyped-def]
    plan = make_plan(load_stack(LOCK_STACK / "stack.yaml"), None, locked_inputs(hand_lock(), "locktest"))
    for layer in plan:
        golden(f"release/locked-{layer.name}.Containerfile", layer.containerfile)
    app = plan[-1]
    assert app.locked is not None
    golden("release/locked-app-requirements.txt", app.locked.pip_requirements)


def test_pinned_versions_reach_the_steps() -> None:
    plan = {
        layer.name: layer
        for layer in make_plan(
            load_stack(LOCK_STACK / "stack.yaml"), None, locked_inputs(hand_lock(), "locktest")
        )
    }
    tools, app = plan["tools"].containerfile, plan["app"].containerfile
    assert "python3-six=1.16.0-4" in tools and "ARG SOURCE_DATE_EPOCH=1764633600" in tools
    assert "/var/log/dpkg.log" in tools and "/var/cache/ldconfig/aux-cache" in tools
    assert "--no-deps --require-hashes -r /run/hepstack-lock/requirements.txt" in app
    assert plan["base"].rootfs_ref is not None


def test_a_pin_rebuilds_its_layer_and_descendants_only() -> None:
    locked = keys(hand_lock())
    pip_changed = keys(hand_lock(packaging="24.1"))
    apt_changed = keys(hand_lock(six="1.16.0-5"))
    assert pip_changed["base"] == locked["base"] and pip_changed["tools"] == locked["tools"]
    assert pip_changed["app"] != locked["app"]
    assert apt_changed["base"] == locked["base"]
    assert apt_changed["tools"] != locked["tools"] and apt_changed["app"] != locked["app"]
    assert keys(None)["base"] != locked["base"]  # locked builds are other images than unlocked ones


def test_a_lock_of_another_spec_is_refused(tmp_path: Path) -> None:
    lock = hand_lock()
    del lock.layers["tools"]
    with pytest.raises(HepstackError, match="no layer 'tools'") as caught:
        keys(lock)
    assert caught.value.hint and "hepstack lock" in caught.value.hint
