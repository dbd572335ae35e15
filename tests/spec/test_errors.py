"""Bad specs: every error names file:line, the key path and a hint; the CLI shows no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from hepstack.errors import SpecErrors
from hepstack.spec import load_stack
from tests.conftest import hepstack

GOOD = """\
stack: demo
release: "1.0"
layers:
  base:
    bootstrap: {suite: bookworm}
    packages: [python3]
  app:
    from: base
    copy: {app.py: /opt/app.py}
"""

# (name, replacement of GOOD's text or full text, expected line, key path, words in message, words in hint)
CASES = [
    (
        "unknown key with did-you-mean",
        ("    packages: [python3]", "    pakages: [python3]"),
        6,
        "layers.base.pakages",
        "unknown key",
        "did you mean 'packages'",
    ),
    (
        "unknown top-level key",
        ('release: "1.0"', 'relase: "1.0"'),
        2,
        "relase",
        "unknown key",
        "did you mean 'release'",
    ),
    (
        "wrong type: packages not a list",
        ("    packages: [python3]", "    packages: python3"),
        6,
        "layers.base.packages",
        "valid list",
        "YAML list",
    ),
    ("release read as a number", ('release: "1.0"', "release: 1.0"), 2, "release", "valid string", "quote"),
    (
        "unknown parent layer",
        ("    from: base", "    from: bsae"),
        8,
        "layers.app.from",
        "unknown parent layer",
        "did you mean 'base'",
    ),
    (
        "missing copy source",
        ("{app.py: /opt/app.py}", "{nothere.py: /opt/app.py}"),
        9,
        "layers.app.copy.nothere.py",
        "copy source not found",
        "relative to",
    ),
    (
        "copy target not absolute",
        ("{app.py: /opt/app.py}", "{app.py: opt/app.py}"),
        9,
        "layers.app.copy",
        "absolute path",
        None,
    ),
    ("bad layer name", ("  app:\n", "  App:\n"), 3, "layers", "must be lower-case", None),
    (
        "bootstrap and from together",
        ("    bootstrap: {suite: bookworm}", "    bootstrap: {suite: bookworm}\n    from: x/y"),
        4,
        "layers.base",
        "either 'bootstrap' or 'from'",
        None,
    ),
    (
        "unknown bootstrap key",
        ("{suite: bookworm}", "{suite: bookworm, varaint: minbase}"),
        5,
        "layers.base.bootstrap.varaint",
        "unknown key",
        "did you mean 'variant'",
    ),
    (
        "bad environment name",
        ("    copy: {app.py: /opt/app.py}", "    copy: {app.py: /opt/app.py}\n    env: {1BAD: x}"),
        10,
        "layers.app.env",
        "not a valid environment variable",
        None,
    ),
    (
        "bad size budget",
        ("layers:\n", "size_budget: {layer: lots}\nlayers:\n"),
        3,
        "size_budget.layer",
        "not a size",
        None,
    ),
    ("missing stack name", ("stack: demo\n", ""), 1, "stack", "Field required", "add this key"),
    (
        "YAML syntax error",
        ("    packages: [python3]", "    packages: [python3"),
        None,
        "(syntax)",
        "YAML syntax error",
        "indentation",
    ),
    (
        "cycle",
        (GOOD, GOOD.replace("    bootstrap: {suite: bookworm}", "    from: app")),
        5,
        "layers.base.from",
        "cycle",
        "bootstrap or an external image",
    ),
]


def _write(tmp_path: Path, replace: tuple[str, str]) -> Path:
    old, new = replace
    text = new if old == GOOD else GOOD.replace(old, new, 1)
    assert text != GOOD, "the case must change the spec"
    (tmp_path / "app.py").write_text("print('hi')\n")
    spec = tmp_path / "stack.yaml"
    spec.write_text(text)
    return spec


@pytest.mark.parametrize(
    ("name", "replace", "line", "key_path", "message", "hint"), CASES, ids=[case[0] for case in CASES]
)
def test_bad_spec_is_located_and_hinted(
    tmp_path: Path,
    name: str,
    replace: tuple[str, str],
    line: int | None,
    key_path: str,
    message: str,
    hint: str | None,
) -> None:
    spec = _write(tmp_path, replace)
    with pytest.raises(SpecErrors) as caught:
        load_stack(spec)
    errors = caught.value.errors
    matching = [e for e in errors if e.key_path.startswith(key_path) and message in str(e)]
    assert matching, f"no error at {key_path} with {message!r}; got: {[str(e) for e in errors]}"
    error = matching[0]
    assert error.file == str(spec)
    if line is None:
        assert error.line is not None  # syntax errors still carry a line
        assert f"{spec}:{error.line}:" in str(error)
    else:
        assert error.line == line, str(error)
        assert f"{spec}:{line}: " in str(error)
    if hint is not None:
        assert error.hint is not None and hint in error.hint


def test_good_spec_loads(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("print('hi')\n")
    (tmp_path / "stack.yaml").write_text(GOOD)
    stack = load_stack(tmp_path / "stack.yaml")
    assert stack.order() == ["base", "app"]


MERGED = """\
stack: demo
release: "1.0"
layers:
  base:
    bootstrap: {suite: bookworm}
    packages: [python3]
  app:
    from: base
    copy: &code
      app.py: /opt/app.py
  other:
    from: base
    copy:
      <<: *code
      extra.py: /opt/extra.py
    envv: {A: "1"}
