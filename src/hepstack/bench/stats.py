"""Medians of seconds/event, and how much faster one arm is than the baseline, with a bootstrap interval.

Relative speed follows the FNAL container study's Table 2: ``median_baseline / median_arm`` (larger is
faster). Its 95 % interval comes from a percentile bootstrap with a fixed seed, each arm resampled on its
own. With several repetitions the resampling has two levels (a cluster bootstrap): pick repetitions with
replacement, then events with replacement inside each picked repetition. Events of one process share its
conditions (CPU clock, neighbours, page cache), so they are not independent across repetitions; resampling
whole repetitions keeps that run-to-run spread in the interval instead of pretending there are
``repetitions x events`` independent measurements. With one repetition it is the plain event bootstrap.

>>> baseline = estimate([np.array([1.0, 1.1, 0.9])], np.random.default_rng(1))   # doctest: +SKIP
>>> score(baseline, estimate([np.array([2.0, 2.2, 1.8])], rng)).relative_speed      # doctest: +SKIP
0.5
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Seconds = npt.NDArray[np.float64]

RESAMPLES = 2000
BOOTSTRAP_SEED = 20240601
CONFIDENCE = 0.95
_CHUNK_VALUES = 4_000_000  # resampled values held in memory at once (32 MB of float64)


@dataclass(frozen=True)
class Summary:
    """Per-event seconds of one module or group in one arm (all repetitions pooled).

    ``rms`` is the spread about the mean, as in art's TimeTracker printout.
    """

    n: int
    median: float
    mean: float
    minimum: float
    maximum: float
    rms: float
    p5: float
    p95: float

    def to_json(self) -> dict[str, float | int]:
        return {
            "n": self.n,
            "median": self.median,
            "mean": self.mean,
            "min": self.minimum,
            "max": self.maximum,
            "rms": self.rms,
            "p5": self.p5,
            "p95": self.p95,
        }


def summarize(values: Seconds) -> Summary:
    import numpy as np

    p5, median, p95 = (float(v) for v in np.percentile(values, [5, 50, 95]))
    return Summary(
        n=int(values.size),
        median=median,
        mean=float(values.mean()),
        minimum=float(values.min()),
        maximum=float(values.max()),
        rms=float(values.std()),
        p5=p5,
        p95=p95,
    )


@dataclass(frozen=True)
class Estimate:
    """The pooled median of one module/group in one arm, its bootstrap replicas and per-repetition medians."""

    summary: Summary
    pooled: Seconds  # every per-event time, all repetitions
    replicas: Seconds  # bootstrap medians, one per resample
    repetition_medians: list[float]

    @property
    def median(self) -> float:
        return self.summary.median

    def interval(self) -> tuple[float, float]:
        """Bootstrap 95 % interval of the median itself (for error bars)."""
        return _percentile_interval(self.replicas)


@dataclass(frozen=True)
class Score:
    """Speed relative to the baseline (larger is faster) with its bootstrap 95 % interval."""

    relative_speed: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        """The interval excludes 1: the arm is measurably faster or slower than the baseline."""
        return self.low > 1.0 or self.high < 1.0

    def to_json(self) -> dict[str, object]:
        return {
            "relative_speed": self.relative_speed,
            "ci95": [self.low, self.high],
            "significant": self.significant,
        }


def estimate(
    repetitions: Sequence[Seconds], rng: np.random.Generator, resamples: int = RESAMPLES
) -> Estimate | None:
    """Pool the per-event times of all repetitions; None when no repetition has any event."""
    import numpy as np

    filled = [values for values in repetitions if values.size]
    if not filled:
        return None
    pooled = np.concatenate(filled)
    return Estimate(
        summary=summarize(pooled),
        pooled=pooled,
        replicas=bootstrap_medians(filled, rng, resamples),
        repetition_medians=[float(np.median(values)) for values in filled],
    )


def score(baseline: Estimate, arm: Estimate) -> Score | None:
    """``median_baseline / median_arm`` and its interval; None when the arm's median is zero."""
    import numpy as np

    if arm.median <= 0:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = baseline.replicas / arm.replicas
    ratios = ratios[np.isfinite(ratios)]
    if ratios.size < len(arm.replicas) // 2:
        return None
    low, high = _percentile_interval(ratios)
    return Score(baseline.median / arm.median, low, high)


def bootstrap_medians(repetitions: Sequence[Seconds], rng: np.random.Generator, resamples: int) -> Seconds:
    """Median of each of ``resamples`` bootstrap samples (two-level when there are several repetitions)."""
    import numpy as np

    count = len(repetitions)
    sizes = np.array([values.size for values in repetitions])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pooled = np.concatenate(repetitions)
    per_repetition = max(1, round(float(sizes.mean())))  # events drawn from each picked repetition
    width = count * per_repetition
    medians = np.empty(resamples)
    step = max(1, _CHUNK_VALUES // width)
    for start in range(0, resamples, step):
        rows = min(step, resamples - start)
        if count == 1:
            indices = rng.integers(0, pooled.size, size=(rows, width))
        else:
            picked = rng.integers(0, count, size=(rows, count, 1))
            inside = (rng.random((rows, count, per_repetition)) * sizes[picked]).astype(np.int64)
            indices = (offsets[picked] + inside).reshape(rows, width)
        medians[start : start + rows] = np.median(pooled[indices], axis=1)
    return medians


def _percentile_interval(values: Seconds) -> tuple[float, float]:
    import numpy as np

    tail = 100 * (1 - CONFIDENCE) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)
