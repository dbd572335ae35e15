"""A corpus of malformed TimeTracker databases, and a checker that runs `bench compare`'s reading on each.

:func:`write_corpus` writes a few hundred files, each wrong in one way: not a database at all (empty,
random bytes, CSV, a cut or zeroed SQLite file, a directory, a FIFO, links to nowhere), the wrong schema
(a table or column missing, a view for a table), or one bad value in one row of art's schema (NULL, text,
a blob, inf, a negative or huge time, an id that is no uint32, an empty name). ``python -m
tests.bench.timing_corpus FOLDER`` writes it, compares each file against a good database the way
``hepstack bench compare`` does and prints one JSON line per file (tests/bench/test_timing_corpus.py).
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from tests.bench.helpers import ART_SCHEMA, write_art_db

COLUMNS = {
    "TimeSource": ("Run", "SubRun", "Event", "Source", "Time"),
    "TimeEvent": ("Run", "SubRun", "Event", "Time"),
    "TimeModule": ("Run", "SubRun", "Event", "Path", "ModuleLabel", "ModuleType", "Time"),
}
KINDS = {"Run": "id", "SubRun": "id", "Event": "id", "Time": "seconds"}  # the rest are names
# SQL literals each kind of column must refuse, in art's schema. Its column types convert some values on
# the way in (SQLite's type affinity: 3.0 and '7' become the integers 3 and 7 in an integer column, 42 the
# text '42' in a text column, '0.5' the number 0.5 in a numeric one), so those are cases only in
# UNTYPED_SCHEMA, whose columns keep what they are given. NaN cannot be stored as a number: SQLite
# binds it as NULL.
BAD_VALUES = {
    "id": ["NULL", "-1", "4294967296", "9223372036854775807", "1.5", "'abc'", "x'01'", "9e999"],
    "name": ["NULL", "x'ff00'", "''"],
    "seconds": [
        "NULL",
        "'slow'",
        "'NaN'",
        "'inf'",
        "-1e-9",
        "-5",
        "9e999",
        "-9e999",
        "1e300",
        "1e7",
        "x'00'",
    ],
}
BAD_ONLY_UNTYPED = {"id": ["3.0", "'7'"], "name": ["42", "1.5"], "seconds": ["'0.5'", "'1e-3'"]}
UNTYPED_SCHEMA = "".join(f"CREATE TABLE {table}({', '.join(columns)});" for table, columns in COLUMNS.items())


def write_corpus(folder: Path) -> list[Path]:
    """Every malformed database of the corpus, written below ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    template = _template(folder / "template.db", ART_SCHEMA)
    untyped = _template(folder / "untyped.db", UNTYPED_SCHEMA)
    rng = random.Random(20241211)
    paths: list[Path] = []

    def add(name: str, make: Callable[[Path], object]) -> None:
        path = folder / f"{len(paths):03d}-{name}"
        make(path)
        paths.append(path)

    _not_databases(add, template, rng)
    _wrong_schemas(add)
    for table, columns in COLUMNS.items():
        for column in columns:
            kind = KINDS.get(column, "name")
            for schema, values in ((template, BAD_VALUES[kind]), (untyped, BAD_ONLY_UNTYPED[kind])):
                for value in values:
                    for row in (0, rng.randrange(1, 4)):  # the first row and another one
                        name = f"{table}-{column}-{row}-{_slug(value)}.db"
                        add(name, _with_value(schema, table, column, value, row))
    return paths


def _slug(value: str) -> str:
    return "".join(c if c.isalnum() or c in ".-" else "_" for c in value)


def _template(path: Path, schema: str) -> bytes:
    """A valid database of 4 events in ``schema`` (art's rows, written by the tests' art-like writer)."""
    write_art_db(path, events=4)
    with closing(sqlite3.connect(path)) as connection:
        rows = {table: connection.execute(f"SELECT * FROM {table}").fetchall() for table in COLUMNS}
    path.unlink()
    with closing(sqlite3.connect(path)) as connection:
        connection.executescript(schema)
        for table, values in rows.items():
            marks = ", ".join("?" * len(COLUMNS[table]))
            connection.executemany(f"INSERT INTO {table} VALUES ({marks})", values)
        connection.commit()
    data = path.read_bytes()
    path.unlink()
    return data


