"""Medians of seconds/event, and how much faster one arm is than the baseline, with a confidence interval.

Relative speed follows the FNAL container study's Table 2: baseline time / arm time (larger is faster).

It is measured round by round (a round runs every arm once): the ratio of the two runs' medians in each
round, combined over rounds. Why: on a shared VM ~97 % of the spread of a run's median is whole runs
being fast or slow (host episodes lasting tens of seconds slow a run by ~18 %), while events inside a
run scatter by ~0.5 %. A round's ratio cancels what its arms share, and the interval comes from the
rounds, the real units of replication; an interval from the events is too narrow (identical arms
called different in 13 % of simulated 3-round studies, tests/bench/test_stats.py).

- ten rounds or more (method "rounds"): a 20 % trimmed mean of the log ratios, so a round where one arm
  alone hit a slow episode does not move the result, with a percentile bootstrap over rounds. On the
  30-round art study this narrowed the A/A control's interval from 5.4 to 2.9 points (README.md);
- two to nine rounds (method "rounds-t"): the same trimmed mean (from 5 rounds, when it cuts a round
  from each end) with Yuen's Student t interval (a bootstrap over a handful of rounds is too narrow:
  7 % false calls at 8 rounds). Simulated with this VM's spread (runs ±2 %, one in seven in an 18 %
  spell), identical arms are called different in 2-4 % of studies at 95 % (0.6 % at 99 %), and a
  twice slower arm is found in all of them from 3 rounds at 95 % (from 6 at 99 %);
- one round (e.g. `hepstack bench compare` with one database per label, method "events"): the ratio of
  the medians with an event bootstrap. It knows nothing of run-to-run spread, so its interval is a
  lower bound on the real uncertainty.

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
MIN_ROUNDS = 10  # from here the trimmed mean and the bootstrap over rounds (see above)
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
    confidence: float

    @property
    def repetition_medians(self) -> list[float]:
        import numpy as np

        return [float(value) for value in self.round_medians if not np.isnan(value)]

    @property
    def median(self) -> float:
        return self.summary.median

    def interval(self) -> tuple[float, float]:
        """Bootstrap interval of the median itself (for error bars)."""
        return _percentile_interval(self.replicas, self.confidence)


@dataclass(frozen=True)
class Score:
    """Speed relative to the baseline (larger is faster) with its confidence interval."""

    relative_speed: float
    low: float
    high: float
    method: str  # "rounds", "rounds-t" or "events", see the module's docstring

    @property
    def significant(self) -> bool:
        """The interval excludes 1: the arm is measurably faster or slower than the baseline."""
        return self.low > 1.0 or self.high < 1.0

    def to_json(self) -> dict[str, object]:
        return {
            "relative_speed": self.relative_speed,
            "interval": [self.low, self.high],
            "significant": self.significant,
            "method": self.method,
        }


def estimate(
    repetitions: Sequence[Seconds],
    rng: np.random.Generator,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
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
        confidence=confidence,
    )


def score(baseline: Estimate, arm: Estimate, rng: np.random.Generator) -> Score | None:
    """How much faster ``arm`` is than ``baseline``, and its interval; None when undefined."""
    import numpy as np

    if arm.median <= 0:
        return None
    rounds = min(baseline.round_medians.size, arm.round_medians.size)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_ratios = np.log(baseline.round_medians[:rounds] / arm.round_medians[:rounds])
    # rounds where either has no event, a zero median, or a ratio beyond float range (subnormal times)
    log_ratios = log_ratios[np.isfinite(log_ratios)]
    confidence = arm.confidence
    if log_ratios.size >= MIN_ROUNDS:
        return _score_by_rounds(log_ratios, rng, len(arm.replicas), confidence)
    if log_ratios.size >= 2:
        return _score_by_t(log_ratios, confidence)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratios = baseline.replicas / arm.replicas
    ratios = ratios[np.isfinite(ratios)]
    if ratios.size < len(arm.replicas) // 2:
        return None
    low, high = _percentile_interval(ratios, confidence)
    return Score(baseline.median / arm.median, low, high, "events")


def trimmed_mean(values: Seconds, trim: float = ROUND_TRIM) -> Seconds:
    """Mean along the last axis after cutting ``trim`` of the values from each end."""
    import numpy as np

    count = values.shape[-1]
    cut = int(trim * count)
    ordered = np.sort(values, axis=-1)
    result: Seconds = ordered[..., cut : count - cut].mean(axis=-1)
    return result


def _score_by_rounds(
    log_ratios: Seconds, rng: np.random.Generator, resamples: int, confidence: float
) -> Score:
    import numpy as np

    picked = rng.integers(0, log_ratios.size, size=(resamples, log_ratios.size))
    low, high = _percentile_interval(np.exp(trimmed_mean(log_ratios[picked])), confidence)
    return Score(float(np.exp(trimmed_mean(log_ratios))), low, high, "rounds")


def _score_by_t(log_ratios: Seconds, confidence: float) -> Score:
    """Yuen's interval of the trimmed mean: from 5 rounds the extreme round at each end is cut from the
    mean and winsorized in the spread, so one round hit by a slow spell moves neither much."""
    import math

    import numpy as np
    from scipy import stats

    count = log_ratios.size
    cut = int(ROUND_TRIM * count)  # as trimmed_mean cuts
    kept = count - 2 * cut
    ordered = np.sort(log_ratios)
    center = float(trimmed_mean(log_ratios))
    winsorized = np.clip(ordered, ordered[cut], ordered[count - cut - 1])
    spread = float(winsorized.std(ddof=1)) * math.sqrt((count - 1) / (kept * (kept - 1)))
    half = float(stats.t.ppf(0.5 + confidence / 2, kept - 1)) * spread
    return Score(math.exp(center), math.exp(center - half), math.exp(center + half), "rounds-t")


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


def _percentile_interval(values: Seconds, confidence: float) -> tuple[float, float]:
    import numpy as np

    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)
