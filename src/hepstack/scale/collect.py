"""Per job: what its own files say (``times``, the TimeTracker database, the job report) and its state.

A job counts as a success only if the scheduler's view (exit code 0), its ``times`` record and its
timing database all agree; anything else is a failure with one cause, named so it can be counted.
The workload's ROOT output is deleted once read (only the timing is the measurement).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from hepstack.batch.states import TaskState, TaskStatus
from hepstack.errors import HepstackError
from hepstack.scale.submit import ArrayRun
from hepstack.scale.workload import OUTPUTS, TIMES, TIMING_DB


@dataclass(frozen=True)
class JobResult:
    task: int
    state: str
    exit_code: int | None
    cause: str | None  # None: succeeded
    launch: float | None  # epoch seconds: the job script exec'ing the runtime
    start: float | None  # the first instruction inside the container
    end: float | None
    queue_wait_s: float | None  # launch - submit
    start_latency_s: float | None  # start - launch
    wall_s: float | None  # end - launch
    events: int
    per_event_median_s: float | None
    maxrss_kb: int | None
    output_bytes: int  # the workload's ROOT file, measured before it is deleted

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def collect_array(run: ArrayRun, timed: bool = True) -> tuple[list[JobResult], list[float]]:
    """Every task's result, and every succeeded task's per-event seconds pooled (for intervals);
    ``timed``: the workload writes a timing database (all but ``idle``), whose absence is a failure."""
    results: list[JobResult] = []
    pooled: list[float] = []
    for status in run.statuses:
        result, times = _collect_task(run, status, timed)
        results.append(result)
        pooled += times
    return results, pooled


def _collect_task(run: ArrayRun, status: TaskStatus, timed: bool) -> tuple[JobResult, list[float]]:
    directory = run.directory / str(status.index)
    stamps = _read_times(directory / TIMES)
    launch, start, end, wrapper_code = stamps if stamps else (None, None, None, None)
    events: list[float] = []
    cause = _state_cause(run, status)
    if cause is None and stamps is None:
        cause = "no times record (the wrapper never ran: the container did not start)"
    if cause is None and wrapper_code != 0:
        cause = f"exit {wrapper_code}"
    if cause is None and timed:
        try:
            events = _event_times(directory / TIMING_DB)
        except HepstackError as exc:
            cause = f"timing database unreadable: {exc.message}"
    output_bytes = 0
    for name in OUTPUTS:
        with contextlib.suppress(OSError):
            output_bytes += (directory / name).stat().st_size
        (directory / name).unlink(missing_ok=True)
    median = None
    if events:
        ordered = sorted(events)
        middle = len(ordered) // 2
        median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    result = JobResult(
        task=status.index,
        state=status.state.value,
        exit_code=status.exit_code,
        cause=cause,
        launch=launch,
        start=start,
        end=end,
        queue_wait_s=None if launch is None else max(0.0, launch - run.submitted_at),
        start_latency_s=None if start is None or launch is None else start - launch,
        wall_s=None if end is None or launch is None else end - launch,
        events=len(events),
        per_event_median_s=median,
        maxrss_kb=_maxrss(directory / f"{TIMING_DB}.job.json"),
        output_bytes=output_bytes,
    )
    return result, events if cause is None else []


def _state_cause(run: ArrayRun, status: TaskStatus) -> str | None:
    if status.state is TaskState.COMPLETED and status.exit_code == 0:
        return None
    if run.timed_out and status.state is TaskState.CANCELLED:
        return "cancelled at the study's timeout"
    if status.exit_code not in (None, 0):
        return f"exit {status.exit_code}"
    return f"{status.state.value}: {status.detail}" if status.detail else status.state.value


def _read_times(path: Path) -> tuple[float, float, float, int] | None:
    """``launch start end exit-code`` as the wrapper wrote it; None when absent or malformed."""
    try:
        fields = path.read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError):
        return None
    if len(fields) != 4:
        return None
    try:
        return float(fields[0]), float(fields[1]), float(fields[2]), int(fields[3])
    except ValueError:
        return None


def _event_times(path: Path) -> list[float]:
    from hepstack.bench.timing import TimeTrackerDB

    if not path.exists():
        raise HepstackError(f"{path} does not exist", hint="the workload did not write its timing database")
    return [float(value) for value in TimeTrackerDB(path).event_times()]


def _maxrss(path: Path) -> int | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("maxrss_kb")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and value >= 0 else None
