"""The two things ``hepstack bench`` does: run a study file, or compare existing timing databases.

Both end in the same :class:`~hepstack.bench.report.BenchReport` and the same files.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from hepstack import __version__
from hepstack.bench.analysis import Timings, analyze
from hepstack.bench.host import host_info
from hepstack.bench.report import BenchReport
from hepstack.bench.runner import ArmSetup, Progress, RunRecord, StudyRun, run_study, utc_stamp
from hepstack.bench.study import Study, load_study
from hepstack.bench.timing import TimeTrackerDB
from hepstack.context import Context
from hepstack.errors import HepstackError


def study_report(
    study_path: Path,
    *,
    output: Path | None,
    events: int | None,
    repetitions: int | None,
    arms: list[str] | None,
    context: Context,
    progress: Progress,
    keep_outputs: bool = False,
) -> tuple[BenchReport, Path]:
    """Load and run the study, verify outputs round by round, analyse; return the report and its directory."""
    from hepstack.bench.outputs import discard_warmup, settle_round

    study = with_overrides(load_study(study_path), events=events, repetitions=repetitions, arms=arms)
    directory = prepare_output(output, f"bench-{study.name}-{utc_stamp(datetime.now(UTC))}")
    progress(f"study {study.name}: {', '.join(a.name for a in study.spec.arms)}; output in {directory}")
    run = run_study(
        study,
        directory,
        context,
        progress,
        on_round=lambda done, workload, repetition: settle_round(
            done, workload, repetition, keep_outputs=keep_outputs
        ),
        on_warmup=lambda output_dir, timing_db, workload: discard_warmup(
            output_dir, timing_db, workload, keep_outputs=keep_outputs
        ),
    )
    baseline = study.spec.baseline_arm
    timings: Timings = {
        arm: {
            w.name: [load_timing(r.timing_db) for r in run.repetitions(arm, w.name)]
            for w in study.spec.workloads
        }
        for arm in run.setups
    }
    report = BenchReport(
        name=study.name,
        mode="study",
        analysis=analyze(timings, baseline, confidence=study.spec.confidence),
        run_info=_run_info(run),
        host=host_info(),
        arm_info={name: _arm_info(run, setup) for name, setup in run.setups.items()},
        verdicts=sorted(
            run.verdicts, key=lambda v: (v.workload, list(run.setups).index(v.arm), v.repetition)
        ),
    )
    report.run_info["outputs_kept"] = keep_outputs
    for workload in study.spec.workloads:
        for arm, setup in run.setups.items():
            report.runs[(arm, workload.name)] = [
                _run_json(record, setup, run.checksums.get((arm, workload.name, record.repetition), {}))
                for record in run.repetitions(arm, workload.name)
            ]
    return report, directory


def _run_json(record: RunRecord, setup: ArmSetup, output_sha256: dict[str, str]) -> dict[str, object]:
    return {
        "repetition": record.repetition,
        "output_dir": str(record.output_dir),
        "timing_db": str(record.timing_db),
        "resources": record.resources.to_json(),
        "resources_from": "job report" if record.job_report else _rusage_scope(setup),
        "rusage": record.measured.resources.to_json(),
        "job_report": None if record.job_report is None else record.job_report.to_json(),
        "output_sha256": output_sha256,
    }


def compare_report(
    pairs: list[str], *, baseline: str | None, test: str, output: Path | None, confidence: float
) -> tuple[BenchReport, Path]:
    """Report on existing databases given as ``LABEL=TIMING.db`` (a repeated label pools repetitions)."""
    started = datetime.now(UTC)
    files: dict[str, list[Path]] = {}
    for pair in pairs:
        label, sep, path = pair.partition("=")
        if not sep or not label or not path:
            raise HepstackError(
                f"bad argument {pair!r}", hint="write LABEL=TIMING.db, e.g. native=run1/timing.db"
            )
        files.setdefault(label, []).append(Path(path))
    if not files:
        raise HepstackError("nothing to compare", hint="give LABEL=TIMING.db at least once")
    if not 0.5 < confidence < 1:
        raise HepstackError(f"--confidence {confidence} is out of range", hint="e.g. 0.95 or 0.99")
    chosen = baseline or next(iter(files))
    if chosen not in files:
        raise HepstackError(
            f"--baseline {chosen} is not one of the labels", hint=f"labels: {', '.join(files)}"
        )
    timings: Timings = {
        label: {test: [load_timing(path) for path in paths]} for label, paths in files.items()
    }
    directory = prepare_output(output, f"bench-compare-{utc_stamp(started)}")
    report = BenchReport(
        name="compare",
        mode="compare",
        analysis=analyze(timings, chosen, confidence=confidence),
        run_info={
            "mode": "compare",
            "created_utc": started.isoformat(timespec="seconds"),
            "hepstack_version": __version__,
            "command": ["hepstack", *sys.argv[1:]],
        },
        host=host_info(),
        arm_info={label: {"timing_dbs": [str(path) for path in paths]} for label, paths in files.items()},
    )
    return report, directory


def load_timing(path: Path) -> TimeTrackerDB:
    """A timing database with at least one module timing (an empty one would silently drop its arm)."""
    database = TimeTrackerDB(path)
    if not database.modules:
        raise HepstackError(
            f"timing database {path} has no module timings (TimeModule is empty)",
            hint="did the job process any events? is TimeTracker enabled for every module?",
        )
    return database


def with_overrides(
    study: Study, *, events: int | None, repetitions: int | None, arms: list[str] | None
) -> Study:
    """The study with the command line's --events, --repetitions and --arms applied."""
    spec = study.spec
    update: dict[str, object] = {}
    if events is not None:
        update["events"] = events
        update["workloads"] = [w.model_copy(update={"events": None}) for w in spec.workloads]
    if repetitions is not None:
        update["repetitions"] = repetitions
    if arms:
        known = [arm.name for arm in spec.arms]
        unknown = [name for name in arms if name not in known]
        if unknown:
            raise HepstackError(
                f"--arms: no arm named {', '.join(unknown)} in {study.path}", hint=f"arms: {', '.join(known)}"
            )
        if spec.baseline_arm not in arms:
            raise HepstackError(
                f"--arms leaves out the baseline '{spec.baseline_arm}'",
                hint=f"add it: --arms {','.join([spec.baseline_arm, *arms])}",
            )
        update["arms"] = [arm for arm in spec.arms if arm.name in arms]
    return Study(spec.model_copy(update=update), study.path)


