"""``report.html``: one self-contained page (inline CSS, PNGs as data: URIs) to attach to a ticket or mail."""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from hepstack.bench.report import (
    BenchReport,
    legend,
    process_medians,
    speed_header,
    table_rows,
    verdict_lines,
)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.significant td { font-weight: bold; }
code { font-size: 0.9em; }
img { max-width: 100%; border: 1px solid #eee; }
.different { color: #b00; font-weight: bold; }
.equal { color: #080; }
"""


def render_html(report: BenchReport, per_module: bool, plots: list[tuple[str, Path]]) -> str:
    title = f"hepstack bench: {report.name}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p>{escape(legend(report.analysis))}</p>",
        *_tables(report, per_module),
        *_verdicts(report),
        *_plots(plots),
        "<h2>Arms</h2>",
        _arms_table(report),
        *_processes_table(report),
        "<h2>Run</h2>",
        _key_values(report.run_info),
        "<h2>Host</h2>",
        _key_values(report.host),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _tables(report: BenchReport, per_module: bool) -> list[str]:
    rows = table_rows(report.analysis, per_module)
    parts = []
    for workload in report.analysis.workloads:
        parts.append(f"<h2>{escape(workload)}</h2>")
        parts.append(
            '<table class="table2"><tr><th>test</th><th>modules</th><th>median time (sec/event)</th>'
            f"<th>{escape(speed_header(report.analysis))}</th></tr>"
        )
        for row in rows:
            if row.workload != workload:
                continue
            marker = ' class="significant"' if row.significant else ""
            parts.append(
                f"<tr{marker}><td>{escape(row.test)}</td><td><code>{escape(row.modules)}</code></td>"
                f'<td class="num">{escape(row.median)}</td><td>{escape(row.speed)}</td></tr>'
            )
        parts.append("</table>")
    return parts


def _verdicts(report: BenchReport) -> list[str]:
    if not report.verdicts:
        note = (
            ""
            if report.mode == "compare"
            else "<p>No workload lists <code>outputs</code>; nothing compared.</p>"
        )
        return ["<h2>Outputs compared with the baseline</h2>", note] if note else []
    items = []
    for line in verdict_lines(report):
        css = "different" if "DIFFERENT" in line else "equal" if ": equal" in line else ""
        items.append(f'<li class="{css}">{escape(line)}</li>')
    return ["<h2>Outputs compared with the baseline</h2>", "<ul>", *items, "</ul>"]


def _plots(plots: list[tuple[str, Path]]) -> list[str]:
    parts = ["<h2>Figures</h2>"] if plots else []
    for caption, path in plots:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        parts.append(
            f'<figure><img src="data:image/png;base64,{data}" alt="{escape(caption)}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>"
        )
    return parts


def _arms_table(report: BenchReport) -> str:
    rows = ["<table><tr><th>arm</th><th>runtime</th><th>image</th><th>start latency (s)</th></tr>"]
    for arm in report.analysis.arms:
        info = report.arm_info.get(arm, {})
        image = info.get("image")
        shown = ""
        if isinstance(image, dict):
            shown = " ".join(str(image[key]) for key in ("reference", "id") if image.get(key))
        latency = info.get("start_latency_s")
        median = latency.get("median") if isinstance(latency, dict) else None
        rows.append(
            f"<tr><td>{escape(arm)}</td><td>{escape(str(info.get('runtime', '')))}</td>"
            f"<td><code>{escape(shown)}</code></td>"
            f'<td class="num">{"" if median is None else f"{median:.3f}"}</td></tr>'
        )
    rows.append("</table>")
    return "\n".join(rows)


def _processes_table(report: BenchReport) -> list[str]:
    """Whole-process medians over repetitions: wall, CPU, peak RSS, and where CPU and RSS come from."""
    if not report.runs:
        return []
    rows = [
        "<h3>Whole process (median over repetitions)</h3>",
        "<table><tr><th>arm</th><th>workload</th><th>wall (s)</th><th>CPU user (s)</th><th>CPU sys (s)</th>"
        "<th>peak RSS (MB)</th><th>CPU and RSS from</th></tr>",
    ]
    for (arm, workload), runs in report.runs.items():
        medians = process_medians(runs)
        if medians is None:
            continue
        source = str(runs[0].get("resources_from", ""))
        rows.append(
            f"<tr><td>{escape(arm)}</td><td>{escape(workload)}</td>"
            + "".join(
                f'<td class="num">{value:.3f}</td>'
                for value in (medians["wall_s"], medians["cpu_user_s"], medians["cpu_sys_s"])
            )
            + f'<td class="num">{medians["maxrss_kb"] / 1024:.1f}</td><td>{escape(source)}</td></tr>'
        )
    rows.append("</table>")
    return rows


def _key_values(values: dict[str, object]) -> str:
    rows = [
        f"<tr><th>{escape(key)}</th><td>{escape(_text(value))}</td></tr>" for key, value in values.items()
    ]
    return "<table>" + "".join(rows) + "</table>"


def _text(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(str(item) for item in value)
    return "" if value is None else str(value)
