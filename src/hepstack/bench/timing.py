"""Read art's TimeTracker SQLite databases, exactly as art writes them.

art's TimeTracker service (art/Framework/Services/Optional/TimeTracker_service.cc) creates::

    TimeSource(Run integer, SubRun integer, Event integer, Source text, Time numeric)
    TimeEvent (Run integer, SubRun integer, Event integer, Time numeric)
    TimeModule(Run integer, SubRun integer, Event integer, Path text, ModuleLabel text,
               ModuleType text, Time numeric)

Times are seconds. Output modules carry a ``(write)`` suffix in ``ModuleType`` (``RootOutput(write)``)
and usually sit on ``end_path``; ``TimeEvent`` covers module processing without source and output.

Every value is checked as it is read, against what art writes (cetlib's sqlite Ntuple binds art's
``std::uint32_t`` run, subrun and event numbers as integers, strings as text, ``double`` seconds as
numeric): ids are integers from 0 to 2**32 - 1, names non-empty text, times finite numbers from 0 to
:data:`MAX_SECONDS`. Anything else — NULL, text in a number column, inf, a negative time — is a
:class:`TimingDBError` naming the file, table, row and column, never a number that reaches the
statistics (an infinite time made a false "1.780 *" and a matplotlib traceback).

>>> db = TimeTrackerDB(Path("timing.db"))                      # doctest: +SKIP
>>> db.group_times("workers")                                   # doctest: +SKIP
array([0.012, 0.011, ...])
"""

from __future__ import annotations

import math
import sqlite3
import stat
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
SQLITE_HEADER_BYTES = 100
CUT_HINT = "the file is truncated; did the job that wrote it finish, or the copy of it?"

#: The columns art writes, per table (names compare case-insensitively, as SQLite's do).
SCHEMA: dict[str, tuple[str, ...]] = {
    "TimeSource": ("Run", "SubRun", "Event", "Source", "Time"),
    "TimeEvent": ("Run", "SubRun", "Event", "Time"),
    "TimeModule": ("Run", "SubRun", "Event", "Path", "ModuleLabel", "ModuleType", "Time"),
}

EventId = tuple[object, ...]  # (Run, SubRun, Event)

#: What each column must hold (see the module docstring).
ColumnKind = Literal["id", "name", "seconds"]
COLUMN_KINDS: dict[str, ColumnKind] = {
    "Run": "id",
    "SubRun": "id",
    "Event": "id",
    "Source": "name",
    "Path": "name",
    "ModuleLabel": "name",
    "ModuleType": "name",
    "Time": "seconds",
}
MAX_ID = 2**32 - 1  # art's run, subrun and event numbers are std::uint32_t
#: The longest per-event time accepted: 30 days, longer than any batch job runs; more is a corrupt value.
MAX_SECONDS = 30 * 24 * 3600.0
SCHEMA_HINT = (
    "art's TimeTracker (services.TimeTracker.dbOutput) writes this file; was it written by art, or edited?"
)


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
            key = ModuleKey(str(row[3]), str(row[4]), str(row[5]))  # checked: non-empty text
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
        values = np.asarray(seconds, dtype=np.float64)  # checked as read: finite, 0 to MAX_SECONDS
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
    """Every row of the three tables, after checking the file is SQLite, the schema art's, every value."""
    _check_file(path)
    try:
        connection = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise TimingDBError(f"{path}: cannot open the database: {exc}", hint=SCHEMA_HINT) from None
    try:
        _check_schema(path, connection)
        return {table: _read_rows(path, connection, table, columns) for table, columns in SCHEMA.items()}
    except sqlite3.Error as exc:
        raise TimingDBError(
            f"{path}: cannot read the database: {exc}",
            hint="the file may be truncated or corrupt; did the job that wrote it finish?",
        ) from None
    finally:
        connection.close()


