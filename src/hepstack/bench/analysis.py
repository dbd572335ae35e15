"""From timing databases per arm and workload to the rows of Table 2: medians, relative speeds, intervals.

Every row's bootstrap is seeded from the bootstrap seed and the row's name, so its intervals do not change
when arms or modules are added or removed. A study runs the arms interleaved, one repetition of each per
round, so drift of the host between rounds (a neighbour's job on a shared VM) slows every arm of that
round alike. The relative speed is taken round by round (hepstack.bench.stats), which cancels it. For
the event bootstrap (one round, and the error bars of each median) all arms of a row draw the same
stream, hence pick the same repetitions in each resample, so drift cancels there too.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, cast

from hepstack.bench.stats import BOOTSTRAP_SEED, CONFIDENCE, RESAMPLES, Estimate, Score, estimate, score
from hepstack.bench.timing import GROUPS, ModuleKey, TimeTrackerDB
from hepstack.errors import HepstackError

if TYPE_CHECKING:
    from hepstack.bench.timing import Group, Seconds

#: arm -> workload -> one timing database per repetition
Timings = dict[str, dict[str, list[TimeTrackerDB]]]


@dataclass(frozen=True)
class Cell:
    """One arm's numbers in one row; ``score`` is None for the baseline or when undefined."""

    estimate: Estimate
    score: Score | None


@dataclass
class Row:
    """A group (workers, output, source) or one module of a workload, across all arms."""

    workload: str
    name: str
    kind: Literal["group", "module"]
    module: ModuleKey | None = None
    cells: dict[str, Cell] = field(default_factory=dict)


@dataclass
class Analysis:
    """Table 2 and everything behind it. ``arms`` starts with the baseline."""

    baseline: str
    arms: list[str]
    workloads: list[str]
    rows: list[Row]
    resamples: int
    seed: int
    confidence: float

    @property
    def confidence_percent(self) -> str:
        """The intervals' confidence as the report prints it, e.g. ``95 %``."""
        return f"{100 * self.confidence:g} %"

    def group_rows(self, workload: str) -> list[Row]:
        return [row for row in self.rows if row.workload == workload and row.kind == "group"]

    def module_rows(self, workload: str) -> list[Row]:
        return [row for row in self.rows if row.workload == workload and row.kind == "module"]


def analyze(
    timings: Timings,
    baseline: str,
    *,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> Analysis:
    """Medians and scores for every group and module of every workload; ``baseline`` must be an arm."""
    if baseline not in timings:
        raise HepstackError(
            f"the baseline '{baseline}' is not one of the arms", hint=f"arms: {', '.join(timings)}"
        )
    arms = [baseline, *(arm for arm in timings if arm != baseline)]
    workloads = list(dict.fromkeys(name for arm in arms for name in timings[arm]))
    analysis = Analysis(baseline, arms, workloads, [], resamples, seed, confidence)
    for workload in workloads:
        for group in GROUPS:
            row = Row(workload, group, "group")
            _fill(row, analysis, timings)
            if row.cells:
                analysis.rows.append(row)
        for key in _module_keys(timings, arms, workload):
            row = Row(workload, str(key), "module", key)
            _fill(row, analysis, timings)
            analysis.rows.append(row)
    return analysis


def _module_keys(timings: Timings, arms: list[str], workload: str) -> list[ModuleKey]:
    """Modules in the order they first appear: the baseline's first, then any only other arms have."""
    keys: dict[ModuleKey, None] = {}
    for arm in arms:
        for database in timings[arm].get(workload, []):
            keys.update(dict.fromkeys(database.modules))
    return list(keys)


def _times(row: Row, database: TimeTrackerDB) -> Seconds | None:
    if row.module is None:
        return database.group_times(cast("Group", row.name))
    return database.module_times(row.module) if database.has_module(row.module) else None


def _fill(row: Row, analysis: Analysis, timings: Timings) -> None:
    import numpy as np

    baseline: Estimate | None = None
    empty = np.zeros(0)
    row_seed = [analysis.seed, zlib.crc32(f"{row.workload}/{row.kind}/{row.name}".encode())]  # not the arm's
    for arm in analysis.arms:
        per_round = [_times(row, db) for db in timings[arm].get(row.workload, [])]
        rng = np.random.default_rng(row_seed)  # the same stream for every arm: paired (see above)
        found = estimate(
            [empty if values is None else values for values in per_round],
            rng,
            analysis.resamples,
            analysis.confidence,
        )
        if found is None:
            continue
        if arm == analysis.baseline:
            baseline = found
        scored = None
        if baseline is not None and arm != analysis.baseline:
            scored = score(baseline, found, np.random.default_rng([*row_seed, 1]))
        row.cells[arm] = Cell(found, scored)
