"""The memory guard: the next concurrency runs only if its jobs, at the memory per job measured at the
largest concurrency so far, fit in the study's share of what /proc/meminfo says is available."""

from __future__ import annotations

from pathlib import Path

from hepstack.scale.memory import MemoryUse, available_kb, used_kb
from hepstack.scale.submit import ArrayRun, fits_in_memory


def _run(concurrency: int, added_kb: int, repetition: int = 1) -> ArrayRun:
    return ArrayRun(arm="podman", runtime="podman", concurrency=concurrency, repetition=repetition,
                    directory=Path("/nonexistent"), record=None, submitted_at=0.0, finished_at=1.0,  # type: ignore[arg-type]
                    statuses=[], memory=MemoryUse(1000, 1000 + added_kb, 5), timed_out=False)  # fmt: skip


def test_meminfo_is_read() -> None:
    assert available_kb() > 0 and used_kb() > 0


def test_guard_scales_the_largest_measured_concurrency() -> None:
    free = available_kb()
    per_job = free // 100  # 100 jobs of this would take all that is available
    runs = [_run(1, 10 * per_job), _run(10, 10 * per_job)]  # at 10 jobs: per_job each (1's is ignored)
    assert fits_in_memory([], 1000, 0.8)  # nothing measured yet
    assert fits_in_memory(runs, 70, 0.8)
    assert not fits_in_memory(runs, 90, 0.8)
    assert fits_in_memory(runs, 90, 1.0)
    warmup_only = [_run(1, 50 * per_job, repetition=-1)]
    assert fits_in_memory(warmup_only, 90, 0.8)  # warm-ups are not measurements
