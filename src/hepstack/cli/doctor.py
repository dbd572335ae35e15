"""`hepstack doctor`: what works on this host."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from hepstack.cli import app, make_console

if TYPE_CHECKING:
    from hepstack.context import Context
    from hepstack.doctor import RuntimeReport


@app.command()
def doctor(
    image: Annotated[
        str | None, typer.Option(help="Image for start-latency runs (default: newest in the catalog).")
    ] = None,
    repeats: Annotated[int, typer.Option(min=1, help="Runs per runtime for the latency median.")] = 5,
    compare: Annotated[
        bool,
        typer.Option(
            "--compare",
            help="Compare the runtimes: privilege model, whose uid, batch systems, image formats and "
            "caching, what a site installs, and this host's start latency (measured now, and recorded) "
            "and speed relative to native from the newest study.",
        ),
    ] = False,
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
    if compare:
        _compare(check_runtimes(image, context, repeats), image, context)
        return
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


def _compare(reports: list[RuntimeReport], image: str | None, context: Context) -> None:
    """The runtime comparison: one column per runtime, one row per aspect, this host's figures last."""
    from rich.table import Table

    from hepstack.inventory.compare import ASPECTS, compare_runtimes
    from hepstack.inventory.evidence import record_latency

    measured = {report.name: report.latency_ms for report in reports if report.latency_ms is not None}
    if measured:
        record_latency(measured, image, context)
    rows = compare_runtimes(context, measured=measured)
    table = Table("", *(row.name for row in rows), title="runtimes compared (hepstack doctor --compare)")
    table.add_row("works here", *(("yes" if row.works else "no: " + row.detail) for row in rows))
    for label, _ in ASPECTS:
        table.add_row(label, *(row.facts[label] for row in rows))
    table.add_row("hepstack's options", *(row.isolation for row in rows))
    table.add_row(
        "start latency here",
        *((f"{row.latency_ms:.0f} ms" if row.latency_ms is not None else "-") for row in rows),
    )
    table.add_row("speed vs native [95 % CI]", *(row.speed for row in rows))
    table.add_row("jobs run here", *("; ".join(row.ran_here) or "-" for row in rows), end_section=True)
    console = make_console()
    console.print(table)
    for row in rows:
        if row.latency_ms is not None or row.speed != "-":
            line = f"{row.name}: latency from {row.latency_from}; speed from {row.speed_from}"
            console.print(line, markup=False, soft_wrap=True)
