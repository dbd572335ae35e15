"""TimeTracker: per-event and per-module timing in art's SQLite schema, and art's printout.

The tables are created exactly as art's TimeTracker service creates them (cetlib sqlite Ntuple:
uint32 -> integer, string -> text, double -> numeric), so tools written for art's databases
read ours unchanged::

    TimeSource(Run integer, SubRun integer, Event integer, Source text, Time numeric)
    TimeEvent (Run integer, SubRun integer, Event integer, Time numeric)
    TimeModule(Run integer, SubRun integer, Event integer, Path text, ModuleLabel text,
               ModuleType text, Time numeric)

Times are seconds from a steady clock (``time.perf_counter``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

SCHEMA = (
    "CREATE TABLE TimeSource(Run integer,SubRun integer,Event integer,Source text,Time numeric)",
    "CREATE TABLE TimeEvent(Run integer,SubRun integer,Event integer,Time numeric)",
    "CREATE TABLE TimeModule(Run integer,SubRun integer,Event integer,Path text,"
    "ModuleLabel text,ModuleType text,Time numeric)",
)
FLUSH_ROWS = 5000


@dataclass
class Statistics:
    label: str
    minimum: float
    mean: float
    maximum: float
    median: float
    rms: float
    count: int


def statistics(label: str, values: list[float]) -> Statistics:
    """min/avg/max/median/RMS as art computes them (RMS about the mean, median of middle two)."""
    ordered = sorted(values)
    n = len(ordered)
    mean = sum(ordered) / n
    middle = ordered[(n - 1) // 2 : n // 2 + 1]
    rms = (sum((v - mean) ** 2 for v in ordered) / n) ** 0.5
    return Statistics(label, ordered[0], mean, ordered[-1], sum(middle) / len(middle), rms, n)


class TimeTracker:
    """Collects timing rows into an SQLite database (a file, or memory for the printout only).

    >>> tt = TimeTracker(None, "EmptySource"); tt.source_time((1, 0, 1), 0.1)
    >>> tt.event_time((1, 0, 1), 0.5); tt.module_time((1, 0, 1), "p1", "a", "A", 0.5)
    >>> print(tt.summary().splitlines()[3].split()[:3])
    ['Full', 'event', '0.6']
    """

    def __init__(self, db_path: Path | None, source_type: str) -> None:
        self._db = sqlite3.connect(str(db_path) if db_path is not None else ":memory:")
        for ddl in SCHEMA:
            self._db.execute(ddl)
        self.source_type = source_type
        self._source_rows: list[tuple[int, int, int, str, float]] = []
        self._event_rows: list[tuple[int, int, int, float]] = []
        self._module_rows: list[tuple[int, int, int, str, str, str, float]] = []

    def source_time(self, event_id: tuple[int, int, int], seconds: float) -> None:
        self._source_rows.append((*event_id, self.source_type, seconds))

    def event_time(self, event_id: tuple[int, int, int], seconds: float) -> None:
        self._event_rows.append((*event_id, seconds))
        if len(self._module_rows) >= FLUSH_ROWS:
            self.flush()

    def module_time(
        self, event_id: tuple[int, int, int], path: str, label: str, module_type: str, seconds: float
    ) -> None:
        self._module_rows.append((*event_id, path, label, module_type, seconds))

    def flush(self) -> None:
        self._db.executemany("INSERT INTO TimeSource VALUES (?,?,?,?,?)", self._source_rows)
        self._db.executemany("INSERT INTO TimeEvent VALUES (?,?,?,?)", self._event_rows)
        self._db.executemany("INSERT INTO TimeModule VALUES (?,?,?,?,?,?,?)", self._module_rows)
        self._source_rows.clear()
        self._event_rows.clear()
        self._module_rows.clear()

    def close(self) -> None:
        self.flush()
        self._db.commit()
        self._db.close()

    def _column(self, sql: str, args: tuple[str, ...] = ()) -> list[float]:
        return [row[0] for row in self._db.execute(sql, args)]

    def summary(self) -> str:
        """The end-of-job table in the layout of art's ``TimeTracker printout (sec)``."""
        self.flush()
        # Full event = module processing + source reading + output writing (art adds them back;
        # art uses UNION, which we follow).
        full = self._column(
            "SELECT SUM(Time) FROM ("
            " SELECT Run,SubRun,Event,Time FROM TimeEvent"
            " UNION SELECT Run,SubRun,Event,Time FROM TimeModule WHERE ModuleType LIKE '%(write)'"
            " UNION SELECT Run,SubRun,Event,Time FROM TimeSource"
            ") GROUP BY Run,SubRun,Event"
        )
        rows: list[Statistics] = []
        source = self._column("SELECT Time FROM TimeSource")
        if source:
            rows.append(statistics(f"source:{self.source_type}(read)", source))
        groups = self._db.execute(
            "SELECT Path, ModuleLabel, ModuleType FROM TimeModule"
            " GROUP BY Path, ModuleLabel, ModuleType ORDER BY MIN(rowid)"
        ).fetchall()
        for path, label, module_type in groups:
            times = self._column(
                "SELECT Time FROM TimeModule WHERE Path=? AND ModuleLabel=? AND ModuleType=?",
                (path, label, module_type),
            )
            rows.append(statistics(f"{path}:{label}:{module_type}", times))
        return format_summary(statistics("Full event", full) if full else None, rows)


def _cell(value: float) -> str:
    return f" {format(value, 'g'):^12} "


def format_summary(full_event: Statistics | None, modules: list[Statistics]) -> str:
    width = max([30] + [len(m.label) for m in modules])
    rule_width = width + 4 + 5 * 14 + 12
    header = (
        f"{'TimeTracker printout (sec)':<{width + 2}}"
        + "".join(f" {name:^12} " for name in ("Min", "Avg", "Max", "Median", "RMS"))
        + f" {'nEvts':^10} "
    )
    lines = ["=" * rule_width, header, "=" * rule_width]

    def row(stats: Statistics) -> str:
        cells = (stats.minimum, stats.mean, stats.maximum, stats.median, stats.rms)
        return f"{stats.label:<{width}}  " + "".join(_cell(v) for v in cells) + f" {stats.count:^10d} "

    if full_event is None:
        lines.append("[ No processed events ]")
    else:
        lines.append(row(full_event))
        lines.append("-" * rule_width)
        lines.extend(row(m) for m in modules)
    lines.append("=" * rule_width)
    return "\n".join(lines)