def _check_file(path: Path) -> None:
    """A regular file (a FIFO would block the read) that starts like an SQLite database."""
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            raise TimingDBError(
                f"{path}: not a regular file",
                hint="give the file art's TimeTracker writes, e.g. run1/timing.db",
            )
        with path.open("rb") as file:
            head = file.read(SQLITE_HEADER_BYTES)
        size = path.stat().st_size
        wal = path.with_name(f"{path.name}-wal").exists()
    except FileNotFoundError:
        raise TimingDBError(
            f"{path}: no such timing database", hint="check the path given as LABEL=TIMING.db"
        ) from None
    except OSError as exc:
        raise TimingDBError(
            f"{path}: cannot read the timing database: {exc.strerror or exc}",
            hint="check that the file exists and is readable",
        ) from None
    if not head.startswith(SQLITE_MAGIC):
        what = "an empty file" if not head else f"a file starting with {head[:8]!r}"
        raise TimingDBError(
            f"{path}: not an SQLite database ({what})",
            hint="give the file art's TimeTracker writes (services.TimeTracker.dbOutput.filename)",
        )
    _check_size(path, head, size, wal)


def _check_size(path: Path, head: bytes, size: int, wal: bool) -> None:
    """A database cut short: SQLite reads what is left without complaint, but rows may be gone.

    The header (sqlite.org/fileformat2.html §1.3) holds the page size at offset 16 (1 means 65536) and
    the database size in pages at offset 28; with a write-ahead log beside it, pages may live there.
    """
    if len(head) < SQLITE_HEADER_BYTES:
        raise TimingDBError(f"{path}: cut short: {size} bytes, less than an SQLite header", hint=CUT_HINT)
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], "big")
    if page_size < 512 or size % page_size:
        raise TimingDBError(
            f"{path}: cut short: {size} bytes is not a whole number of {page_size}-byte pages", hint=CUT_HINT
        )
    if not wal and pages > size // page_size:
        raise TimingDBError(
            f"{path}: cut short: {size // page_size} pages of the {pages} its header records", hint=CUT_HINT
        )


def _read_rows(
    path: Path, connection: sqlite3.Connection, table: str, columns: tuple[str, ...]
) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    kinds = [COLUMN_KINDS[column] for column in columns]
    # table and column names are SCHEMA's constants, never the database's
    for number, row in enumerate(connection.execute(f"SELECT {', '.join(columns)} FROM {table}"), start=1):
        for column, kind, value in zip(columns, kinds, row, strict=True):
            problem = _value_problem(kind, value)
            if problem:
                raise TimingDBError(
                    f"{path}: {table} row {number}{_row_context(columns, row)}: {column} {problem}",
                    hint=SCHEMA_HINT,
                )
        rows.append(row)
    return rows


def _value_problem(kind: ColumnKind, value: object) -> str | None:
    """Why ``value`` cannot be in a column of ``kind``, or None."""
    shown = _shown(value)
    if kind == "id":
        if type(value) is not int:
            return f"is {shown}, not an integer"
        return None if 0 <= value <= MAX_ID else f"is {value}, outside art's 0 to {MAX_ID}"
    if kind == "name":
        if type(value) is not str:
            return f"is {shown}, not text"
        return None if value else "is empty"
    if not isinstance(value, int | float):
        return f"is {shown}, not a number of seconds"
    seconds = float(value)
    if not math.isfinite(seconds):
        return f"is {value}, not a finite number of seconds"
    if seconds < 0:
        return f"is {value}: a time cannot be negative"
    return (
        None if seconds <= MAX_SECONDS else f"is {value} s, more than {MAX_SECONDS:g} s (30 days) per event"
    )


def _shown(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return f"a blob of {len(value)} bytes"
    if isinstance(value, str):
        return f"the text {value[:40]!r}" + ("…" if len(value) > 40 else "")
    return f"{type(value).__name__} {value!r}"


def _row_context(columns: tuple[str, ...], row: tuple[object, ...]) -> str:
    """`` (Run 1, SubRun 0, Event 3)`` from the row's ids, as far as they are valid."""
    ids = [
        f"{column} {value}"
        for column, value in zip(columns, row, strict=True)
        if COLUMN_KINDS[column] == "id" and _value_problem("id", value) is None
    ]
    return f" ({', '.join(ids)})" if ids else ""


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
