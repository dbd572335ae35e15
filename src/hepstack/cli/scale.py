"""``hepstack scale run STUDY.yaml`` (many jobs at once through the scheduler), ``hepstack scale model``
(project measured per-job costs to a farm) and ``hepstack stage IMAGE --site SITE`` (load an image on
every node before a campaign)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from hepstack.cli import app, make_console

scale_app = typer.Typer(
    name="scale",
    help="Scaling tests: N concurrent jobs of one image through the real scheduler, per arm; "
    "start latency, per-event slowdown, throughput, failures, memory; and a model of the farm.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(scale_app, name="scale")


@scale_app.command("run")
def run(
    study: Annotated[Path, typer.Argument(metavar="STUDY", help="The scaling study file (YAML).")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Report directory (default: scale-<name>-<UTC time> here)."),
    ] = None,
) -> None:
    """Submit the study's arrays (each concurrency x arm, arms interleaved) and write its report."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from hepstack.context import Context
    from hepstack.scale.runner import run_scale_study
    from hepstack.scale.study import load_scale_study

    loaded = load_scale_study(study)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out = output or Path(f"scale-{loaded.name}-{stamp}")
    console = make_console()
    tasks: dict[str, TaskID] = {}
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as bar:

        def progress(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=done)

        outcome = run_scale_study(loaded, out.absolute(), Context.from_environment(), progress)
    console.print(outcome.report.with_name("table.txt").read_text(encoding="utf-8"), end="", markup=False)
    console.print(f"report: {outcome.report}  ({outcome.seconds:.0f} s)", markup=False)
    if outcome.failures:
        raise typer.Exit(1)
