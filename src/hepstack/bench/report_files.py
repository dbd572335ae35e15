"""The files of a bench report: table.md, summary.json, the PNG plots and report.html, each written whole.

Above both the report model (:mod:`hepstack.bench.report`) and its HTML page (:mod:`hepstack.bench.html`),
so neither imports the other's caller.
"""

from __future__ import annotations

import json
from pathlib import Path

from hepstack.bench.html import render_html
from hepstack.bench.plots import write_plots
from hepstack.bench.report import BenchReport, render_markdown, summary_json
from hepstack.private import write_atomically


def write_report(report: BenchReport, directory: Path, per_module: bool) -> Path:
    """Write table.md, summary.json, the PNG plots and report.html into ``directory``; return report.html."""
    directory.mkdir(parents=True, exist_ok=True)
    _write_atomic(directory / "table.md", render_markdown(report, per_module))
    _write_atomic(directory / "summary.json", json.dumps(summary_json(report), indent=2) + "\n")
    plots = write_plots(report.analysis, directory)
    page = directory / "report.html"
    _write_atomic(page, render_html(report, per_module, plots))
    return page


def _write_atomic(path: Path, text: str) -> None:
    write_atomically(str(path), text.encode(), 0o666)  # an output: readable as the umask allows
