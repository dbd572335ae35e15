"""Read art's TimeTracker SQLite databases, exactly as art writes them.

art's TimeTracker service (art/Framework/Services/Optional/TimeTracker_service.cc) creates::

    TimeSource(Run integer, SubRun integer, Event integer, Source text, Time numeric)
    TimeEvent (Run integer, SubRun integer, Event integer, Time numeric)
    TimeModule(Run integer, SubRun integer, Event integer, Path text, ModuleLabel text,
               ModuleType text, Time numeric)

Times are seconds. Output modules carry a ``(write)`` suffix in ``ModuleType`` (``RootOutput(write)``)
and usually sit on ``end_path``; ``TimeEvent`` covers module processing without source and output.

>>> db = TimeTrackerDB(Path("timing.db"))                      # doctest: +SKIP
>>> db.group_times("workers")                                   # doctest: +SKIP
array([0.012, 0.011, ...])
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from hepstack.errors import HepstackError

if TYPE_CHECKING:
    from collections.abc import Iterable

    import numpy as np
    import numpy.typing as npt

    Seconds = npt.NDArray[np.float64]

#: Module groups of the study, in table order: non-output modules, output modules, the source.
Group = Literal["workers", "output", "source"]
GROUPS: tuple[Group, ...] = ("workers", "output", "source")
OUTPUT_SUFFIX = "(write)"
SQLITE_MAGIC = b"SQLite format 3\x00"

#: The columns art writes, per table (names compare case-insensitively, as SQLite's do).
SCHEMA: dict[str, tuple[str, ...]] = {
    "TimeSource": ("Run", "SubRun", "Event", "Source", "Time"),
    "TimeEvent": ("Run", "SubRun", "Event", "Time"),
    "TimeModule": ("Run", "SubRun", "Event", "Path", "ModuleLabel", "ModuleType", "Time"),
}

EventId = tuple[object, ...]  # (Run, SubRun, Event)


class TimingDBError(HepstackError):
    """A timing database that cannot be read as art's TimeTracker schema."""


@dataclass(frozen=True, order=True)
class ModuleKey:
    """One module instance of the job: art's (Path, ModuleLabel, ModuleType).

    The same label on two paths is two rows, as in art's own TimeTracker printout.
    """

    path: str
    label: str
    module_type: str

    @property
    def is_output(self) -> bool:
        return self.module_type.endswith(OUTPUT_SUFFIX)

    def __str__(self) -> str:
        return f"{self.path}:{self.label}:{self.module_type}"


class TimeTrackerDB:
    """All rows of one TimeTracker database, read once; per-module and per-group per-event times.

    >>> db = TimeTrackerDB(Path("run1/timing.db"))              # doctest: +SKIP
    >>> [str(key) for key in db.modules][:2]                      # doctest: +SKIP
    ['study:generate:IntVectorProducer', 'study:sum:VectorSum']
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        tables = _read_tables(self.path)
        self.event_ids: list[EventId] = []
        self._index: dict[EventId, int] = {}
        self._source = self._per_event((row[:3], row[4]) for row in tables["TimeSource"])
        self._event = self._per_event((row[:3], row[3]) for row in tables["TimeEvent"])
        by_module: dict[ModuleKey, list[tuple[EventId, object]]] = {}
        for row in tables["TimeModule"]:
            key = ModuleKey(str(row[3]), str(row[4]), str(row[5]))
            by_module.setdefault(key, []).append((row[:3], row[6]))
        self.modules: list[ModuleKey] = list(by_module)  # first appearance, like art's printout
        self._modules = {key: self._per_event(rows) for key, rows in by_module.items()}

    def __repr__(self) -> str:
        return f"TimeTrackerDB({str(self.path)!r}, {len(self.event_ids)} events, {len(self.modules)} modules)"

    def has_module(self, key: ModuleKey) -> bool:
        return key in self._modules

    def module_times(self, key: ModuleKey) -> Seconds:
        """Seconds per event of one module, over the events it ran in (summed if it ran twice)."""
        return _totals(*self._modules[key])

    def group_times(self, group: Group) -> Seconds:
        """Per-event totals of a group: the sum over its modules, for each event where any of them ran."""
        if group == "source":
            return _totals(*self._source)
        wanted = [key for key in self.modules if key.is_output == (group == "output")]
        import numpy as np

        if not wanted:
            return np.zeros(0)
        indices = np.concatenate([self._modules[key][0] for key in wanted])
        seconds = np.concatenate([self._modules[key][1] for key in wanted])
        return _totals(indices, seconds)

    def event_times(self) -> Seconds:
        """``TimeEvent``: module processing per event, as art measured it."""
        return _totals(*self._event)

    def _per_event(
        self, rows: Iterable[tuple[tuple[object, ...], object]]
    ) -> tuple[npt.NDArray[np.int64], Seconds]:
        import numpy as np

        indices: list[int] = []
        seconds: list[object] = []
        for event, time in rows:
            event_id = tuple(event)
            index = self._index.get(event_id)
            if index is None:
                index = self._index[event_id] = len(self.event_ids)
                self.event_ids.append(event_id)
            indices.append(index)
            seconds.append(time)
        try:
            values = np.asarray(seconds, dtype=np.float64)
        except (TypeError, ValueError):
            raise TimingDBError(
                f"{self.path}: a Time value is not a number",
                hint="art writes seconds as numeric values; was this database written by TimeTracker?",
            ) from None
        if np.isnan(values).any():
            raise TimingDBError(f"{self.path}: a Time value is empty (NULL) or not a number")
        return np.asarray(indices, dtype=np.int64), values


def _totals(indices: npt.NDArray[np.int64], seconds: Seconds) -> Seconds:
    """Sum ``seconds`` per event index, keeping events in first-seen order."""
    import numpy as np

    if indices.size == 0:
        return np.zeros(0)
    order, inverse = np.unique(indices, return_inverse=True)
    totals = np.zeros(order.size)
    np.add.at(totals, inverse, seconds)
    return totals


def _read_tables(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the three tables, after checking the file is SQLite and the schema is art's."""
    try:
        with path.open("rb") as file:
            head = file.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise TimingDBError(f"timing database {path} does not exist") from None
    except OSError as exc:
        raise TimingDBError(f"cannot read timing database {path}: {exc.strerror}") from None
    if head != SQLITE_MAGIC:
        raise TimingDBError(
            f"{path} is not an SQLite database",
            hint="give the file art's TimeTracker writes (services.TimeTracker.dbOutput.filename)",
        )
    try:
        connection = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise TimingDBError(f"cannot open timing database {path}: {exc}") from None
    try:
        _check_schema(path, connection)
        return {
            table: connection.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
            for table, columns in SCHEMA.items()
        }
    except sqlite3.Error as exc:
        raise TimingDBError(f"cannot read timing database {path}: {exc}") from None
    finally:
        connection.close()


def _check_schema(path: Path, connection: sqlite3.Connection) -> None:
    found = {
        str(name).lower(): str(name)
        for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
    }
    for table, columns in SCHEMA.items():
        if table.lower() not in found:
            raise TimingDBError(
                f"{path}: no table {table}",
                hint="art's TimeTracker writes TimeSource, TimeEvent and TimeModule; "
                f"this file has: {', '.join(found.values()) or 'no tables'}",
            )
        present = {str(row[1]).lower() for row in connection.execute(f"PRAGMA table_info({table})")}
        for column in columns:
            if column.lower() not in present:
                raise TimingDBError(
                    f"{path}: table {table} has no column {column}",
                    hint=f"art's {table} has columns {', '.join(columns)}",
                )
