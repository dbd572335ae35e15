"""Same physics? Each arm's outputs against the baseline's (same workload, same repetition), and checksums.

Runs of the same repetition use the same seed in every arm, so their outputs must be equal; they are
compared with :func:`hepstack.verify.compare_paths` (ROOT and FITS by content, other files by bytes).
The timing database and job report are never compared: their times differ by design.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from hepstack.bench.runner import RunRecord, StudyRun
from hepstack.bench.study import Workload
from hepstack.bench.verdict import Verdict

SHOWN_DIFFERENCES = 5


def output_files(run: RunRecord, globs: list[str]) -> dict[str, Path]:
    """Files of ``run`` matching ``globs`` (relative names), without its timing database and job report."""
    return _matching(run.output_dir, run.timing_db, globs)


def _matching(output_dir: Path, timing_db: Path, globs: list[str]) -> dict[str, Path]:
    excluded = {timing_db, timing_db.with_name(timing_db.name + ".job.json")}
    found: dict[str, Path] = {}
    for pattern in globs:
        for path in sorted(output_dir.glob(pattern)):
            if path.is_file() and path not in excluded:
                found[path.relative_to(output_dir).as_posix()] = path
    return found


def discard_warmup(output_dir: Path, timing_db: Path, workload: Workload, *, keep_outputs: bool) -> None:
    """A warm-up run's outputs are neither verified nor timed: deleted at once unless ``keep_outputs``
    (five arms' warm-up of the art exercise would otherwise leave 5 x 155 MB). Its timing database and
    job report stay, as every run's do."""
    if not keep_outputs:
        for path in _matching(output_dir, timing_db, workload.outputs).values():
            path.unlink(missing_ok=True)


def checksums(run: RunRecord, globs: list[str]) -> dict[str, str]:
    """sha256 of every output file of ``run``."""
    return {name: _sha256(path) for name, path in output_files(run, globs).items()}


def round_verdicts(runs: dict[str, RunRecord], baseline: str, globs: list[str]) -> list[Verdict]:
    """One round (every arm's run of one workload and repetition): each arm against the baseline's run."""
    if not globs or baseline not in runs:
        return []
    return [_compare(runs[baseline], run, globs) for arm, run in runs.items() if arm != baseline]


def settle_round(study_run: StudyRun, workload: Workload, repetition: int, *, keep_outputs: bool) -> None:
    """After a round: record every run's output checksums and verdict, then delete its output files.

    Outputs are kept only with ``keep_outputs``: the art exercise writes ~155 MB per run, so a 40-round
    study of five arms would otherwise leave 31 GB behind (it filled this machine's disk). Timing
    databases and job reports always stay; warm-up runs' outputs went already (:func:`discard_warmup`).
    """
    runs = study_run.round(workload.name, repetition)
    for arm, run in runs.items():
        study_run.checksums[(arm, workload.name, repetition)] = checksums(run, workload.outputs)
    study_run.verdicts.extend(round_verdicts(runs, study_run.study.spec.baseline_arm, workload.outputs))
    if not keep_outputs:
        for run in runs.values():
            for path in output_files(run, workload.outputs).values():
                path.unlink(missing_ok=True)


def _compare(reference: RunRecord, run: RunRecord, globs: list[str]) -> Verdict:
    from hepstack.verify import VerifyOptions, compare_paths

    verdict = Verdict(run.workload, run.arm, run.repetition)
    expected, got = output_files(reference, globs), output_files(run, globs)
    for name in sorted(expected.keys() | got.keys()):
        if name not in got or name not in expected:
            verdict.difference_count += 1
            side = "missing" if name not in got else "extra"
            _keep(verdict, {"file": name, "kind": side, "location": "file", "a": "", "b": ""})
            continue
        report = compare_paths(expected[name], got[name], VerifyOptions(max_differences=SHOWN_DIFFERENCES))
        verdict.files_compared.append(name)
        verdict.difference_count += report.difference_count
        for found in report.differences:
            _keep(
                verdict,
                {"file": name, "kind": found.kind, "location": found.location, "a": found.a, "b": found.b},
            )
    return verdict


def _keep(verdict: Verdict, difference: dict[str, object]) -> None:
    if len(verdict.differences) < SHOWN_DIFFERENCES:
        verdict.differences.append(difference)


def _sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()
