"""Medians, relative speed and its bootstrap interval on known distributions."""

from __future__ import annotations

import numpy as np
import pytest

from hepstack.bench.stats import Score, bootstrap_medians, estimate, score, summarize


def _draws(seed: int, scale: float = 1.0, reps: int = 4, events: int = 200) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [scale * rng.lognormal(np.log(0.01), 0.3, events) for _ in range(reps)]


def test_summary_is_art_like() -> None:
    summary = summarize(np.array([1.0, 2.0, 3.0, 4.0]))

    assert (summary.n, summary.median, summary.mean, summary.minimum, summary.maximum) == (
        4,
        2.5,
        2.5,
        1.0,
        4.0,
    )
    assert summary.rms == pytest.approx(np.sqrt(1.25))  # spread about the mean, as art prints it


def test_twice_as_slow_is_half_the_speed_and_significant() -> None:
    rng = np.random.default_rng(1)
    baseline = estimate(_draws(10), rng)
    slow = estimate(_draws(11, scale=2.0), rng)
    assert baseline is not None and slow is not None

    result = score(baseline, slow)

    assert result is not None
    assert result.relative_speed == pytest.approx(0.5, rel=0.08)
    assert result.low < result.relative_speed < result.high < 1
    assert result.significant


def test_same_distribution_is_not_significant() -> None:
    rng = np.random.default_rng(2)
    baseline, same = estimate(_draws(20), rng), estimate(_draws(21), rng)
    assert baseline is not None and same is not None

    result = score(baseline, same)

    assert result is not None
    assert result.low < 1 < result.high
    assert not result.significant


def test_run_to_run_spread_widens_the_interval() -> None:
    """Repetitions whose medians differ (a noisy neighbour in one run) must not look like precision."""
    steady = _draws(30, reps=4)
    drifting = [
        values * factor for values, factor in zip(_draws(30, reps=4), [0.8, 1.0, 1.25, 1.0], strict=True)
    ]

    def width(repetitions: list[np.ndarray]) -> float:
        low, high = np.percentile(bootstrap_medians(repetitions, np.random.default_rng(3), 2000), [2.5, 97.5])
        return float(high - low)

    assert width(drifting) > 1.5 * width(steady)


def test_the_interval_is_reproducible() -> None:
    first = bootstrap_medians(_draws(40), np.random.default_rng(7), 500)
    again = bootstrap_medians(_draws(40), np.random.default_rng(7), 500)

    np.testing.assert_array_equal(first, again)


def test_single_repetition_uses_the_event_bootstrap() -> None:
    values = _draws(50, reps=1)
    medians = bootstrap_medians(values, np.random.default_rng(8), 1000)

    assert medians.shape == (1000,)
    assert np.percentile(medians, 2.5) < np.median(values[0]) < np.percentile(medians, 97.5)


def test_no_events_no_estimate() -> None:
    assert estimate([np.zeros(0)], np.random.default_rng(1)) is None


def test_paired_resampling_cancels_drift_common_to_all_arms() -> None:
    """Round-to-round drift hits both arms alike; resampling rounds jointly resolves a 2 % difference."""
    rng = np.random.default_rng(5)
    drift = rng.uniform(0.8, 1.25, size=8)  # one factor per round (interleaved arms share it)
    base = [d * rng.lognormal(np.log(0.01), 0.05, 400) for d in drift]
    slower = [1.02 * d * rng.lognormal(np.log(0.01), 0.05, 400) for d in drift]

    def scored(seed_base: int, seed_arm: int) -> Score:
        baseline = estimate(base, np.random.default_rng(seed_base))
        arm = estimate(slower, np.random.default_rng(seed_arm))
        assert baseline is not None and arm is not None
        found = score(baseline, arm)
        assert found is not None
        return found

    paired, independent = scored(9, 9), scored(9, 10)
    assert paired.significant and paired.high < 1.0
    assert 0.97 < paired.relative_speed < 0.99
    assert not independent.significant  # the same data, drift counted as noise
    assert paired.high - paired.low < (independent.high - independent.low) / 3
