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


CASES: list[tuple[str, Callable[[Path], object], str]] = [
    ("not sqlite", lambda p: p.write_text("Run,Event,Time\n1,1,0.5\n"), "is not an SQLite database"),
    ("empty file", lambda p: p.write_bytes(b""), "is not an SQLite database"),
    ("missing table", _sql(ART_SCHEMA.split(";")[0] + ";"), "no table TimeEvent"),
    (
        "wrong columns",
        _sql(ART_SCHEMA.replace("ModuleType text,", "")),
        "table TimeModule has no column ModuleType",
    ),
    (
        "time not a number",
        _sql(ART_SCHEMA + "INSERT INTO TimeModule VALUES (1,0,1,'p','a','A','slow');"),
        "a Time value is not a number",
    ),
    (
        "time missing",
        _sql(ART_SCHEMA + "INSERT INTO TimeEvent VALUES (1,0,1,NULL);"),
        "a Time value is empty (NULL)",
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

    assert str(path) in error.value.message
    assert message in error.value.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TimingDBError, match="does not exist"):
        TimeTrackerDB(tmp_path / "nothere.db")
