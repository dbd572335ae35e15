"""The scaling figures: start latency and per-event slowdown vs concurrency, throughput, a timeline.

Same machinery as bench's figures (:mod:`hepstack.bench.plots`): matplotlib's object API on the Agg
canvas, its colours and resolution, log-scaled concurrency axes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hepstack.bench.plots import COLORS, DPI
from hepstack.scale.summary import Point


def write_plots(points: list[Point], directory: Path) -> list[tuple[str, Path]]:
    """Write the PNGs; return (caption, path) pairs in the order the report shows them."""
    arms = list(dict.fromkeys(point.arm for point in points))
    plots = [
        (_latency(points, arms, directory / "start-latency.png"), directory / "start-latency.png"),
        (_slowdown(points, arms, directory / "slowdown.png"), directory / "slowdown.png"),
        (_throughput(points, arms, directory / "throughput.png"), directory / "throughput.png"),
        (_timeline(points, arms, directory / "timeline.png"), directory / "timeline.png"),
    ]
    return plots


def _figure(width: float = 6.4, height: float = 4.2) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI)
    return figure, figure.add_subplot()


def _concurrency_axis(axes: Any, points: list[Point]) -> None:
    values = sorted({point.concurrency for point in points})
    if values[-1] / values[0] > 10:
        axes.set_xscale("log")
    axes.set_xticks(values, [str(value) for value in values])
    axes.set_xlabel("concurrent jobs")
    axes.grid(alpha=0.3)


def _series(points: list[Point], arm: str) -> list[Point]:
    return [point for point in points if point.arm == arm]


def _latency(points: list[Point], arms: list[str], path: Path) -> str:
    import numpy as np

    figure, axes = _figure()
    for index, arm in enumerate(arms):
        mine = [point for point in _series(points, arm) if point.start_latency_s]
        if not mine:
            continue
        x = [point.concurrency for point in mine]
        p50, p95, p99 = (
            [float(np.percentile(point.start_latency_s, q)) for point in mine] for q in (50, 95, 99)
        )
        color = COLORS[index % len(COLORS)]
        axes.plot(x, p50, "o-", color=color, label=f"{arm} p50")
        axes.plot(x, p95, "s--", color=color, alpha=0.7, label=f"{arm} p95")
        axes.plot(x, p99, ":", color=color, alpha=0.5, label=f"{arm} p99")
    _concurrency_axis(axes, points)
    axes.set_ylabel("start latency (s)")
    axes.legend(fontsize=7, ncol=2)
    axes.set_title("Container start latency vs concurrency", fontsize=10)
    figure.tight_layout()
    figure.savefig(path)
    return (
        "Start latency (job script exec'ing the runtime to the first command inside) per arm: p50, p95, p99."
    )


def _slowdown(points: list[Point], arms: list[str], path: Path) -> str:
    figure, axes = _figure()
    for index, arm in enumerate(arms):
        mine = [point for point in _series(points, arm) if point.slowdown is not None]
        if not mine:
            continue
        x = [point.concurrency for point in mine]
        values = [float(point.slowdown["slowdown"]) for point in mine]  # type: ignore[index,arg-type]
        intervals = [point.slowdown["interval"] or (1.0, 1.0) for point in mine]  # type: ignore[index]
        low = [max(0.0, v - float(i[0])) for v, i in zip(values, intervals, strict=True)]  # type: ignore[index]
        high = [max(0.0, float(i[1]) - v) for v, i in zip(values, intervals, strict=True)]  # type: ignore[index]
        axes.errorbar(x, values, yerr=[low, high], fmt="o-", capsize=3, color=COLORS[index % len(COLORS)],
                      label=arm)  # fmt: skip
    axes.axhline(1.0, color="black", linewidth=0.6)
    _concurrency_axis(axes, points)
    axes.set_ylabel("median time per event / at lowest concurrency")
    axes.legend(fontsize=8)
    axes.set_title("Per-event slowdown vs concurrency", fontsize=10)
    figure.tight_layout()
    figure.savefig(path)
    return (
        "Per-event slowdown: median seconds/event at each concurrency over the arm's own at the lowest; "
        "error bars = interval of hepstack.bench.stats.score. On a 2-core host, N jobs share 2 cores."
    )


def _throughput(points: list[Point], arms: list[str], path: Path) -> str:
    figure, axes = _figure()
    for index, arm in enumerate(arms):
        mine = _series(points, arm)
        axes.plot([p.concurrency for p in mine], [p.events_per_s for p in mine], "o-",
                  color=COLORS[index % len(COLORS)], label=arm)  # fmt: skip
    _concurrency_axis(axes, points)
    axes.set_ylabel("events per second (submission to last end)")
    axes.legend(fontsize=8)
    axes.set_title("Throughput vs concurrency", fontsize=10)
    figure.tight_layout()
    figure.savefig(path)
    return "Throughput: succeeded jobs' events over the makespan (array submitted to its last job's end)."


def _timeline(points: list[Point], arms: list[str], path: Path) -> str:
    import numpy as np

    figure, axes = _figure(7.2, 4.2)
    top = max(points, key=lambda point: point.concurrency).concurrency
    for index, arm in enumerate(arms):
        mine = [p for p in _series(points, arm) if p.concurrency == top and p.intervals]
        if not mine:
            continue
        intervals = mine[0].intervals
        origin = min(start for start, _ in intervals)
        changes = sorted([(s - origin, 1) for s, _ in intervals] + [(e - origin, -1) for _, e in intervals])
        times = np.array([t for t, _ in changes])
        running = np.cumsum([step for _, step in changes])
        axes.step(times, running, where="post", color=COLORS[index % len(COLORS)], label=arm)
    axes.set_xlabel("seconds since the first job started")
    axes.set_ylabel("jobs running")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    axes.set_title(f"Jobs running at concurrency {top} (all repetitions)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path)
    return f"Timeline at concurrency {top}: jobs running (launch to end of each job), per arm."