def prepare_output(output: Path | None, default_name: str) -> Path:
    """The report directory: new, or existing and empty."""
    directory = (output or Path.cwd() / default_name).absolute()
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise HepstackError(
            f"output directory {directory} already exists and is not empty",
            hint="choose another --output, or remove it",
        )
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _run_info(run: StudyRun) -> dict[str, object]:
    spec = run.study.spec
    return {
        "mode": "study",
        "study": spec.study,
        "study_file": str(run.study.path),
        "start_utc": run.started.isoformat(timespec="seconds"),
        "end_utc": (run.finished or run.started).isoformat(timespec="seconds"),
        "hepstack_version": __version__,
        "command": ["hepstack", *sys.argv[1:]],
        "events": spec.events,
        "repetitions": spec.repetitions,
        "warmup": spec.warmup,
        "seed": spec.seed,
        "schedule": "warm-up, start latency, then repetitions interleaved, the arm order of each round "
        "from a Williams design (each arm in each place, and after each other arm, equally often)",
    }


def _arm_info(run: StudyRun, setup: ArmSetup) -> dict[str, object]:
    latencies = run.latencies.get(setup.arm.name, [])
    return {
        "runtime": setup.runtime.name,
        "image": image_identity(setup),
        "env": dict(setup.arm.env),
        "command_prefix": list(setup.arm.command_prefix),
        "start_latency_s": {"median": _median(latencies), "runs": latencies} if latencies else None,
    }


def image_identity(setup: ArmSetup) -> dict[str, object]:
    """Reference, engine, image id and repository digests (asked of the engine the runtime used)."""
    import json

    from hepstack import proc
    from hepstack.build.engines import get_engine

    image = setup.image
    info: dict[str, object] = {
        "reference": image.reference,
        "engine": image.engine,
        "id": image.image_id,
        "digests": [],
    }
    if not setup.runtime.in_image:
        info["note"] = (
            "native runs on the host (with the layer chain's env and profile for STACK/LAYER images)"
        )
        return info
    engine = get_engine(setup.runtime.engine_name or image.engine)
    inspected = proc.run(
        [
            *engine.inspect_argv(image.reference)[:-1],
            "--format",
            "{{.Id}}|{{json .RepoDigests}}",
            image.reference,
        ],
        check=False,
    )
    if inspected.returncode == 0 and "|" in inspected.stdout:
        image_id, _, digests = inspected.stdout.strip().partition("|")
        info["id"] = image_id
        try:
            info["digests"] = json.loads(digests) or []
        except ValueError:
            info["digests"] = []
    return info


def _rusage_scope(setup: ArmSetup) -> str:
    if setup.runtime.engine_name is not None:  # an engine: its daemon or conmon runs the container
        return "rusage of the client only (the container is not our child; no job report)"
    return "rusage"


def _median(values: list[float]) -> float:
    import statistics

    return statistics.median(values)
