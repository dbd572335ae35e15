"""The study's report: Table 2 (terminal and ``table.md``), ``summary.json``, plots and ``report.html``.

Table 2 of the FNAL container study has the columns test, modules, median time (sec/event) and speed
relative to native (larger is faster); here the speed carries its confidence interval (95 % unless the
study says otherwise) and a ``*`` when that interval excludes 1. One table per workload; rows per group
(workers, output, source) and, with ``per_module``, per module (``path:label:type``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from hepstack.bench.analysis import Analysis, Cell, Row

if TYPE_CHECKING:
    from rich.table import Table

    from hepstack.bench.verdict import Verdict

SCHEMA = "hepstack.bench/1"


@dataclass
class BenchReport:
    """Everything a report shows; built from a study run or from existing timing databases."""

    name: str
    mode: Literal["study", "compare"]
    analysis: Analysis
    run_info: dict[str, object]
    host: dict[str, object]
    arm_info: dict[str, dict[str, object]] = field(default_factory=dict)  # runtime, image, start latency
    runs: dict[tuple[str, str], list[dict[str, object]]] = field(default_factory=dict)  # (arm, workload)
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def baseline(self) -> str:
        return self.analysis.baseline


@dataclass(frozen=True)
class TableRow:
    workload: str
    test: str
    modules: str
    median: str
    speed: str
    significant: bool


def table_rows(analysis: Analysis, per_module: bool) -> list[TableRow]:
    rows: list[TableRow] = []
    for workload in analysis.workloads:
        chosen = analysis.group_rows(workload) + (analysis.module_rows(workload) if per_module else [])
        for row in chosen:
            for arm in analysis.arms:
                cell = row.cells.get(arm)
                if cell is not None:
                    rows.append(_table_row(row, arm, cell, analysis.baseline))
    return rows


def _table_row(row: Row, arm: str, cell: Cell, baseline: str) -> TableRow:
    median = f"{cell.estimate.median:.4g}"
    if arm == baseline:
        speed = "1 (baseline)"
    elif cell.score is None:
        speed = "n/a"
    else:
        s = cell.score
        speed = f"{s.relative_speed:.3f} [{s.low:.3f}, {s.high:.3f}]" + (" *" if s.significant else "")
    return TableRow(
        row.workload, arm, row.name, median, speed, cell.score is not None and cell.score.significant
    )


def speed_header(analysis: Analysis) -> str:
    return f"speed relative to {analysis.baseline} [{analysis.confidence_percent} CI]"


def legend(analysis: Analysis) -> str:
    baseline = analysis.baseline
    return (
        f"Time: median of per-event seconds, all repetitions pooled. Speed relative to {baseline}, larger "
        f"is faster: median({baseline}) / median(arm) in each round, geometric 20 % trimmed mean over "
        f"rounds; [{analysis.confidence_percent} interval from the rounds: Yuen's t under 10 rounds, "
        "bootstrap from 10; from the events for a single round]; * = the interval excludes 1."
    )


def render_markdown(report: BenchReport, per_module: bool) -> str:
    analysis = report.analysis
    lines = [f"# hepstack bench: {report.name}", "", legend(analysis), ""]
    rows = table_rows(analysis, per_module)
    for workload in analysis.workloads:
        lines += [f"## {workload}", ""]
        lines += [
            f"| test | modules | median time (sec/event) | {speed_header(analysis)} |",
            "|---|---|---:|---|",
        ]
        lines += [
            f"| {r.test} | `{r.modules}` | {r.median} | {r.speed} |" for r in rows if r.workload == workload
        ]
        lines.append("")
    if report.verdicts:
        lines += ["## Outputs compared with the baseline", ""]
        lines += [f"- {line}" for line in verdict_lines(report)]
        lines.append("")
    return "\n".join(lines)


def rich_tables(report: BenchReport, per_module: bool) -> list[Table]:
    from rich.table import Table

    analysis = report.analysis
    rows = table_rows(analysis, per_module)
    tables = []
    for workload in analysis.workloads:
        table = Table(title=f"{report.name}: {workload}", caption=legend(analysis), caption_justify="left")
        table.add_column("test")
        table.add_column("modules")
        table.add_column("median time (sec/event)", justify="right")
        table.add_column(speed_header(analysis))
        for row in rows:
            if row.workload == workload:
                table.add_row(
                    row.test, row.modules, row.median, row.speed, style="bold" if row.significant else None
                )
        tables.append(table)
    return tables


def verdict_lines(report: BenchReport) -> list[str]:
    """Per (workload, arm): equal in all repetitions, or how many differ and the first differences."""
    lines = []
    pairs = dict.fromkeys((v.workload, v.arm) for v in report.verdicts)
    for workload, arm in pairs:
        mine = [v for v in report.verdicts if v.workload == workload and v.arm == arm]
        head = f"{workload} / {arm} vs {report.baseline}: "
        if not any(v.checked for v in mine):
            lines.append(head + "nothing compared: no output file matches the workload's `outputs` globs")
            continue
        if all(v.equal for v in mine):
            files = len(mine[0].files_compared)
            each = f"{files} file{'s' * (files != 1)} each"
            lines.append(head + f"equal in all {len(mine)} repetitions ({each})")
            continue
        bad = [v for v in mine if not v.equal]
        lines.append(
            head
            + f"DIFFERENT in {len(bad)} of {len(mine)} repetitions: "
            + "; ".join(f"rep {v.repetition}: {v.text()}" for v in bad)
        )
        for difference in bad[0].differences:
            lines.append(
                f"  rep {bad[0].repetition} {difference['file']}: [{difference['kind']}] "
                f"{difference['location']}: {difference['a']} vs {difference['b']}"
            )
    return lines


def summary_json(report: BenchReport) -> dict[str, object]:
    analysis = report.analysis
    return {
        "schema": SCHEMA,
        "run_info": report.run_info,
        "host": report.host,
        "baseline": analysis.baseline,
        "statistics": {
            "estimator": "median of per-event seconds, all repetitions pooled",
            "relative_speed": f"median({analysis.baseline}) / median(arm) of the two runs in each round, "
            "geometric 20 % trimmed mean over rounds (a round cut from each end from 5 rounds); with a "
            "single round the ratio of the medians (method 'events'); larger is faster",
            "confidence": analysis.confidence,
            "interval": "percentile bootstrap over 10 or more rounds (method 'rounds'), Yuen's trimmed-mean "
            "Student t over 2-9 rounds (method 'rounds-t'), bootstrap over events with a single round "
            "(method 'events'; it ignores run-to-run spread); the median's interval: bootstrap over "
            "repetitions, then events inside them",
            "resamples": analysis.resamples,
            "seed": analysis.seed,
        },
        "arms": {arm: _arm_json(report, arm) for arm in analysis.arms},
    }


def _arm_json(report: BenchReport, arm: str) -> dict[str, object]:
    workloads: dict[str, object] = {}
    for workload in report.analysis.workloads:
        groups = {
            row.name: _cell_json(row.cells[arm])
            for row in report.analysis.group_rows(workload)
            if arm in row.cells
        }
        modules = [
            {
                "path": row.module.path,
                "label": row.module.label,
                "type": row.module.module_type,
                "output": row.module.is_output,
                **_cell_json(row.cells[arm]),
            }
            for row in report.analysis.module_rows(workload)
            if arm in row.cells and row.module is not None
        ]
        verdicts = [v for v in report.verdicts if v.workload == workload and v.arm == arm]
        workloads[workload] = {
            "groups": groups,
            "modules": modules,
            "repetitions": report.runs.get((arm, workload), []),
            "process": process_medians(report.runs.get((arm, workload), [])),
            "verify": None
            if not verdicts
            else {
                "equal": all(v.equal for v in verdicts),
                "runs": [v.to_json() for v in verdicts],
            },
        }
    return {**report.arm_info.get(arm, {}), "workloads": workloads}


def _cell_json(cell: Cell) -> dict[str, object]:
    return {
        "stats": cell.estimate.summary.to_json(),
        "median_interval": list(cell.estimate.interval()),
        "repetition_medians": cell.estimate.repetition_medians,
        "score": None if cell.score is None else cell.score.to_json(),
    }


def process_medians(runs: list[dict[str, object]]) -> dict[str, float] | None:
    """Median over repetitions of the whole-process wall time, CPU and peak RSS."""
    import statistics

    resources = [run["resources"] for run in runs if isinstance(run.get("resources"), dict)]
    if not resources:
        return None
    keys = ("wall_s", "cpu_user_s", "cpu_sys_s", "maxrss_kb")
    return {key: statistics.median(float(r[key]) for r in resources) for key in keys}  # type: ignore[index]
