"""Reading art TimeTracker databases: module keys, groups, per-event totals, and clear errors."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from hepstack.bench.timing import ModuleKey, TimeTrackerDB, TimingDBError
from tests.bench.helpers import ART_SCHEMA, write_art_db


def test_modules_keyed_by_path_label_and_type(tmp_path: Path) -> None:
    db = TimeTrackerDB(write_art_db(tmp_path / "t.db", events=5))

    assert [str(key) for key in db.modules] == [
        "reco:hits:HitFinder",
        "reco:tracks:TrackFitter",
        "ana:tracks:TrackFitter",
        "end_path:out:RootOutput(write)",
        "end_path:dump:EventDumper",
    ]
    assert [key.is_output for key in db.modules] == [False, False, False, True, False]
    np.testing.assert_allclose(
        db.module_times(ModuleKey("ana", "tracks", "TrackFitter")), 0.030 * (1 + np.arange(1, 6) / 100)
    )


def test_groups_sum_modules_per_event(tmp_path: Path) -> None:
    db = TimeTrackerDB(write_art_db(tmp_path / "t.db", events=4))
    factor = 1 + np.arange(1, 5) / 100

    # workers: every module whose type does not end in (write), the end_path analyzer included
    np.testing.assert_allclose(db.group_times("workers"), (0.020 + 0.050 + 0.030 + 0.001) * factor)
    np.testing.assert_allclose(db.group_times("output"), 0.004 * factor)
    np.testing.assert_allclose(db.group_times("source"), 0.002 * factor)
    np.testing.assert_allclose(db.event_times(), (0.020 + 0.050 + 0.030 + 0.001) * factor)
    assert len(db.event_ids) == 4


def test_events_told_apart_by_run_subrun_and_event(tmp_path: Path) -> None:
    path = write_art_db(tmp_path / "t.db", events=3, subrun=0)
    _sql("INSERT INTO TimeModule VALUES (1,1,1,'reco','hits','HitFinder',0.5);")(path)  # subrun 1, event 1
    db = TimeTrackerDB(path)

    assert db.module_times(ModuleKey("reco", "hits", "HitFinder")).size == 4


def test_a_module_that_did_not_run_is_absent_from_its_events(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    _sql(
        ART_SCHEMA
        + "INSERT INTO TimeModule VALUES (1,0,1,'p','a','A',0.1);"
        + "INSERT INTO TimeModule VALUES (1,0,2,'p','a','A',0.2);"
        + "INSERT INTO TimeModule VALUES (1,0,2,'end_path','o','RootOutput(write)',0.05);"
    )(path)
    db = TimeTrackerDB(path)

    np.testing.assert_allclose(db.group_times("output"), [0.05])  # event 1 was filtered out before output
    np.testing.assert_allclose(db.group_times("workers"), [0.1, 0.2])
    assert db.group_times("source").size == 0


def _sql(script: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        with closing(sqlite3.connect(path)) as connection:
            connection.executescript(script)

    return make


def _art_row(table: str, values: str) -> Callable[[Path], None]:
    """Art's schema and one row: for TimeModule ``values`` are Run, SubRun, Event, Path, Label, Type, Time."""
    return _sql(f"{ART_SCHEMA}INSERT INTO {table} VALUES ({values});")


