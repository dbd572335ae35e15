"""``lat-l1 plan ...``, ``lat-l1 delivery ...`` and ``lat-l1 steps``: the production side of lat-l1."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from lat.framework.errors import LatError
from lat.proc.crumbs import L1PROC_CRUMB_EVENTS, L1PROC_CRUMB_RATIO, L1PROC_MAX_CRUMBS, CrumbRules
from lat.proc.manifest import load_delivery
from lat.proc.planners import (
    DEFAULT_CALIB,
    PlanSettings,
    checked_path,
    plan_chunks,
    plan_crumbs,
    plan_mc,
    plan_runs,
)
from lat.proc.steps import L1_STEPS, MC_STEP, StepCommand
from lat.proc.summary import SUMMARY_ENV, Summary, summary_destination, write_summary


def _settings_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("delivery", help="the delivery directory (it holds delivery.json)")
    common.add_argument("--out", required=True, help="the output directory OUT (OUT/r000001/...)")
    common.add_argument(
        "--digi-from",
        metavar="DIR",
        help="reprocess: read digi from this earlier OUT (default: OUT, i.e. L1)",
    )
    common.add_argument(
        "--calib", default=DEFAULT_CALIB, help=f"recon's calibration file (default {DEFAULT_CALIB})"
    )
    common.add_argument(
        "--crumb-min-average",
        type=int,
        default=L1PROC_CRUMB_EVENTS,
        metavar="EVENTS",
        help=f"L1Proc crumbSize: fewest events per crumb on average ({L1PROC_CRUMB_EVENTS})",
    )
    common.add_argument(
        "--crumb-max-count",
        type=int,
        default=L1PROC_MAX_CRUMBS,
        metavar="N",
        help=f"L1Proc maxCrumbs: most crumbs per chunk ({L1PROC_MAX_CRUMBS})",
    )
    common.add_argument(
        "--crumb-size-ratio",
        default=L1PROC_CRUMB_RATIO,
        metavar="RATIO",
        help=f"L1Proc crumbMmr: largest / smallest crumb ({L1PROC_CRUMB_RATIO})",
    )
    return common


def _summary_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--summary",
        metavar="PATH",
        help=f"write the pipeline summary here (default: ${SUMMARY_ENV}, else stdout)",
    )
    return options


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lat-l1", description="L1 production: planners, steps, native runs."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    settings, summary = _settings_options(), _summary_options()
    plan = commands.add_parser("plan", help="write a pipeline summary (substreams and variables)")
    levels = plan.add_subparsers(dest="level", required=True)
    for level, parents, text in (
        ("runs", [settings, summary], "one 'run' substream per run of the delivery"),
        ("reprocess", [settings, summary], "as runs, reading digi from an earlier L1 output (--digi-from)"),
        ("chunks", [settings, summary], "one 'chunk' substream per raw chunk of --run"),
        ("crumbs", [settings, summary], "one 'crumb' substream per crumb of --run/--chunk"),
    ):
        sub = levels.add_parser(level, parents=parents, help=text, description=text)
        sub.add_argument(
            "--pipeline",
            default=level.rstrip("s") if level != "reprocess" else "run",
            help="the sub-pipeline the substreams belong to",
        )
        if level in ("chunks", "crumbs"):
            sub.add_argument("--run", type=int, required=True, metavar="RUN_ID")
        if level == "crumbs":
            sub.add_argument("--chunk", type=int, required=True, metavar="CHUNK_ID")
    mc = levels.add_parser("mc", parents=[summary], help="one 'job' substream per MC production job (lat-mc)")
    mc.add_argument("--jobs", type=int, required=True)
    mc.add_argument("--first-seed", type=int, default=1)
    mc.add_argument("--events", type=int, required=True, help="events per job")
    mc.add_argument("--out", required=True)
    mc.add_argument("--calib", default=DEFAULT_CALIB)
    mc.add_argument("--pipeline", default="job")
    delivery = commands.add_parser(
        "delivery", parents=[settings], help="run a delivery through L1 natively (the pipeline's reference)"
    )
    delivery.add_argument(
        "--prefix", default="", help="put in front of every step (shell-split; {image}: its image)"
    )
    delivery.add_argument("--jobs", type=int, default=2, help="step processes at once")
    steps = commands.add_parser("steps", help="print the step command lines the pipeline runs")
    steps.add_argument("--json", action="store_true")
    return parser


def settings_from(args: argparse.Namespace) -> PlanSettings:
    try:
        rules = CrumbRules(args.crumb_min_average, args.crumb_max_count, args.crumb_size_ratio)
    except ValueError as exc:
        raise LatError(str(exc), hint="see lat-l1 plan crumbs --help") from None
    out = checked_path(args.out, "--out")
    digi_from = checked_path(args.digi_from, "--digi-from") if args.digi_from else out
    delivery = load_delivery(checked_path(args.delivery, "delivery"))
    return PlanSettings(delivery, out, digi_from, args.calib, rules)


def _plan(args: argparse.Namespace) -> Summary:
    if args.level == "mc":
        return plan_mc(
            args.jobs,
            args.first_seed,
            args.events,
            checked_path(args.out, "--out"),
            args.calib,
            args.pipeline,
        )
    settings = settings_from(args)
    if args.level == "reprocess":
        if not settings.reprocessing:
            raise LatError(
                "plan reprocess needs --digi-from DIR, an earlier L1 output other than --out",
                hint="the original outputs stay untouched: write the reprocessing to a new --out",
            )
        return plan_runs(settings, args.pipeline)
    if args.level == "runs":
        return plan_runs(settings, args.pipeline)
    if args.level == "chunks":
        return plan_chunks(settings, args.run, args.pipeline)
    return plan_crumbs(settings, args.run, args.chunk, args.pipeline)


def _print_steps(as_json: bool) -> None:
    table: list[tuple[str, StepCommand]] = [("l1", s) for s in L1_STEPS] + [("mc", MC_STEP)]
    if as_json:
        rows = [
            {
                "pipeline": pipeline,
                "step": s.name,
                "level": s.level,
                "image": f"lat/{s.image}",
                "argv": list(s.argv),
                "gathers": s.gathers,
                "output": s.output,
                "after": list(s.after),
                "reprocess": s.reprocess,
            }
            for pipeline, s in table
        ]
        print(json.dumps(rows, indent=1))
        return
    for pipeline, s in table:
        notes = [f"lat/{s.image}"] + ([f"after {', '.join(s.after)}"] if s.after else [])
        if pipeline == "l1" and not s.reprocess:
            notes.append("not in reprocessing")
        print(f"{s.level}.{s.name} ({'; '.join(notes)}):\n    {s.text()}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "steps":
            _print_steps(args.json)
            return 0
        if args.command == "delivery":
            from lat.proc.native import run_delivery

            if args.jobs < 1:
                raise LatError(f"--jobs {args.jobs}: at least one step must run at a time")

            return run_delivery(settings_from(args), args)
        write_summary(_plan(args), summary_destination(args.summary))
    except LatError as exc:
        print(f"lat-l1: error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"lat-l1: hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"lat-l1: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0