def _not_databases(
    add: Callable[[str, Callable[[Path], object]], None], template: bytes, rng: random.Random
) -> None:
    add("empty.db", lambda p: p.write_bytes(b""))
    add("csv.db", lambda p: p.write_text("Run,SubRun,Event,Time\n1,0,1,0.5\n"))
    for index in range(4):
        add(f"random-{index}.db", lambda p: p.write_bytes(rng.randbytes(rng.randrange(1, 9000))))
    add("magic-only.db", lambda p: p.write_bytes(template[:16]))
    add("magic-and-garbage.db", lambda p: p.write_bytes(template[:16] + rng.randbytes(5000)))
    for cut in (50, 100, 1024, len(template) // 2, len(template) - 4096, len(template) - 1):
        add(f"cut-at-{cut}.db", lambda p, cut=cut: p.write_bytes(template[:cut]))
    add("pages-zeroed.db", lambda p: p.write_bytes(template[:100] + bytes(len(template) - 100)))
    add("directory.db", lambda p: p.mkdir())
    add("fifo.db", lambda p: os.mkfifo(p))
    add("dangling-link.db", lambda p: p.symlink_to("nowhere.db"))
    add("link-loop.db", lambda p: p.symlink_to(p.name))


def _wrong_schemas(add: Callable[[str, Callable[[Path], object]], None]) -> None:
    statements = [s.strip() for s in ART_SCHEMA.split(";") if s.strip()]
    add("no-tables.db", _script("CREATE TABLE Other(x integer);"))
    for index, table in enumerate(COLUMNS):
        others = ";".join(s for i, s in enumerate(statements) if i != index)
        add(f"no-{table}.db", _script(f"{others};"))
        view = f"CREATE TABLE Raw(x integer); CREATE VIEW {table} AS SELECT x FROM Raw"
        add(f"view-{table}.db", _script(f"{others};{view};"))
        for column in COLUMNS[table]:
            kept = ", ".join(f"{c} numeric" for c in COLUMNS[table] if c != column)
            add(f"{table}-without-{column}.db", _script(f"{others}; CREATE TABLE {table}({kept});"))
    add("no-module-rows.db", _script(ART_SCHEMA + "INSERT INTO TimeEvent VALUES (1,0,1,0.5);"))


def _script(sql: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        with closing(sqlite3.connect(path)) as connection:
            connection.executescript(sql)

    return make


def _with_value(template: bytes, table: str, column: str, value: str, row: int) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.write_bytes(template)
        target = f"(SELECT rowid FROM {table} LIMIT 1 OFFSET {row})"
        _script(f"UPDATE {table} SET {column} = {value} WHERE rowid = {target};")(path)

    return make


def check(good: Path, bad: Path, output: Path) -> dict[str, object]:
    """What ``bench compare good=GOOD bad=BAD -o OUTPUT`` raises before writing anything."""
    from hepstack.bench.workflow import compare_report
    from hepstack.errors import HepstackError

    try:
        compare_report(
            [f"good={good}", f"bad={bad}"], baseline=None, test="job", output=output, confidence=0.95
        )
    except HepstackError as error:
        outcome = {"outcome": "error", "message": error.message, "hint": error.hint}
    except BaseException as error:  # what the test exists to catch
        outcome = {"outcome": "exception", "message": f"{type(error).__name__}: {error}", "hint": None}
    else:
        outcome = {"outcome": "accepted", "message": "", "hint": None}
    return {"path": str(bad), **outcome, "wrote": output.exists()}


def main() -> None:
    folder = Path(sys.argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    good = write_art_db(folder / "good.db")
    for index, bad in enumerate(write_corpus(folder / "corpus")):
        print(json.dumps(check(good, bad, folder / f"report-{index}")), flush=True)


if __name__ == "__main__":
    main()
