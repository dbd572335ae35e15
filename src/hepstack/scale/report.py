"""The files of a scaling study: summary.json, table.txt, the PNG plots and one report.html.

Each is written whole (temp file + rename). The page embeds the PNGs, like bench's report
(:mod:`hepstack.bench.html`, whose style it uses), so it can be attached to a ticket.
"""

from __future__ import annotations

import base64
import json
from html import escape
from pathlib import Path

from hepstack.bench.html import STYLE
from hepstack.private import write_atomically
from hepstack.scale.summary import Point

COLUMNS = (
    "arm", "jobs", "failed", "events/s", "jobs/min", "wait p50", "start p50", "start p95", "start p99",
    "s/event p50", "slowdown [CI]", "vs native [CI]", "mem peak MB", "+MB", "job RSS MB",
)  # fmt: skip


def _seconds(values: dict[str, float] | None, key: str) -> str:
    return "-" if values is None else f"{values[key]:.3f}"


def _ratio(found: dict[str, object] | None, reference: str) -> str:
    """``1.234 [1.200, 1.270]``; ``reference`` for the point the others are compared with."""
    if found is None:
        return "-"
    interval = found["interval"]
    if not isinstance(interval, list):
        return reference
    return f"{found['slowdown']:.3f} [{interval[0]:.3f}, {interval[1]:.3f}]"


def table_rows(points: list[Point]) -> list[list[str]]:
    rows = []
    for point in points:
        data = point.to_json()
        per_event = data["per_event_s"]
        rows.append([
            f"{point.arm} x{point.concurrency}", str(point.jobs), str(point.jobs - point.succeeded),
            f"{point.events_per_s:.1f}", f"{point.jobs_per_min:.1f}",
            _seconds(data["queue_wait_s"], "p50"),  # type: ignore[arg-type]
            *(_seconds(data["start_latency_s"], key) for key in ("p50", "p95", "p99")),  # type: ignore[arg-type]
            "-" if per_event is None else f"{per_event['p50']:.5f}",  # type: ignore[index]
            _ratio(point.slowdown, "1 (reference)"), _ratio(point.versus_native, "-"),
            f"{point.memory_high_water_kb / 1024:.0f}", f"{point.memory_added_kb / 1024:.0f}",
            f"{point.maxrss_kb / 1024:.1f}",
        ])  # fmt: skip
    return rows


def render_table(points: list[Point], warmups: list[str] | None = None) -> str:
    rows = [list(COLUMNS), *table_rows(points)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(COLUMNS))]
    lines = ["  ".join(cell.rjust(width) if i else cell.ljust(width) for i, (cell, width) in
                       enumerate(zip(row, widths, strict=True))).rstrip() for row in rows]  # fmt: skip
    failures = [
        f"  {point.arm} x{point.concurrency}: {count} x {cause}"
        for point in points
        for cause, count in sorted(point.failures.items())
    ]
    extra = [f"warm-up (not counted above): {'; '.join(warmups)}"] if warmups else []
    return (
        "\n".join(lines + (["failures by cause:", *failures] if failures else ["failures: none"]) + extra)
        + "\n"
    )


def summary_json(name: str, run_info: dict[str, object], host: dict[str, object], points: list[Point],
                 jobs: list[dict[str, object]]) -> dict[str, object]:  # fmt: skip
    return {
        "study": name,
        "run": run_info,
        "host": host,
        "points": [point.to_json() for point in points],
        "failures": sum(point.jobs - point.succeeded for point in points),
        "jobs": jobs,
    }


def render_html(name: str, summary: dict[str, object], table: str, plots: list[tuple[str, Path]]) -> str:
    title = f"hepstack scale: {name}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p>{summary['failures']} failed job(s).</p>",
        f"<pre>{escape(table)}</pre>",
        "<h2>Figures</h2>",
    ]
    for caption, path in plots:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        parts.append(
            f'<figure><img src="data:image/png;base64,{data}" alt="{escape(caption)}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>"
        )
    for heading, key in (("Run", "run"), ("Host", "host")):
        values = summary[key]
        assert isinstance(values, dict)
        rows = "".join(
            f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>" for k, v in values.items()
        )
        parts.append(f"<h2>{heading}</h2><table>{rows}</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(
    directory: Path,
    name: str,
    run_info: dict[str, object],
    points: list[Point],
    jobs: list[dict[str, object]],
) -> Path:
    """Write summary.json, table.txt, the plots and report.html; return report.html."""
    from hepstack.bench.host import host_info
    from hepstack.scale.plots import write_plots

    directory.mkdir(parents=True, exist_ok=True)
    summary = summary_json(name, run_info, host_info(), points, jobs)
    warmups = run_info.get("warmups")
    table = render_table(points, [str(w) for w in warmups] if isinstance(warmups, list) else None)
    if run_info.get("stopped_before"):
        table += f"stopped before {run_info['stopped_before']}\n"
    _write(directory / "summary.json", json.dumps(summary, indent=2) + "\n")
    _write(directory / "table.txt", table)
    plots = write_plots(points, directory)
    page = directory / "report.html"
    _write(page, render_html(name, summary, table, plots))
    return page


def _write(path: Path, text: str) -> None:
    write_atomically(str(path), text.encode(), 0o666)
