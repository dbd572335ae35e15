"""Medians of seconds/event, and how much faster one arm is than the baseline, with a bootstrap interval.

Relative speed follows the FNAL container study's Table 2: baseline time / arm time (larger is faster).

With ten or more rounds (one repetition of every arm each), it is measured round by round: the ratio
of the two runs' medians in each round, combined over rounds by a 20 % trimmed mean of their logarithms,
its 95 % interval a percentile bootstrap over rounds. Why: on a shared VM ~97 % of the spread of a run's
median is whole runs being fast or slow (host episodes lasting tens of seconds slow a run by ~18 %),
while events inside a run scatter by ~0.5 %. A round's ratio cancels what its arms share; the trimmed
mean keeps a round where one arm alone hit such an episode from moving the result; the interval comes
from the rounds, the real units of replication. On the 30-round art study this narrowed the A/A control's
interval from 5.4 to 2.9 points (measurements in README.md).

With fewer rounds (e.g. `hepstack bench compare` on single databases) it is the ratio of the pooled
medians, with an event bootstrap (two-level with several rounds: pick rounds, then events inside them).
A percentile bootstrap over a handful of rounds is too narrow: for two identical arms with this VM's
spread (runs ±2 %, one in seven in a ±18 % spell) it excluded 1 in 28 % of simulated studies of 3
rounds, 7 % of 8, 3.5 % of 12 (nominally 5 %).

>>> baseline = estimate([np.array([1.0, 1.1, 0.9])], np.random.default_rng(1))   # doctest: +SKIP
>>> score(baseline, estimate([np.array([2.0, 2.2, 1.8])], rng), rng).relative_speed  # doctest: +SKIP
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
ROUND_TRIM = 0.2  # share of the per-round log ratios cut from each end before averaging
MIN_ROUNDS = 10  # fewer paired rounds: pooled medians and the event bootstrap (see above)
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
    """The pooled median of one module/group in one arm, its bootstrap replicas and per-round medians."""

    summary: Summary
    pooled: Seconds  # every per-event time, all repetitions
    replicas: Seconds  # bootstrap medians, one per resample
    round_medians: Seconds  # one per round, in round order; NaN where the round has no event

    @property
    def repetition_medians(self) -> list[float]:
        import numpy as np

        return [float(value) for value in self.round_medians if not np.isnan(value)]

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
    method: str  # "rounds" (per-round ratios) or "events" (pooled medians), see the module's docstring

    @property
    def significant(self) -> bool:
        """The interval excludes 1: the arm is measurably faster or slower than the baseline."""
        return self.low > 1.0 or self.high < 1.0

    def to_json(self) -> dict[str, object]:
        return {
            "relative_speed": self.relative_speed,
            "ci95": [self.low, self.high],
            "significant": self.significant,
            "method": self.method,
        }


def estimate(
    repetitions: Sequence[Seconds], rng: np.random.Generator, resamples: int = RESAMPLES
) -> Estimate | None:
    """Pool the per-event times of all repetitions (in round order); None when none has any event."""
    import numpy as np

    filled = [values for values in repetitions if values.size]
    if not filled:
        return None
    pooled = np.concatenate(filled)
    return Estimate(
        summary=summarize(pooled),
        pooled=pooled,
        replicas=bootstrap_medians(filled, rng, resamples),
        round_medians=np.array([np.median(values) if values.size else np.nan for values in repetitions]),
    )


def score(baseline: Estimate, arm: Estimate, rng: np.random.Generator) -> Score | None:
    """How much faster ``arm`` is than ``baseline``, and its interval; None when undefined."""
    import numpy as np

    if arm.median <= 0:
        return None
    rounds = min(baseline.round_medians.size, arm.round_medians.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratios = np.log(baseline.round_medians[:rounds] / arm.round_medians[:rounds])
    log_ratios = log_ratios[np.isfinite(log_ratios)]  # rounds where either has no event (or a zero)
    if log_ratios.size >= MIN_ROUNDS:
        return _score_by_rounds(log_ratios, rng, len(arm.replicas))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = baseline.replicas / arm.replicas
    ratios = ratios[np.isfinite(ratios)]
    if ratios.size < len(arm.replicas) // 2:
        return None
    low, high = _percentile_interval(ratios)
    return Score(baseline.median / arm.median, low, high, "events")


def trimmed_mean(values: Seconds, trim: float = ROUND_TRIM) -> Seconds:
    """Mean along the last axis after cutting ``trim`` of the values from each end."""
    import numpy as np

    count = values.shape[-1]
    cut = int(trim * count)
    ordered = np.sort(values, axis=-1)
    result: Seconds = ordered[..., cut : count - cut].mean(axis=-1)
    return result


def _score_by_rounds(log_ratios: Seconds, rng: np.random.Generator, resamples: int) -> Score:
    import numpy as np

    picked = rng.integers(0, log_ratios.size, size=(resamples, log_ratios.size))
    low, high = _percentile_interval(np.exp(trimmed_mean(log_ratios[picked])))
    return Score(float(np.exp(trimmed_mean(log_ratios))), low, high, "rounds")


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
