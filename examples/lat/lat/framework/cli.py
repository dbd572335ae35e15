"""``lat-run`` and ``lat-config``: run a job configuration, find the shipped configurations."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from lat.framework.config import build_job_config, load_yaml, set_key
from lat.framework.errors import ConfigError, LatError
from lat.framework.jobreport import write_job_report
from lat.framework.loop import run_job
from lat.framework.module import METADATA_KEY

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


def shipped_configs() -> dict[str, Path]:
    return {p.stem: p for p in sorted(CONFIG_DIR.glob("*.yaml"))}


def resolve_config(name: str) -> Path:
    """A path to an existing file, or the name of a shipped configuration (``digi``)."""
    path = Path(name)
    if path.is_file():
        return path
    shipped = shipped_configs()
    stem = name[:-5] if name.endswith(".yaml") else name
    if "/" not in name and stem in shipped:
        return shipped[stem]
    raise LatError(
        f"configuration '{name}' is neither a file nor a shipped configuration",
        hint=f"shipped: {', '.join(shipped)}",
    )


def _parse_set(item: str) -> tuple[str, Any]:
    if "=" not in item:
        raise LatError(f"--set expects KEY.PATH=VALUE, got '{item}'")
    key, value = item.split("=", 1)
    try:
        return key.strip(), yaml.safe_load(value) if value else ""
    except yaml.YAMLError:  # e.g. '@lat/...' paths: take the text as a string
        return key.strip(), value


def apply_overrides(raw: dict[str, Any], args: argparse.Namespace, file: str) -> None:
    for item in args.set or []:
        key, value = _parse_set(item)
        set_key(raw, key, value, file)
    if args.events is not None:
        set_key(raw, "source.maxEvents", args.events, file)
    if args.seed is not None:
        set_key(raw, "services.RandomNumberGenerator.seed", args.seed, file)
    if args.source:
        set_key(raw, "source.fileNames", list(args.source), file)
    if args.timing_db is not None:
        set_key(raw, "services.TimeTracker.dbOutput.filename", args.timing_db, file)
    for item in args.metadata or []:
        key, equals, value = item.partition("=")
        if not equals or not METADATA_KEY.match(key):
            raise LatError(
                f"--metadata {item!r}: expected KEY=VALUE with KEY matching {METADATA_KEY.pattern}",
                hint="e.g. --metadata seed=5",
            )
        set_key(raw, f"services.Metadata.entries.{key}", value, file)  # text as given, not YAML
    for item in args.output or []:
        outputs = raw.get("outputs") or {}
        if "=" in item and item.split("=", 1)[0] in outputs:
            label, path = item.split("=", 1)
        elif len(outputs) == 1:
            label, path = next(iter(outputs)), item
        else:
            raise ConfigError(
                file,
                "outputs",
                f"-o {item}: name the output module as LABEL=PATH (labels: {', '.join(outputs)})",
            )
        set_key(raw, f"outputs.{label}.fileName", path, file)


def run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lat-run", description="Run a LAT job configuration.")
    parser.add_argument(
        "config", help="configuration file, or the name of a shipped one (see lat-config --list)"
    )
    parser.add_argument("-n", "--events", type=int, help="maximum number of events (source.maxEvents)")
    parser.add_argument("--seed", type=int, help="random seed (services.RandomNumberGenerator.seed)")
    parser.add_argument("-s", "--source", action="append", metavar="INPUT", help="input file (repeatable)")
    parser.add_argument("-o", "--output", action="append", metavar="[LABEL=]PATH", help="output file name")
    parser.add_argument("--timing-db", metavar="PATH", help="write the TimeTracker database here")
    parser.add_argument(
        "--set", action="append", metavar="KEY.PATH=VALUE", help="override any configuration key"
    )
    parser.add_argument(
        "--metadata",
        action="append",
        metavar="KEY=VALUE",
        help="a string every ROOT output carries as a TObjString key (services.Metadata.entries)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="do not print the timing summary")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = run_parser().parse_args(argv)
    try:
        path = resolve_config(args.config)
        display = args.config if Path(args.config).is_file() else str(path)
        raw = load_yaml(path, display)
        apply_overrides(raw, args, display)
        if args.quiet and "TimeTracker" in (raw.get("services") or {}):
            set_key(raw, "services.TimeTracker.printSummary", False, display)
        config = build_job_config(raw, display)
        report = run_job(config, sys.stdout)
    except LatError as exc:
        print(f"lat-run: error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"lat-run: hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # the disk, not the configuration: a full disk, an unwritable directory
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"lat-run: error: {where}{exc.strerror or exc}; no output was kept", file=sys.stderr)
        return 1
    if args.timing_db:
        write_job_report(Path(f"{args.timing_db}.job.json"))
    written = ", ".join(f"{label}: {n}" for label, n in report.written.items())
    print(f"lat-run: {config.process_name}: {report.events} events processed; written {written or 'none'}")
    return 0


def config_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="lat-config", description="Print the path of a shipped configuration."
    )
    parser.add_argument("name", nargs="?", help="configuration name, e.g. digi")
    parser.add_argument("--list", action="store_true", help="list the shipped configurations")
    args = parser.parse_args(argv)
    if args.list or not args.name:
        for name, path in shipped_configs().items():
            print(f"{name}\t{path}")
        return 0
    try:
        print(resolve_config(args.name))
    except LatError as exc:
        print(f"lat-config: error: {exc.message}\nlat-config: hint: {exc.hint}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