CASES: list[tuple[str, Callable[[Path], object], str]] = [
    (
        "not sqlite",
        lambda p: p.write_text("Run,Event,Time\n1,1,0.5\n"),
        ": not an SQLite database (a file starting with b'Run,Even')",
    ),
    ("empty file", lambda p: p.write_bytes(b""), ": not an SQLite database (an empty file)"),
    ("a directory", lambda p: p.mkdir(), ": not a regular file"),
    ("missing table", _sql(ART_SCHEMA.split(";")[0] + ";"), ": no table TimeEvent"),
    (
        "wrong columns",
        _sql(ART_SCHEMA.replace("ModuleType text,", "")),
        ": table TimeModule has no column ModuleType",
    ),
    (
        "time not a number",
        _art_row("TimeModule", "1,0,1,'p','a','A','slow'"),
        ": TimeModule row 1 (Run 1, SubRun 0, Event 1): Time is the text 'slow', not a number of seconds",
    ),
    (
        "time missing",
        _art_row("TimeEvent", "1,0,1,NULL"),
        ": TimeEvent row 1 (Run 1, SubRun 0, Event 1): Time is NULL, not a number of seconds",
    ),
    (
        "infinite time",
        _art_row("TimeModule", "1,0,1,'p','a','A',9e999"),
        ": TimeModule row 1 (Run 1, SubRun 0, Event 1): Time is inf, not a finite number of seconds",
    ),
    (
        "negative time",
        _art_row("TimeSource", "1,0,1,'RootInput',-0.25"),
        ": TimeSource row 1 (Run 1, SubRun 0, Event 1): Time is -0.25: a time cannot be negative",
    ),
    (
        "huge time",
        _art_row("TimeModule", "1,0,1,'p','a','A',1e300"),
        ": TimeModule row 1 (Run 1, SubRun 0, Event 1): Time is 1e+300 s, more than 2.592e+06 s (30 days) "
        "per event",
    ),
    (
        "event id NULL",
        _art_row("TimeModule", "1,0,NULL,'p','a','A',0.5"),
        ": TimeModule row 1 (Run 1, SubRun 0): Event is NULL, not an integer",
    ),
    (
        "event id not an integer",
        _art_row("TimeModule", "1,0,2.5,'p','a','A',0.5"),
        ": TimeModule row 1 (Run 1, SubRun 0): Event is float 2.5, not an integer",
    ),
    (
        "run beyond uint32",
        _art_row("TimeEvent", "4294967296,0,1,0.5"),
        ": TimeEvent row 1 (SubRun 0, Event 1): Run is 4294967296, outside art's 0 to 4294967295",
    ),
    (
        "module label NULL",
        _art_row("TimeModule", "1,0,1,'p',NULL,'A',0.5"),
        ": TimeModule row 1 (Run 1, SubRun 0, Event 1): ModuleLabel is NULL, not text",
    ),
    (
        "module type a blob",
        _art_row("TimeModule", "1,0,1,'p','a',x'00ff',0.5"),
        ": TimeModule row 1 (Run 1, SubRun 0, Event 1): ModuleType is a blob of 2 bytes, not text",
    ),
    (
        "empty path",
        _art_row("TimeModule", "1,0,1,'','a','A',0.5"),
        ": TimeModule row 1 (Run 1, SubRun 0, Event 1): Path is empty",
    ),
]


@pytest.mark.parametrize(("name", "make", "message"), CASES, ids=[case[0] for case in CASES])
def test_unreadable_databases_name_the_file_and_the_problem(
    tmp_path: Path, name: str, make: Callable[[Path], object], message: str
) -> None:
    path = tmp_path / "timing.db"
    make(path)

    with pytest.raises(TimingDBError) as error:
        TimeTrackerDB(path)

    assert error.value.message == f"{path}{message}"
    assert error.value.hint


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TimingDBError, match=r"nothere\.db: no such timing database"):
        TimeTrackerDB(tmp_path / "nothere.db")


def test_the_row_number_counts_from_the_first_row_of_its_table(tmp_path: Path) -> None:
    path = write_art_db(tmp_path / "t.db", events=3)
    _sql("UPDATE TimeModule SET Time = -1 WHERE Event = 2 AND ModuleLabel = 'hits';")(path)
    with pytest.raises(TimingDBError) as error:
        TimeTrackerDB(path)
    # 5 modules per event: event 2's first module is row 6
    assert (
        error.value.message
        == f"{path}: TimeModule row 6 (Run 1, SubRun 0, Event 2): Time is -1: a time cannot be negative"
    )