"""


def test_yaml_anchors_and_merge_keys_load_and_stay_located(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("print('hi')\n")
    (tmp_path / "extra.py").write_text("print('extra')\n")
    (tmp_path / "stack.yaml").write_text(MERGED.replace("    envv:", "    env:"))
    stack = load_stack(tmp_path / "stack.yaml")
    assert dict(stack.layer("other").copy_) == {"app.py": "/opt/app.py", "extra.py": "/opt/extra.py"}

    (tmp_path / "stack.yaml").write_text(MERGED)
    with pytest.raises(SpecErrors) as caught:
        load_stack(tmp_path / "stack.yaml")
    assert [(e.key_path, e.line) for e in caught.value.errors] == [("layers.other.envv", 16)]

    (tmp_path / "app.py").unlink()  # a merged key's problem is located at the mapping it was merged into
    (tmp_path / "stack.yaml").write_text(MERGED.replace("    envv:", "    env:"))
    with pytest.raises(SpecErrors) as caught:
        load_stack(tmp_path / "stack.yaml")
    located = {e.key_path: e.line for e in caught.value.errors}
    assert located.get("layers.app.copy.app.py") == 10
    assert located.get("layers.other.copy.app.py") == 13


def test_all_problems_reported_together(tmp_path: Path) -> None:
    spec = _write(tmp_path, ("    packages: [python3]", "    pakages: [python3]\n    workdirr: /x"))
    with pytest.raises(SpecErrors) as caught:
        load_stack(spec)
    assert {e.key_path for e in caught.value.errors} >= {"layers.base.pakages", "layers.base.workdirr"}


def test_containerfile_that_does_not_parse(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("")
    (tmp_path / "bad.Containerfile").write_text("FROM debian\nRUNN echo hi\n")
    (tmp_path / "stack.yaml").write_text(
        GOOD + "  study:\n    from: app\n    containerfile: bad.Containerfile\n"
    )
    with pytest.raises(SpecErrors) as caught:
        load_stack(tmp_path / "stack.yaml")
    (error,) = caught.value.errors
    assert error.line == 12 and error.key_path == "layers.study.containerfile"
    assert "bad.Containerfile:2: unknown instruction 'RUNN'" in str(error)
    assert error.hint and "Dockerfile reference" in error.hint


def test_cli_prints_error_and_hint_without_traceback(tmp_path: Path) -> None:
    spec = _write(tmp_path, ("    packages: [python3]", "    pakages: [python3]"))
    result = hepstack("build", str(spec), "--dry-run", check=False)
    assert result.returncode == 2
    assert (
        f"error: the stack spec has 1 problem:\n  {spec}:6: layers.base.pakages: unknown key" in result.stderr
    )
    assert "hint: layers.base.pakages: did you mean 'packages'?" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_cli_missing_spec_file(tmp_path: Path) -> None:
    result = hepstack("build", str(tmp_path / "nope.yaml"), check=False)
    assert result.returncode == 2 and "file not found" in result.stderr and "Traceback" not in result.stderr


def test_unknown_layer_on_command_line(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("")
    (tmp_path / "stack.yaml").write_text(GOOD)
    result = hepstack("build", str(tmp_path / "stack.yaml"), "ap", "--dry-run", check=False)
    assert result.returncode == 2
    assert "has no layer 'ap'" in result.stderr and "did you mean 'app'" in result.stderr


def test_schema_is_json_schema() -> None:
    import json

    schema = json.loads(hepstack("schema").stdout)
    assert schema["title"] == "StackSpec"
    assert "from" in schema["$defs"]["Layer"]["properties"]
