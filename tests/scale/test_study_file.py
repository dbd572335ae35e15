"""Bad scaling study files: each problem names file:line and key, with a hint; exit 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from hepstack.errors import LocatedErrors
from hepstack.scale.study import load_scale_study
from tests.conftest import hepstack

GOOD = """\
study: toy
scheduler: slurm
queue: scale
image: lat/release
workload: {kind: cpu, events: 10}
concurrencies: [1, 4]
arms:
  - {name: native, runtime: native}
  - name: podman
    runtime: podman
"""

# (name, (old, new) replacement in GOOD, line, key path, words in the message, words in the hint)
CASES = [
    ("unknown key", ("queue: scale", "queu: scale"), 3, "queu", "unknown key", "did you mean 'queue'"),
    ("unknown runtime", ("    runtime: podman", "    runtime: podmn"), 10, "arms[1].runtime",
     "unknown runtime; did you mean 'podman'?", None),
    ("concurrency zero", ("[1, 4]", "[0, 4]"), 6, "concurrencies", "0 is not a number of jobs", None),
    ("concurrency twice", ("[1, 4]", "[4, 4]"), 6, "concurrencies", "listed twice", None),
    ("concurrency not a list", ("[1, 4]", "ten"), 6, "concurrencies", "valid list", None),
    ("unknown workload kind", ("kind: cpu", "kind: gpu"), 5, "workload.kind", "'cpu', 'recon' or 'idle'",
     "cpu, recon and idle"),
    ("idle for no time", ("kind: cpu, events: 10", "kind: idle, seconds: 0"), 5, "workload.seconds",
     "greater than 0", None),
    ("recon without inputs", ("kind: cpu", "kind: recon"), 5, "workload", "needs `inputs`", "digi.root"),
    ("missing inputs dir", ("kind: cpu", "kind: recon, inputs: nowhere"), 5, "workload.inputs",
     "inputs", "relative to"),
    ("unknown scheduler", ("scheduler: slurm", "scheduler: slrum"), 2, "scheduler", "unknown scheduler",
     "did you mean 'slurm'"),
    ("no scheduler or site", ("scheduler: slurm\n", ""), 1, "(top level)", "neither site nor scheduler",
     "scheduler: slurm"),
    ("arm name twice", ("  - name: podman", "  - name: native"), 9, "arms[1].name", "name used twice", None),
    ("events out of range", ("events: 10", "events: 0"), 5, "workload.events", "greater than or equal", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "change", "line", "key", "message", "hint"), CASES, ids=[c[0] for c in CASES]
)
def test_errors_are_located(
    tmp_path: Path, name: str, change: tuple[str, str], line: int, key: str, message: str, hint: str | None
) -> None:
    old, new = change
    assert old in GOOD
    path = tmp_path / "scale.yaml"
    path.write_text(GOOD.replace(old, new, 1))

    with pytest.raises(LocatedErrors) as caught:
        load_scale_study(path)

    assert len(caught.value.errors) == 1, caught.value.message
    error = caught.value.errors[0]
    assert (error.file, error.line, error.key_path) == (str(path), line, key), error
    assert message in error.message
    if hint is not None:
        assert error.hint is not None and hint in error.hint


def test_good_study_loads_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "scale.yaml"
    path.write_text(GOOD)

    spec = load_scale_study(path).spec

    assert (spec.repetitions, spec.warmup, spec.timeout) == (1, 1, 900)
    assert (spec.workload.kind, spec.workload.events, spec.workload.vector_length) == ("cpu", 10, 20000)
    assert [arm.name for arm in spec.arms] == ["native", "podman"]


def test_cli_exit_2_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "scale.yaml"
    path.write_text(GOOD.replace("[1, 4]", "[1, -4]"))

    result = hepstack("scale", "run", str(path), check=False)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == "error: the scaling study file has 1 problem:"
    assert lines[1].startswith(f"  {path}:6: concurrencies: -4 is not a number of jobs from 1 to ")


def test_missing_file(tmp_path: Path) -> None:
    result = hepstack("scale", "run", str(tmp_path / "nope.yaml"), check=False)

    assert result.returncode == 2
    assert result.stderr.startswith(f"error: scaling study file {tmp_path / 'nope.yaml'} does not exist")
    assert "hint: " in result.stderr
