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


@scale_app.command("model")
def model(
    summary_files: Annotated[
        list[Path], typer.Argument(metavar="SUMMARY...", help="summary.json of `scale run` (one or more).")
    ],
    arm: Annotated[str, typer.Option(help="The arm to fit.")] = "podman",
    fit_at: Annotated[
        str, typer.Option("--fit", help="Concurrencies to fit, comma-separated; the others check it.")
    ] = "1,10,50",
    stage_s: Annotated[float, typer.Option(help="Seconds of one image pull/conversion per node.")] = 0.0,
    l1_job_s: Annotated[float, typer.Option(help="Wall seconds of one L1 crumb job.")] = 2.2,
    mc_job_s: Annotated[float, typer.Option(help="Wall seconds of one MC job.")] = 3600.0,
    cores_per_node: Annotated[int, typer.Option(help="Cores of one farm node.")] = 32,
) -> None:
    """Fit the farm model to a scaling study, check it on the other concurrencies, project L1 and MC."""
    import json

    from hepstack.errors import HepstackError
    from hepstack.scale.model import Costs, check, fit, l1_and_mc, project

    try:
        loaded = [json.loads(path.read_text(encoding="utf-8")) for path in summary_files]
        summary = {
            "host": loaded[0]["host"],
            "points": [point for one in loaded for point in one["points"]],
            "jobs": [job for one in loaded for job in one["jobs"]],
        }
        concurrencies = [int(text) for text in fit_at.split(",")]
        fitted = fit(summary, arm, concurrencies)
    except (OSError, ValueError, KeyError) as exc:
        raise HepstackError(
            f"cannot fit the model to {', '.join(map(str, summary_files))}: {exc}",
            hint="give the summary.json of `hepstack scale run`, an arm of it and two of its concurrencies",
        ) from None
    console = make_console()
    console.print(
        f"fit ({arm} at {fitted.concurrencies}): dispatch {fitted.dispatch_jobs_per_s:.1f} jobs/s, start "
        f"{fitted.start_s0:.3f} s + {fitted.start_s1 * 1000:.1f} ms x concurrent jobs, per event "
        f"{fitted.per_event_s * 1000:.3f} ms + {fitted.per_event_growth_s * 1e6:.2f} us x k, "
        f"fixed {fitted.job_fixed_s:.2f} s/job",
        markup=False,
        soft_wrap=True,
    )
    for item in check(fitted, summary):
        console.print(
            f"check x{item.concurrency}: {item.quantity}: predicted {item.predicted:.4g}, measured "
            f"{item.measured:.4g} (ratio {item.ratio:.2f})",
            markup=False,
            soft_wrap=True,
        )
    # start contention is CPU work on the node (podman's, ch-run's): per concurrent job it shrinks with
    # the node's cores, so the growth measured on this host is scaled to the farm's nodes
    costs = Costs(
        fitted.dispatch_jobs_per_s, fitted.start_s1 * fitted.cores / cores_per_node, fitted.start_s0, stage_s
    )
    for farm in l1_and_mc(l1_job_s, mc_job_s, cores_per_node):
        result = project(farm, costs)
        shown = ", ".join(f"{name} {rate:.3g}" for name, rate in result.capacities.items())
        console.print(
            f"{farm.name}: {farm.jobs} jobs on {farm.cores} cores: capacities (jobs/s) {shown}; first "
            f"bottleneck: {result.bottleneck}; makespan {result.makespan_s:.0f} s; remedy: {result.remedy}",
            markup=False,
            soft_wrap=True,
        )


@app.command("stage")
def stage(
    image: Annotated[str, typer.Argument(help="STACK/LAYER or an engine reference.")],
    runtime: Annotated[str, typer.Option(help="The runtime the nodes' jobs will use.")] = "podman",
    site: Annotated[str | None, typer.Option(help="Site profile (scheduler, queue, resources).")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Scheduler, without a site.")] = None,
    queue: Annotated[str | None, typer.Option(help="Queue or partition.")] = None,
    nodes: Annotated[str | None, typer.Option(help="Nodes, comma-separated (default: all).")] = None,
    archive: Annotated[
        Path | None, typer.Option(help="An image archive on a shared file system (else: pull).")
    ] = None,
) -> None:
    """One job per node loads IMAGE where that node's jobs find it (store, node cache, SIF)."""
    from hepstack.context import Context
    from hepstack.scale.stage import stage as stage_nodes

    results = stage_nodes(
        image, runtime, Context.from_environment(), site=site, scheduler=scheduler, queue=queue,
        nodes=nodes.split(",") if nodes else None, archive=archive.absolute() if archive else None,
    )  # fmt: skip
    console = make_console()
    failed = 0
    for result in results:
        if result.report is None:
            failed += 1
            console.print(f"{result.node}: job {result.job} wrote no report; see {result.log}", markup=False)
            continue
        report = result.report
        extra = f", tree sha256 {str(report['checksum'])[:16]}" if "checksum" in report else ""
        console.print(
            f"{result.node}: {report['runtime']}: {report['action']} in {report['seconds']} s "
            f"(job {result.job}){extra}",
            markup=False,
            soft_wrap=True,
        )
    if failed:
        raise typer.Exit(1)


@scale_app.command("stage-here", hidden=True)
def stage_here(
    image: Annotated[str, typer.Argument()],
    runtime: Annotated[str, typer.Option()] = "podman",
    archive: Annotated[Path | None, typer.Option()] = None,
) -> None:
    """What a stage job runs on its node (one JSON line)."""
    import json

    from hepstack.context import Context
    from hepstack.scale.stage import REPORT_PREFIX
    from hepstack.scale.stage import stage_here as prepare_here

    report = prepare_here(image, runtime, Context.from_environment(), archive)
    print(REPORT_PREFIX + json.dumps(report, sort_keys=True))
