"""Verify in a study: each arm's outputs against the baseline's run of the same repetition."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hepstack.bench.analysis import analyze
from hepstack.bench.execute import Measured, Resources
from hepstack.bench.outputs import checksums, round_verdicts
from hepstack.bench.report import BenchReport, verdict_lines
from hepstack.bench.runner import ArmSetup, RunRecord, StudyRun
from hepstack.bench.study import Arm, Study, StudySpec, Workload
from hepstack.bench.timing import TimeTrackerDB
from hepstack.bench.verdict import Verdict
from hepstack.catalog.resolve import ResolvedImage
from hepstack.runtimes import get_runtime
from tests.bench.helpers import write_art_db


def _study_run(root: Path, files: dict[str, dict[str, str]]) -> StudyRun:
    """One repetition per arm; ``files`` maps arm -> {relative name: content}."""
    spec = StudySpec(
        study="t",
        image="host",
        events=1,
        workloads=[Workload(name="w", command=["true"], outputs=["*.txt", "sub/*.dat"])],
        arms=[Arm(name=arm, runtime="native") for arm in files],
    )
    setups = {
        arm: ArmSetup(Arm(name=arm, runtime="native"), get_runtime("native"), ResolvedImage("host", "podman"))
        for arm in files
    }
    run = StudyRun(Study(spec, root / "study.yaml"), root, setups, started=datetime.now(UTC))
    for arm, contents in files.items():
        output = root / arm
        for name, text in contents.items():
            (output / name).parent.mkdir(parents=True, exist_ok=True)
            (output / name).write_text(text)
        timing = write_art_db(output / "timing.db", events=3)
        (output / "timing.db.job.json").write_text("{}")
        measured = Measured(0, Resources(1.0, 1.0, 0.0, 1000.0), output / "log.out", output / "log.err")
        run.runs.append(RunRecord(arm, "w", 1, output, timing, measured, None))
    return run


def test_equal_outputs_and_the_timing_db_is_never_compared(tmp_path: Path) -> None:
    same = {"result.txt": "1 2 3\n", "sub/hits.dat": "x"}
    run = _study_run(tmp_path, {"native": same, "docker": same})

    (verdict,) = round_verdicts(run.round("w", 1), "native", run.study.spec.workloads[0].outputs)

    assert verdict.equal
    assert verdict.files_compared == ["result.txt", "sub/hits.dat"]  # not timing.db nor its job report


def test_differences_are_counted_and_shown(tmp_path: Path) -> None:
    run = _study_run(
        tmp_path,
        {
            "native": {"result.txt": "1 2 3\n", "sub/hits.dat": "x"},
            "docker": {"result.txt": "1 2 4\n", "extra.txt": "?"},
        },
    )

    (verdict,) = round_verdicts(run.round("w", 1), "native", run.study.spec.workloads[0].outputs)
    lines = verdict_lines(_report(run, [verdict]))

    assert not verdict.equal
    assert verdict.difference_count == 3  # result.txt content, extra.txt extra, sub/hits.dat missing
    assert {d["kind"] for d in verdict.differences} == {"text", "extra", "missing"}
    assert lines[0] == "w / docker vs native: DIFFERENT in 1 of 1 repetitions: rep 1: 3 differences"
    assert any("result.txt: [text]" in line for line in lines[1:])


def test_globs_matching_nothing_are_not_called_equal(tmp_path: Path) -> None:
    run = _study_run(tmp_path, {"native": {"out.root": "r"}, "docker": {"out.root": "r"}})

    (verdict,) = round_verdicts(run.round("w", 1), "native", run.study.spec.workloads[0].outputs)

    assert not verdict.checked and not verdict.equal
    assert verdict_lines(_report(run, [verdict])) == [
        "w / docker vs native: nothing compared: no output file matches the workload's `outputs` globs"
    ]


def test_checksums_are_sha256_of_outputs(tmp_path: Path) -> None:
    run = _study_run(tmp_path, {"native": {"result.txt": "abc"}})

    assert checksums(run.runs[0], ["*.txt"]) == {
        "result.txt": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    }


def _report(run: StudyRun, verdicts: list[Verdict]) -> BenchReport:
    timings = {r.arm: {r.workload: [TimeTrackerDB(r.timing_db)]} for r in run.runs}
    report = BenchReport("t", "study", analyze(timings, "native", resamples=50), {}, {})
    report.verdicts = verdicts
    return report
