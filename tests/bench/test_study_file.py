"""Bad study files: each problem names file:line and key, with a hint; the CLI exits 2 without a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from hepstack.bench.study import StudyErrors, load_study
from tests.bench.helpers import run_cli

GOOD = """\
study: toy
image: lat/release
events: 10
workloads:
  - name: sorter
    command: [lat-run, artstudy, -n, "{events}", --timing-db, "{timing_db}"]
    outputs: ["*.root"]
arms:
  - {name: native, runtime: native}
  - name: podman
    runtime: podman
    env: {OMP_NUM_THREADS: "1"}
"""

# (name, (old, new) replacement in GOOD, line, key path, words in the message, words in the hint)
CASES = [
    (
        "unknown key with did-you-mean",
        ("events: 10", "evnets: 10"),
        3,
        "evnets",
        "unknown key",
        "did you mean 'events'",
    ),
    (
        "unknown arm key",
        ("    runtime: podman", "    runtim: podman"),
        11,
        "arms[1].runtim",
        "unknown key",
        "did you mean 'runtime'",
    ),
    ("wrong type", ("events: 10", "events: ten"), 3, "events", "valid integer", "whole number"),
    (
        "command not a list",
        (
            '    command: [lat-run, artstudy, -n, "{events}", --timing-db, "{timing_db}"]',
            "    command: lat-run",
        ),
        6,
        "workloads[0].command",
        "valid list",
        "YAML list",
    ),
    (
        "unknown runtime",
        ("    runtime: podman", "    runtime: dokcer"),
        11,
        "arms[1].runtime",
        "unknown runtime; did you mean 'docker'?",
        None,
    ),
    ("missing image", ("image: lat/release\n", ""), 1, "image", "Field required", "add this key"),
    (
        "unknown placeholder",
        ('"{events}"', '"{nevents}"'),
        6,
        "workloads[0].command",
        "unknown placeholder {nevents}",
        None,
    ),
    (
        "no baseline",
        ("  - {name: native, runtime: native}", "  - {name: host, runtime: native}"),
        8,
        "arms",
        "no arm is named native",
        None,
    ),
    (
        "confidence out of range",
        ("events: 10", "events: 10\nconfidence: 95"),
        4,
        "confidence",
        "less than 1",
        None,
    ),
    (
        "bad env name",
        ('OMP_NUM_THREADS: "1"', '1OMP: "1"'),
        12,
        "arms[1].env",
        "not a valid environment",
        None,
    ),
]


@pytest.mark.parametrize(
    ("name", "change", "line", "key", "message", "hint"), CASES, ids=[c[0] for c in CASES]
)
def test_errors_are_located(
    tmp_path: Path, name: str, change: tuple[str, str], line: int, key: str, message: str, hint: str | None
) -> None:
    old, new = change
    assert old in GOOD
    path = tmp_path / "study.yaml"
    path.write_text(GOOD.replace(old, new, 1))

    with pytest.raises(StudyErrors) as caught:
        load_study(path)

    assert len(caught.value.errors) == 1, caught.value.message
    error = caught.value.errors[0]
    assert (error.file, error.line, error.key_path) == (str(path), line, key)
    assert message in error.message
    if hint is not None:
        assert error.hint is not None and hint in error.hint


def test_good_study_loads_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "study.yaml"
    path.write_text(GOOD)

    study = load_study(path)

    spec = study.spec
    assert (spec.repetitions, spec.warmup, spec.baseline_arm, spec.seed) == (5, 1, "native", 1)
    assert spec.workloads[0].timing_db == "timing.db"
    assert spec.arms[1].env == {"OMP_NUM_THREADS": "1"}


def test_all_problems_reported_together(tmp_path: Path) -> None:
    path = tmp_path / "study.yaml"
    path.write_text(GOOD.replace("events: 10", "evnets: 10").replace("runtime: podman", "runtime: dokcer"))

    with pytest.raises(StudyErrors) as caught:
        load_study(path)

    assert {e.key_path for e in caught.value.errors} == {"evnets", "arms[1].runtime"}


def test_missing_inputs_directory(tmp_path: Path) -> None:
    path = tmp_path / "study.yaml"
    path.write_text(GOOD.replace("    outputs:", "    inputs: prepared\n    outputs:"))

    with pytest.raises(StudyErrors, match=r"study.yaml:7: workloads\[0\].inputs: not a directory"):
        load_study(path)


def test_cli_exit_2_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "study.yaml"
    path.write_text(GOOD.replace("runtime: podman", "runtime: dokcer"))

    result = run_cli("bench", str(path))

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == "error: the study file has 1 problem:"
    assert lines[1].startswith(f"  {path}:11: arms[1].runtime: unknown runtime; did you mean 'docker'? ")
    assert "known runtimes: native, podman, docker, charliecloud" in lines[1]
    assert lines[1].endswith("(got 'dokcer')")
    assert len(lines) == 2


@pytest.mark.parametrize("form", [["bench", "run", "{study}"], ["bench", "--per-module", "{study}"]])
def test_explicit_run_and_options_first_reach_the_study(tmp_path: Path, form: list[str]) -> None:
    missing = tmp_path / "nothere.yaml"

    result = run_cli(*(word.format(study=missing) for word in form))

    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: study file {missing} does not exist")


def test_command_line_overrides(tmp_path: Path) -> None:
    from hepstack.bench.workflow import with_overrides

    path = tmp_path / "study.yaml"
    path.write_text(GOOD.replace("    outputs:", "    events: 3\n    outputs:"))
    study = load_study(path)

    changed = with_overrides(study, events=7, repetitions=2, arms=["native"])

    assert (changed.spec.events, changed.spec.repetitions) == (7, 2)
    assert changed.spec.workloads[0].events is None  # --events wins over the workload's own
    assert [arm.name for arm in changed.spec.arms] == ["native"]
    assert study.spec.repetitions == 5  # the loaded study is left alone


@pytest.mark.parametrize(
    ("arms", "message"),
    [(["podman"], "--arms leaves out the baseline 'native'"), (["native", "dockr"], "no arm named dockr")],
)
def test_bad_arms_selection(tmp_path: Path, arms: list[str], message: str) -> None:
    from hepstack.bench.workflow import with_overrides
    from hepstack.errors import HepstackError

    path = tmp_path / "study.yaml"
    path.write_text(GOOD)

    with pytest.raises(HepstackError, match=message):
        with_overrides(load_study(path), events=None, repetitions=None, arms=arms)
