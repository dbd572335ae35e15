"""The TimeTracker DB matches art's schema exactly; the printout follows art's layout."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from conftest import run_cli

from lat.framework.timing import Statistics, format_summary, statistics

# art's TimeTracker (cetlib sqlite Ntuple) declares uint32 -> integer, string -> text, double -> numeric
ART_DDL = (
    "CREATE TABLE TimeSource(Run integer,SubRun integer,Event integer,Source text,Time numeric)",
    "CREATE TABLE TimeEvent(Run integer,SubRun integer,Event integer,Time numeric)",
    "CREATE TABLE TimeModule(Run integer,SubRun integer,Event integer,Path text,ModuleLabel text,"
    "ModuleType text,Time numeric)",
)
# PRAGMA table_info rows: (cid, name, type, notnull, dflt_value, pk).  SQLite >= 3.37 reports the
# declared types of standard names upper-cased, so types are compared case-insensitively here and
# exactly against a reference database built from art's DDL with the same SQLite.
EXPECTED = {
    "TimeSource": [
        (0, "Run", "integer", 0, None, 0),
        (1, "SubRun", "integer", 0, None, 0),
        (2, "Event", "integer", 0, None, 0),
        (3, "Source", "text", 0, None, 0),
        (4, "Time", "numeric", 0, None, 0),
    ],
    "TimeEvent": [
        (0, "Run", "integer", 0, None, 0),
        (1, "SubRun", "integer", 0, None, 0),
        (2, "Event", "integer", 0, None, 0),
        (3, "Time", "numeric", 0, None, 0),
    ],
    "TimeModule": [
        (0, "Run", "integer", 0, None, 0),
        (1, "SubRun", "integer", 0, None, 0),
        (2, "Event", "integer", 0, None, 0),
        (3, "Path", "text", 0, None, 0),
        (4, "ModuleLabel", "text", 0, None, 0),
        (5, "ModuleType", "text", 0, None, 0),
        (6, "Time", "numeric", 0, None, 0),
    ],
}


def test_schema_matches_art_exactly(tmp_path: Path) -> None:
    result = run_cli(
        [
            "artstudy",
            "-n",
            "3",
            "--timing-db",
            "timing.db",
            "-o",
            "study.root",
            "--set",
            "physics.producers.generate.length=1000",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(str(tmp_path / "timing.db")) as db:
        tables = [
            r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY rowid")
        ]
        assert tables == ["TimeSource", "TimeEvent", "TimeModule"]
        reference = sqlite3.connect(":memory:")
        for ddl in ART_DDL:
            reference.execute(ddl)
        for table, rows in EXPECTED.items():
            ours = db.execute(f"PRAGMA table_info({table})").fetchall()
            assert ours == reference.execute(f"PRAGMA table_info({table})").fetchall()
            assert [(c, n, t.lower(), nn, d, pk) for c, n, t, nn, d, pk in ours] == rows
        assert [r[0] for r in db.execute("SELECT sql FROM sqlite_master ORDER BY rowid")] == list(ART_DDL)
        assert db.execute("SELECT COUNT(*), MIN(Source), MAX(Source) FROM TimeSource").fetchone() == (
            3,
            "EmptySource",
            "EmptySource",
        )
        assert db.execute("SELECT COUNT(*) FROM TimeEvent").fetchone() == (3,)
        writes = db.execute(
            "SELECT DISTINCT Path, ModuleLabel, ModuleType FROM TimeModule WHERE ModuleType LIKE '%(write)'"
        ).fetchall()
        assert writes == [("end_path", "out", "RootOutput(write)")]
        paths = {r[0] for r in db.execute("SELECT DISTINCT Path FROM TimeModule")}
        assert paths == {"study", "end_path"}
        assert db.execute("SELECT MIN(Time) >= 0 FROM TimeModule").fetchone() == (1,)
    assert "TimeTracker printout (sec)" in result.stdout
    assert "end_path:out:RootOutput(write)" in result.stdout
    assert "source:EmptySource(read)" in result.stdout


def test_statistics_as_art_computes_them() -> None:
    stats = statistics("x", [4.0, 1.0, 3.0, 2.0])
    assert (stats.minimum, stats.mean, stats.maximum, stats.median, stats.count) == (1.0, 2.5, 4.0, 2.5, 4)
    assert abs(stats.rms - 1.118033988749895) < 1e-12  # population standard deviation


def test_printout_layout() -> None:
    full = Statistics("Full event", 1.0, 2.0, 3.0, 2.0, 0.5, 10)
    rows = [Statistics("p1:a:A", 0.5, 1.0, 1.5, 1.0, 0.25, 10)]
    lines = format_summary(full, rows).splitlines()
    width = 30 + 4 + 5 * 14 + 12
    assert lines[0] == "=" * width and lines[2] == "=" * width and lines[-1] == "=" * width
    assert lines[1].startswith("TimeTracker printout (sec)") and lines[1].split()[-6:] == [
        "Min",
        "Avg",
        "Max",
        "Median",
        "RMS",
        "nEvts",
    ]
    assert lines[3].startswith("Full event" + " " * 22) and lines[3].split()[2:] == [
        "1",
        "2",
        "3",
        "2",
        "0.5",
        "10",
    ]
    assert lines[4] == "-" * width
    assert lines[5].split() == ["p1:a:A", "0.5", "1", "1.5", "1", "0.25", "10"]
    assert format_summary(None, []).splitlines()[3] == "[ No processed events ]"
