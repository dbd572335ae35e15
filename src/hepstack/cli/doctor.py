"""`hepstack doctor`: what works on this host."""

from __future__ import annotations

from typing import Annotated

import typer

from hepstack.cli import app, make_console


@app.command()
def doctor(
    image: Annotated[
        str | None, typer.Option(help="Image for start-latency runs (default: newest in the catalog).")
    ] = None,
    repeats: Annotated[int, typer.Option(min=1, help="Runs per runtime for the latency median.")] = 5,
) -> None:
    """Check engines, runtimes, schedulers and VMs: what works here, why the rest doesn't, start latency."""
    from rich.table import Table

    from hepstack.catalog import Catalog
    from hepstack.context import Context
    from hepstack.doctor import check_runtimes, host_facts

    console = make_console()
    context = Context.from_environment()
    if image is None:
        newest = Catalog(context.catalog_path).list(limit=1)
        image = newest[0].reference if newest else None
    facts = Table("host", "", show_header=False)
    for name, value in host_facts():
        facts.add_row(name, value)
    console.print(facts)
    table = Table(
        "runtime",
        "works",
        "start latency (median)",
        "detail",
        title=f"runtimes (latency of `true` in {image or 'no image'})",
    )
    reports = check_runtimes(image, context, repeats)
    for report in reports:
        latency = f"{report.latency_ms:.0f} ms" if report.latency_ms is not None else "-"
        table.add_row(report.name, "[green]yes[/]" if report.works else "[red]no[/]", latency, report.detail)
    console.print(table)
    from hepstack.batch.health import check_schedulers

    schedulers = Table(
        "scheduler", "answers", "detail", title="batch schedulers (hepstack submit --scheduler)"
    )
    for scheduler in check_schedulers():
        answers = "[green]yes[/]" if scheduler.answers else "[red]no[/]"
        schedulers.add_row(scheduler.name, answers, scheduler.detail)
    console.print(schedulers)
    from hepstack.vm.health import check_vm

    machines = Table(
        "vm", "works", "detail", title="virtual machines (hepstack vm run, export --format qcow2)"
    )
    for check in check_vm():
        machines.add_row(check.item, "[green]yes[/]" if check.works else "[red]no[/]", check.detail)
    console.print(machines)
