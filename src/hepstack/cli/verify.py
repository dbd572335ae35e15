"""``hepstack verify A B``: do two outputs (native vs container run) carry the same physics?

Exit 0 when equal, 1 when different (the first differences are printed), 2 when an input cannot be
compared (``error:``/``hint:`` from :func:`hepstack.cli.main`). The arguments are not checked by click
(``readable=False``): an unreadable path is hepstack's own input error with a hint, like every other.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated

import typer

from hepstack.cli import app

if TYPE_CHECKING:
    from hepstack.verify import Difference, VerifyReport


@app.command()
def verify(
    a: Annotated[
        str,
        typer.Argument(
            metavar="A",
            help="Reference output: a file or a directory (or root://HOST//PATH on xrootd).",
            show_default=False,
        ),
    ],
    b: Annotated[
        str,
        typer.Argument(
            metavar="B",
            help="Output to check against A (same kind as A; a path or root:// URL).",
            show_default=False,
        ),
    ],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print a machine-readable JSON report.")
    ] = False,
    rtol: Annotated[
        float, typer.Option("--rtol", help="Relative tolerance for floating-point data (numpy.isclose).")
    ] = 0.0,
    atol: Annotated[float, typer.Option("--atol", help="Absolute tolerance for floating-point data.")] = 0.0,
    ignore_header: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore-header",
            metavar="KEY",
            help="FITS header key to skip besides DATE, CHECKSUM, DATASUM (repeatable; DATE-* works).",
        ),
    ] = None,
    max_differences: Annotated[
        int,
        typer.Option("--max-differences", metavar="N", help="Show at most N differences (all are counted)."),
    ] = 20,
) -> None:
    """Compare two outputs: ROOT and FITS by content, other files byte for byte; directories file by file.

    Exit 0 equal, 1 different, 2 an input that cannot be read in full (see docs/verify.md).
    """
    from hepstack.inventory.evidence import record_verify
    from hepstack.verify import DEFAULT_IGNORED_HEADERS, VerifyOptions, compare_paths
    from hepstack.verify.remote import local_copy

    extra_headers = {key.upper() for key in ignore_header or []}
    options = VerifyOptions(
        rtol=rtol,
        atol=atol,
        ignore_headers=DEFAULT_IGNORED_HEADERS | extra_headers,
        max_differences=max_differences,
    )
    with local_copy(a, "A") as path_a, local_copy(b, "B") as path_b:
        report = compare_paths(path_a, path_b, options)
    report = replace(report, a=a, b=b)  # the URLs, not the temporary copies
    record_verify(report)  # the inventory's evidence (hepstack.inventory.evidence)
    if json_output:
        print(json.dumps(report.to_json_dict(), indent=2))
    else:
        print(render_report(report))
    if not report.equal:
        # SystemExit, not typer.Exit: main() runs the app with standalone_mode=False, where click *returns*
        # a typer.Exit code instead of exiting, and "different" must never look like success to a script.
        raise SystemExit(1)


def render_report(report: VerifyReport) -> str:
    """The human-readable report: verdict, then each difference with both values, then notes."""
    files = len(report.files_compared)
    compared = f"{files} file{'s' if files != 1 else ''} compared"
    lines: list[str] = []
    if report.equal:
        lines.append(f"equal: {report.a} and {report.b} have the same content ({compared})")
    else:
        count = report.difference_count
        lines.append(
            f"different: {count} difference{'s' if count != 1 else ''} between {report.a} and {report.b} "
            f"({compared})"
        )
        for difference in report.differences:
            lines.extend(_difference_lines(difference))
        if report.omitted_count:
            lines.append(
                f"  … and {report.omitted_count} more not shown (raise --max-differences, or use --json)"
            )
    lines.extend(f"note: {note}" for note in report.notes)
    return "\n".join(lines)


def _difference_lines(difference: Difference) -> list[str]:
    lines = [f"  {difference.file}: [{difference.kind}] {difference.location}"]
    lines.append(f"      A: {difference.a}")
    lines.append(f"      B: {difference.b}")
    if difference.detail:
        lines.extend(f"      {line}" for line in difference.detail.splitlines())
    return lines
