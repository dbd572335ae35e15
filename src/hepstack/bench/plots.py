"""The study's figures, after the FNAL container study: per-module timing (Figure 2), workers vs output (3).

Figure 2: for each module, box plots of seconds/event per arm side by side (box = quartiles, whiskers =
5th-95th percentile, no outlier dots), log scale when the modules span more than a factor 30.
Figure 3: median seconds/event of the workers, the output modules and the source per arm, one panel
per group (each on its own scale: output is often 1000 times cheaper than the workers), with the
bootstrap interval of each median (at the study's confidence) as error bars and the relative speed
written above each bar.
matplotlib's object API with the Agg canvas: no pyplot state, no display needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hepstack.bench.analysis import Analysis, Row

MAX_MODULES = 20  # Figure 2 shows the slowest modules of the baseline beyond this many
COLORS = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C"]
DPI = 110


def write_plots(analysis: Analysis, directory: Path) -> list[tuple[str, Path]]:
    """Write the PNGs; return (caption, path) pairs in the order a report shows them."""
    plots: list[tuple[str, Path]] = []
    for index, workload in enumerate(analysis.workloads, start=1):
        rows = analysis.module_rows(workload)
        if rows:
            path = directory / f"figure2-{index}-{_slug(workload)}.png"
            caption = _figure2(analysis, workload, rows, path)
            plots.append((caption, path))
    if any(analysis.group_rows(w) for w in analysis.workloads):
        path = directory / "figure3-workers-output.png"
        plots.append((_figure3(analysis, path), path))
    return plots


def _figure2(analysis: Analysis, workload: str, rows: list[Row], path: Path) -> str:
    from matplotlib.figure import Figure

    shown = _slowest(rows, analysis.baseline)
    arms = analysis.arms
    width = 0.8 / len(arms)
    figure = Figure(figsize=(max(7.0, 0.55 * len(shown) * max(1, len(arms) / 2) + 2), 5.2), dpi=DPI)
    axes = figure.add_subplot()
    for arm_index, arm in enumerate(arms):
        positions, data = [], []
        for row_index, row in enumerate(shown):
            if arm in row.cells:
                positions.append(row_index + (arm_index - (len(arms) - 1) / 2) * width)
                data.append(row.cells[arm].estimate.pooled)
        if not data:
            continue
        color = COLORS[arm_index % len(COLORS)]
        parts = axes.boxplot(
            data,
            positions=positions,
            widths=width * 0.9,
            whis=(5, 95),
            showfliers=False,
            patch_artist=True,
            manage_ticks=False,
        )
        for box in parts["boxes"]:
            box.set(facecolor=color, alpha=0.75, edgecolor="black", linewidth=0.6)
        for median in parts["medians"]:
            median.set(color="black", linewidth=1.0)
        axes.plot([], [], color=color, linewidth=8, alpha=0.75, label=arm)
    axes.set_xticks(
        range(len(shown)), [_module_label(row) for row in shown], rotation=40, ha="right", fontsize=8
    )
    axes.set_ylabel("time per event (s)")
    if _span(shown) > 30:
        axes.set_yscale("log")
    axes.grid(axis="y", alpha=0.3)
    axes.legend(title="arm", fontsize=8)
    more = f" ({MAX_MODULES} slowest of {len(rows)})" if len(rows) > len(shown) else ""
    axes.set_title(f"Figure 2 - {workload}: time per event per module{more}", fontsize=10)
    figure.tight_layout()
    figure.savefig(path)
    return (
        f"Figure 2 - {workload}: seconds/event per module and arm{more}; box = quartiles, line = median, "
        "whiskers = 5th-95th percentile, repetitions pooled."
    )


def _figure3(analysis: Analysis, path: Path) -> str:
    from matplotlib.figure import Figure

    workloads = [w for w in analysis.workloads if analysis.group_rows(w)]
    columns = max(len(analysis.group_rows(w)) for w in workloads)
    figure = Figure(
        figsize=(max(3.2, 0.9 * len(analysis.arms) + 1.2) * columns, 3.6 * len(workloads)), dpi=DPI
    )
    grid = figure.subplots(len(workloads), columns, squeeze=False)
    for row_index, workload in enumerate(workloads):
        groups = analysis.group_rows(workload)
        for column, row in enumerate(groups):
            _group_panel(grid[row_index][column], analysis, row, column)
            grid[row_index][column].set_title(f"{workload}: {row.name}", fontsize=10)
        for column in range(len(groups), columns):
            grid[row_index][column].set_visible(False)
    figure.suptitle("Figure 3 - workers vs output: median time per event per arm", fontsize=11)
    figure.tight_layout()
    figure.savefig(path)
    return (
        "Figure 3 - median seconds/event of the workers (all non-output modules), the output modules and the "
        "source, per arm, each group on its own scale; error bars = bootstrap "
        f"{analysis.confidence_percent} interval of the median; "
        f"numbers = speed relative to {analysis.baseline} (* = interval excludes 1)."
    )


def _group_panel(axes: Any, analysis: Analysis, row: Row, color_index: int) -> None:
    arms = [arm for arm in analysis.arms if arm in row.cells]
    medians = [row.cells[arm].estimate.median for arm in arms]
    intervals = [row.cells[arm].estimate.interval() for arm in arms]
    low = [max(0.0, m - lo) for m, (lo, _hi) in zip(medians, intervals, strict=True)]
    high = [max(0.0, hi - m) for m, (_lo, hi) in zip(medians, intervals, strict=True)]
    axes.bar(range(len(arms)), medians, 0.7, yerr=[low, high], capsize=3,
             color=COLORS[color_index % len(COLORS)], alpha=0.85)  # fmt: skip
    for index, arm in enumerate(arms):
        score = row.cells[arm].score
        if score is not None:
            label = f"{score.relative_speed:.2f}" + ("*" if score.significant else "")
            axes.annotate(label, (index, medians[index] + high[index]), ha="center", va="bottom", fontsize=8,
                          xytext=(0, 2), textcoords="offset points")  # fmt: skip
    axes.set_xticks(
        range(len(arms)), arms, rotation=30 if len(arms) > 3 else 0, ha="right" if len(arms) > 3 else "center"
    )
    axes.set_ylabel("median time per event (s)")
    axes.set_ylim(0, max(m + h for m, h in zip(medians, high, strict=True)) * 1.15 or 1)
    axes.grid(axis="y", alpha=0.3)


def _slowest(rows: list[Row], baseline: str) -> list[Row]:
    """At most MAX_MODULES rows, the slowest in the baseline (or any arm), kept in job order."""
    if len(rows) <= MAX_MODULES:
        return rows

    def cost(row: Row) -> float:
        cell = row.cells.get(baseline) or next(iter(row.cells.values()))
        return cell.estimate.median

    keep = set(map(id, sorted(rows, key=cost, reverse=True)[:MAX_MODULES]))
    return [row for row in rows if id(row) in keep]


def _span(rows: list[Row]) -> float:
    medians = [
        cell.estimate.median for row in rows for cell in row.cells.values() if cell.estimate.median > 0
    ]
    return max(medians) / min(medians) if medians else 1.0


def _module_label(row: Row) -> str:
    if row.module is None:
        return row.name
    return f"{row.module.label} ({row.module.path})" if row.module.path else row.module.label


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)
