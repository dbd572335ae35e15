"""Crumb plans as L1Proc makes them (github.com/fermi-lat/L1Pipeline crumble.py, config.py)."""

from __future__ import annotations

import math

import pytest

from lat.proc.crumbs import CrumbRules

L1PROC = CrumbRules()  # maxCrumbs 45, crumbSize 1500, crumbMmr 1.5


def l1proc_sizes(total: int) -> list[int]:
    """crumble_exp_old of L1Proc, transcribed (ceil: its sizes add up to a little more than total)."""
    n = min(45, max(1, math.floor(float(total) / 1500)))
    factor = math.exp(-math.log(1.5) / n)
    scales = [factor**i for i in range(n)]
    top = total / sum(scales)
    return [math.ceil(top * s) for s in reversed(scales)]


@pytest.mark.parametrize(
    ("events", "crumbs"),
    [
        (1, 1),
        (1499, 1),
        (1500, 1),
        (2999, 1),
        (3000, 2),
        (4499, 2),
        (4500, 3),
        (67499, 44),
        (67500, 45),
        (100000, 45),
    ],
)
def test_crumb_count_at_the_boundaries(events: int, crumbs: int) -> None:
    assert L1PROC.count(events) == crumbs
    assert len(L1PROC.sizes(events)) == crumbs


@pytest.mark.parametrize("events", [1, 1499, 1500, 3000, 4600, 12345, 67500, 100000, 250001])
def test_ranges_cover_the_chunk_exactly_in_order(events: int) -> None:
    ranges = L1PROC.ranges(events)
    assert ranges[0][0] == 0 and ranges[-1][1] == events
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    assert all(last > first for first, last in ranges)


@pytest.mark.parametrize("events", [3000, 4600, 12345, 67500, 100000])
def test_sizes_grow_geometrically_smallest_first(events: int) -> None:
    sizes = L1PROC.sizes(events)
    n = len(sizes)
    assert all(b > a for a, b in zip(sizes, sizes[1:]))  # at L1Proc's sizes (>= 1000 events) strictly
    # L1Proc's growth factor is 1.5 ** (1 / n), so largest / smallest = 1.5 ** ((n - 1) / n)
    assert sizes[-1] / sizes[0] == pytest.approx(1.5 ** ((n - 1) / n), abs=2 / sizes[0])
    # and every size is within one event of what L1Proc itself computes
    assert max(abs(a - b) for a, b in zip(sizes, l1proc_sizes(events))) <= 1


def test_forty_five_crumbs_span_a_ratio_near_one_and_a_half() -> None:
    sizes = L1PROC.sizes(67500)
    assert len(sizes) == 45 and sum(sizes) == 67500
    assert 1.48 < sizes[-1] / sizes[0] < 1.50


def test_known_plans() -> None:
    """Tabulated here so a change of the arithmetic shows (decimal: the same on every host)."""
    assert L1PROC.sizes(3000) == [1348, 1652]
    assert L1PROC.sizes(4500) == [1302, 1491, 1707]
    assert L1PROC.ranges(4600) == [(0, 1331), (1331, 2855), (2855, 4600)]


@pytest.mark.parametrize("events", [10, 11, 57, 99, 120, 400, 1001])
def test_small_crumbs_never_empty_and_never_shrink(events: int) -> None:
    rules = CrumbRules(min_events=10, max_crumbs=99, ratio="4")
    sizes = rules.sizes(events)
    assert sum(sizes) == events and min(sizes) >= 1
    assert all(b >= a for a, b in zip(sizes, sizes[1:]))


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"min_events": 9}, "at least 10"),
        ({"max_crumbs": 0}, "1 to 99"),
        ({"max_crumbs": 100}, "1 to 99"),
        ({"ratio": "0.9"}, "1 to 4"),
        ({"ratio": "nan"}, "1 to 4"),
        ({"ratio": "big"}, "not a number"),
    ],
)
def test_bad_rules(rules: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CrumbRules(**rules)  # type: ignore[arg-type]


def test_a_chunk_without_events_has_no_plan() -> None:
    with pytest.raises(ValueError, match="no crumbs"):
        L1PROC.ranges(0)
