"""A corpus of malformed timing databases (tests/bench/timing_corpus.py): every one is refused with
``error:`` and a hint, exit 2, before anything is written; none raises another exception, hangs (a FIFO
is among them) or needs unbounded memory; extreme but valid databases still give a report."""

from __future__ import annotations

import json
import resource
import sqlite3
import subprocess
import sys
from collections import Counter
from contextlib import closing
from pathlib import Path

import pytest

from tests.bench.helpers import run_cli, write_art_db
from tests.bench.timing_corpus import write_corpus

REPO = Path(__file__).resolve().parents[2]
MEMORY_LIMIT = 2 * 1024**3  # address space of the checking process: reading must not need more
TIME_LIMIT = 300  # seconds for the whole corpus; it takes about 3 here


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def test_every_malformed_database_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    checker = subprocess.run(
        [sys.executable, "-m", "tests.bench.timing_corpus", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT,
        preexec_fn=_limit_memory,
        check=False,
    )
    assert checker.returncode == 0, checker.stderr
    results = [json.loads(line) for line in checker.stdout.splitlines()]

    assert len(results) >= 300
    assert Counter(result["outcome"] for result in results) == {"error": len(results)}, [
        result for result in results if result["outcome"] != "error"
    ]
    for result in results:
        assert result["path"] in result["message"], result
        assert result["hint"], result
        assert not result["wrote"], result


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("corpus")
    return {path.name.split("-", 1)[1]: path for path in write_corpus(folder / "corpus")} | {
        "good": write_art_db(folder / "good.db")
    }


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("fifo.db", ": not a regular file"),
        ("cut-at-8192.db", ": cut short: 2 pages of the 4 its header records"),
        (
            "TimeModule-Time-0-9e999.db",
            ": TimeModule row 1 (Run 1, SubRun 0, Event 1): Time is inf, not a finite",
        ),
        ("TimeModule-Event-0-NULL.db", ": TimeModule row 1 (Run 1, SubRun 0): Event is NULL, not an integer"),
        ("view-TimeEvent.db", ": no table TimeEvent"),
    ],
)
def test_the_command_line_exits_two_with_error_and_hint(
    corpus: dict[str, Path], tmp_path: Path, name: str, message: str
) -> None:
    bad, output = corpus[name], tmp_path / "report"

    result = run_cli(
        "bench", "compare", f"native={corpus['good']}", f"x={bad}", "--output", str(output), timeout=60
    )

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"error: {bad}{message}")
    assert lines[-1].startswith("hint: ")
    assert not output.exists()


def _scaled(path: Path, sql: str) -> Path:
    write_art_db(path)
    with closing(sqlite3.connect(path)) as connection:
        connection.executescript(sql)
    return path


def test_extreme_but_valid_databases_give_a_report(tmp_path: Path) -> None:
    """30 days per event, subnormal seconds, zeros and the largest uint32 ids are all valid art output:
    a report, with no warning and no traceback (an infinite ratio is shown as n/a, not plotted)."""
    every = "UPDATE TimeModule SET Time={0}; UPDATE TimeEvent SET Time={0}; UPDATE TimeSource SET Time={0};"
    slowest = _scaled(tmp_path / "slowest.db", every.format(30 * 24 * 3600))
    tiniest = _scaled(tmp_path / "tiniest.db", every.format("5e-324"))
    zero = _scaled(tmp_path / "zero.db", every.format(0))  # no relative speed: n/a
    ids = _scaled(tmp_path / "ids.db", "UPDATE TimeModule SET Run = 4294967295, Event = Event + 4294967000;")

    for pair in ((slowest, tiniest), (ids, zero)):
        output = tmp_path / f"report-{pair[0].stem}-{pair[1].stem}"
        result = run_cli("bench", "compare", f"a={pair[0]}", f"b={pair[1]}", "--output", str(output))

        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        assert (output / "figure3-workers-output.png").stat().st_size > 0
