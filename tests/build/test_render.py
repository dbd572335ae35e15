"""Rendered Containerfiles against reviewed goldens; content keys change exactly where they should."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hepstack.build.plan import make_plan
from hepstack.spec import load_stack
from tests.conftest import TEST_STACK


@pytest.mark.parametrize("layer", ["base", "compilers", "framework", "release", "study", "external"])
def test_rendered_containerfile_matches_golden(layer: str, golden) -> None:  # type: ignore[no-untyped-def]
    plan = {p.name: p for p in make_plan(load_stack(TEST_STACK))}
    golden(f"containerfiles/{layer}.Containerfile", plan[layer].containerfile)


def test_rendering_is_free_of_host_specifics() -> None:
    for layer in make_plan(load_stack(TEST_STACK)):
        text = layer.containerfile
        assert "/etc/ssl" not in text and str(TEST_STACK.parent) not in text
        assert "created" not in text  # dates go in --label, never into the keyed text


def test_ca_bundle_is_mounted_only_in_the_pip_step() -> None:
    plan = {p.name: p for p in make_plan(load_stack(TEST_STACK))}
    assert [name for name, layer in plan.items() if layer.needs_ca] == ["framework"]
    pip_lines = [line for line in plan["framework"].containerfile.splitlines() if "type=secret" in line]
    assert len(pip_lines) == 1 and pip_lines[0].startswith("RUN --mount=type=secret,id=hepstack-ca")


def _keys(spec: Path) -> dict[str, str]:
    return {layer.name: layer.key for layer in make_plan(load_stack(spec))}


@pytest.fixture
def stack_copy(tmp_path: Path) -> Path:
    shutil.copytree(TEST_STACK.parent, tmp_path / "stack")
    return tmp_path / "stack" / "stack.yaml"


def test_touching_a_framework_file_changes_framework_and_descendants_only(stack_copy: Path) -> None:
    before = _keys(stack_copy)
    cuts = stack_copy.parent / "files" / "config" / "cuts.yaml"
    cuts.write_text(cuts.read_text() + "# tuned\n")
    after = _keys(stack_copy)
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"framework", "release", "study"}


def test_keys_ignore_caches_and_mtime(stack_copy: Path) -> None:
    before = _keys(stack_copy)
    cache = stack_copy.parent / "pkg" / "__pycache__"
    cache.mkdir()
    (cache / "x.cpython-311.pyc").write_bytes(b"\0")
    (stack_copy.parent / "files" / "app.py").touch()
    assert _keys(stack_copy) == before


def test_keys_depend_on_content_not_on_where_the_spec_is_or_how_it_is_named(
    stack_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Relative, absolute and relocated specs give identical keys: two checkouts share one cache."""
    absolute = _keys(stack_copy)
    monkeypatch.chdir(stack_copy.parent.parent)
    relative = _keys(Path("stack") / "stack.yaml")
    monkeypatch.chdir(stack_copy.parent)
    bare = _keys(Path("stack.yaml"))
    moved = shutil.copytree(stack_copy.parent, tmp_path / "elsewhere" / "deeper" / "stack")
    assert absolute == relative == bare == _keys(moved / "stack.yaml") == _keys(TEST_STACK)
    assert len(set(absolute.values())) == len(absolute)  # and they are keys of different layers


def test_mode_change_changes_key(stack_copy: Path) -> None:
    before = _keys(stack_copy)
    (stack_copy.parent / "files" / "app.py").chmod(0o755)
    after = _keys(stack_copy)
    assert {n for n in before if before[n] != after[n]} == {"release", "study"}


def test_sibling_spec_edit_leaves_other_branch(stack_copy: Path) -> None:
    before = _keys(stack_copy)
    stack_copy.write_text(
        stack_copy.read_text().replace("packages: [gcc, make]", "packages: [gcc, make, g++]")
    )
    after = _keys(stack_copy)
    assert {n for n in before if before[n] != after[n]} == {"compilers"}


def test_containerfile_layer_rewires_final_lineage_only() -> None:
    plan = {p.name: p for p in make_plan(load_stack(TEST_STACK))}
    text = plan["study"].containerfile
    assert f"FROM {plan['release'].reference('demo')} AS builder" in text
    assert "FROM builder AS final" in text
    assert "docker.io/library/debian:bookworm AS" not in text
