"""``hepstack bench STUDY`` and ``hepstack bench compare LABEL=TIMING.db ...``: is the container as fast?

``bench STUDY`` is short for ``bench run STUDY``: the group sends a first word that is not one of its
subcommands to ``run``, so a study file can be named directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from hepstack.bench.stats import CONFIDENCE
from hepstack.cli import app

if TYPE_CHECKING:
    from rich.console import Console

    from hepstack.bench.report import BenchReport


class StudyByDefault(TyperGroup):
    """A group whose default subcommand is ``run``: ``bench STUDY [OPTIONS]`` means ``bench run STUDY``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["run", *args]
        return super().parse_args(ctx, args)


bench_app = typer.Typer(
    cls=StudyByDefault,
    name="bench",
    help="Time workloads natively and in containers (per-module median sec/event, Table 2, plots, HTML).\n\n"
    "hepstack bench STUDY.yaml (short for: bench run STUDY.yaml) runs a study; "
    "hepstack bench compare LABEL=TIMING.db ... compares existing art TimeTracker databases.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(bench_app, name="bench")

PerModule = Annotated[
    bool, typer.Option("--per-module", help="Add one table row per module (path:label:type).")
]
Output = Annotated[
    Path | None,
    typer.Option(
        "--output", "-o", help="Report directory (default: bench-<name>-<UTC time> here).", show_default=False
    ),
]


@bench_app.command("run")
def run(
    study: Annotated[
        Path, typer.Argument(metavar="STUDY", help="The study file (YAML).", show_default=False)
    ],
    output: Output = None,
    per_module: PerModule = False,
    events: Annotated[int | None, typer.Option(min=1, help="Events per run (overrides the file).")] = None,
    repetitions: Annotated[
        int | None, typer.Option(min=1, help="Measured runs per arm (overrides the file).")
    ] = None,
    arms: Annotated[
        str | None, typer.Option(help="Only these arms, comma-separated (the baseline must be one).")
    ] = None,
    keep_outputs: Annotated[
        bool,
        typer.Option(
            "--keep-outputs",
            help="Keep every run's output files (default: deleted once verified and checksummed; "
            "timing databases stay).",
        ),
    ] = False,
) -> None:
    """Run STUDY: warm-up, start latency, interleaved measured runs, output verification, report.

    Example: hepstack bench examples/lat/studies/art-study.yaml --arms native,podman --repetitions 3
    """
    from hepstack.bench.report_files import write_report
    from hepstack.bench.workflow import study_report
    from hepstack.context import Context

    chosen = [name.strip() for name in arms.split(",") if name.strip()] if arms else None
    progress_console = _console(stderr=True)
    report, directory = study_report(
        study,
        output=output,
        events=events,
        repetitions=repetitions,
        arms=chosen,
        context=Context.from_environment(),
        progress=lambda line: progress_console.print(f"bench: {line}", highlight=False, markup=False),
        keep_outputs=keep_outputs,
    )
    page = write_report(report, directory, per_module)
    _show(report, per_module, page)


@bench_app.command("compare")
def compare(
    pairs: Annotated[
        list[str],
        typer.Argument(
            metavar="LABEL=TIMING.db...",
            help="Repeat a label for repetitions; the n-th database of each label makes round n.",
            show_default=False,
        ),
    ],
    baseline: Annotated[str | None, typer.Option(help="The reference label (default: the first).")] = None,
    test: Annotated[str, typer.Option(help="Name of the job in the table's title.")] = "job",
    confidence: Annotated[
        float, typer.Option(help="Confidence level of the intervals, between 0.5 and 1.")
    ] = CONFIDENCE,
    output: Output = None,
    per_module: PerModule = False,
) -> None:
    """Compare existing art TimeTracker databases (from art or LArSoft jobs run elsewhere).

    Example: hepstack bench compare native=n.db docker=d.db shifter=s.db --per-module
    """
    from hepstack.bench.report_files import write_report
    from hepstack.bench.workflow import compare_report

    report, directory = compare_report(
        pairs, baseline=baseline, test=test, output=output, confidence=confidence
    )
    page = write_report(report, directory, per_module)
    _show(report, per_module, page)


def _show(report: BenchReport, per_module: bool, page: Path) -> None:
    from hepstack.bench.report import rich_tables, verdict_lines
    from hepstack.inventory.evidence import record_bench

    record_bench(page.parent)  # both `bench run` and `bench compare`: the inventory's evidence

    console = _console(stderr=False)
    for table in rich_tables(report, per_module):
        console.print(table)
    for line in verdict_lines(report):
        console.print(f"outputs: {line}", highlight=False, markup=False)
    console.print(f"report: {page}", highlight=False, markup=False, soft_wrap=True)


def _console(*, stderr: bool) -> Console:
    from rich.console import Console

    console = Console(stderr=stderr)
    if not console.is_terminal:
        console = Console(stderr=stderr, width=160)  # CI logs: wide enough that Table 2 does not wrap
    return console
