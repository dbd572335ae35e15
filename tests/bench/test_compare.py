"""``hepstack bench compare``: Table 2, summary.json, plots and report.html from existing timing DBs."""

from __future__ import annotations

import base64
import json
import re
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import hepstack.cli.bench  # noqa: F401  (registers the command on the shared app)
from hepstack.cli import app
from hepstack.errors import HepstackError
from tests.bench.helpers import ART_SCHEMA, run_cli, write_art_db

runner = CliRunner()


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """native (2 repetitions), docker 2 % slower, shifter 25 % faster, per module --per-module."""
    root = tmp_path_factory.mktemp("compare")
    native = [write_art_db(root / f"native{i}.db", scale=1.0) for i in (1, 2)]
    docker = write_art_db(root / "docker.db", scale=1.02)
    shifter = write_art_db(root / "shifter.db", scale=0.8)
    output = root / "report"
    result = runner.invoke(
        app,
        [
            "bench", "compare",
            f"native={native[0]}", f"docker={docker}", f"native={native[1]}", f"shifter={shifter}",
            "--per-module", "--output", str(output), "--test", "reco",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.stdout, output


def _row(text: str, test: str, modules: str) -> list[str]:
    for line in text.splitlines():
        cells = [cell.strip() for cell in re.split(r"[│|]", line)[1:-1]]
        if cells[:2] == [test, modules]:
            return cells
    raise AssertionError(f"no row {test} / {modules} in\n{text}")


def test_table_has_table2_columns_and_speeds(compared: tuple[str, Path]) -> None:
    stdout, _ = compared

    assert "speed relative to native [95 % CI]" in stdout
    assert "median time (sec/event)" in stdout
    workers_native = _row(stdout, "native", "workers")
    assert workers_native[3] == "1 (baseline)"
    # every module scaled alike: shifter takes 0.8 of native's time -> 1.25x as fast, clearly
    speed = _row(stdout, "shifter", "workers")[3]
    assert speed.startswith("1.250 [") and speed.endswith("*")
    assert _row(stdout, "docker", "output")[3].startswith("0.980 [")


def test_rows_keyed_by_path_label_and_type(compared: tuple[str, Path]) -> None:
    stdout, output = compared
    markdown = (output / "table.md").read_text()

    for text in (stdout, markdown):
        assert "reco:tracks:TrackFitter" in text
        assert "ana:tracks:TrackFitter" in text  # the same label on another path stays its own row
        assert "end_path:out:RootOutput(write)" in text
    assert float(_row(markdown, "native", "`ana:tracks:TrackFitter`")[2]) == pytest.approx(
        0.030 * 1.205, rel=0.02
    )
    assert float(_row(markdown, "native", "`reco:tracks:TrackFitter`")[2]) == pytest.approx(
        0.050 * 1.205, rel=0.02
    )


def test_summary_json(compared: tuple[str, Path]) -> None:
    _, output = compared
    summary = json.loads((output / "summary.json").read_text())

    assert summary["schema"] == "hepstack.bench/1"
    assert summary["baseline"] == "native"
    assert list(summary["arms"]) == ["native", "docker", "shifter"]
    assert {"hostname", "cpu_model", "logical_cores", "memory_bytes", "kernel", "os"} <= set(summary["host"])
    assert summary["run_info"]["hepstack_version"]
    native = summary["arms"]["native"]["workloads"]["reco"]
    assert len(summary["arms"]["native"]["timing_dbs"]) == 2
    workers = native["groups"]["workers"]
    assert workers["stats"]["n"] == 80  # two repetitions of 40 events, pooled
    assert len(workers["repetition_medians"]) == 2
    assert set(workers["stats"]) == {"n", "median", "mean", "min", "max", "rms", "p5", "p95"}
    shifter = summary["arms"]["shifter"]["workloads"]["reco"]["groups"]["workers"]["score"]
    assert shifter["relative_speed"] == pytest.approx(1.25) and shifter["significant"] is True
    modules = {(m["path"], m["label"], m["type"]) for m in native["modules"]}
    assert ("ana", "tracks", "TrackFitter") in modules and ("reco", "tracks", "TrackFitter") in modules
    assert [m["output"] for m in native["modules"] if m["label"] == "out"] == [True]


def test_html_is_self_contained_with_table_and_plots(compared: tuple[str, Path]) -> None:
    _, output = compared
    html = (output / "report.html").read_text()

    assert "<table" in html and "reco:tracks:TrackFitter" in html and "speed relative to native" in html
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 2  # Figure 2 (per module) and Figure 3 (workers vs output)
    assert all(base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n") for data in images)
    assert 'src="http' not in html and "<link" not in html


def test_png_plots_open(compared: tuple[str, Path]) -> None:
    from PIL import Image

    _, output = compared
    pngs = sorted(output.glob("*.png"))

    assert [p.name for p in pngs] == ["figure2-1-reco.png", "figure3-workers-output.png"]
    for png in pngs:
        with Image.open(png) as image:
            image.verify()
            assert image.size[0] > 400 and image.size[1] > 300


def test_baseline_option(tmp_path: Path) -> None:
    a, b = write_art_db(tmp_path / "a.db"), write_art_db(tmp_path / "b.db", scale=2.0)

    result = runner.invoke(app, ["bench", "compare", f"fast={a}", f"slow={b}", "--baseline", "slow",
                                 "--output", str(tmp_path / "r")])  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "speed relative to slow" in result.stdout
    assert _row(result.stdout, "fast", "workers")[3].startswith("2.000 [")


def test_confidence_option_widens_the_intervals(tmp_path: Path) -> None:
    native = [f"native={write_art_db(tmp_path / f'n{round}.db')}" for round in (1, 2, 3)]
    docker = [f"docker={write_art_db(tmp_path / f'd{round}.db', scale=scale)}"
              for round, scale in ((1, 1.1), (2, 1.2), (3, 1.12))]  # fmt: skip
    summaries = {}
    for confidence in ("0.9", "0.99"):
        output = tmp_path / confidence
        result = runner.invoke(app, ["bench", "compare", *native, *docker,
                                     "--confidence", confidence, "--output", str(output)])  # fmt: skip
        assert result.exit_code == 0, result.output
        assert f"speed relative to native [{float(confidence) * 100:g} % CI]" in result.stdout
        summaries[confidence] = json.loads((output / "summary.json").read_text())

    def width(summary: dict[str, Any]) -> float:
        low, high = summary["arms"]["docker"]["workloads"]["job"]["groups"]["workers"]["score"]["interval"]
        return float(high - low)

    assert summaries["0.99"]["statistics"]["confidence"] == 0.99
    assert width(summaries["0.99"]) > 2 * width(summaries["0.9"]) > 0  # t quantiles 9.92 vs 2.92


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["native"], "bad argument 'native'"),
        (["native={db}", "--baseline", "docker"], "--baseline docker is not one of the labels"),
        (["native={db}", "docker={tmp}/nothere.db"], "nothere.db: no such timing database"),
        (["native={db}", "docker={tmp}/notes.txt"], "notes.txt: not an SQLite database"),
        (["native={db}", "docker={tmp}/empty.db"], "empty.db has no module timings"),
        (["native={db}", "--confidence", "95"], "--confidence 95.0 is out of range"),
    ],
)
def test_bad_arguments_and_unreadable_databases(tmp_path: Path, args: list[str], message: str) -> None:
    db = write_art_db(tmp_path / "n.db")
    (tmp_path / "notes.txt").write_text("not a database\n")
    with closing(sqlite3.connect(tmp_path / "empty.db")) as connection:
        connection.executescript(ART_SCHEMA)
    filled = [arg.format(db=db, tmp=tmp_path) for arg in args]

    result = runner.invoke(app, ["bench", "compare", *filled, "--output", str(tmp_path / "r")])

    assert isinstance(result.exception, HepstackError), result.output
    assert message in result.exception.message.replace(str(tmp_path) + "/", "")
    assert not (tmp_path / "r").exists()  # nothing written for a failed comparison


def test_cli_reports_an_unreadable_database_without_traceback(tmp_path: Path) -> None:
    db = write_art_db(tmp_path / "n.db")
    broken = tmp_path / "broken.db"
    with closing(sqlite3.connect(broken)) as connection:
        connection.execute("CREATE TABLE TimeModule(Run integer, Event integer, Time numeric)")

    result = run_cli("bench", "compare", f"native={db}", f"docker={broken}", "--output", str(tmp_path / "r"))

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: {broken}: no table TimeSource",
        "hint: art's TimeTracker writes TimeSource, TimeEvent and TimeModule; this file has: TimeModule",
    ]
