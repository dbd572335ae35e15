"""``lat-calib``: load calibration versions into the calibration database, and list what it holds.

    lat-calib load --db mysql://lat@127.0.0.1:3306/latcalib --password /etc/lat/calibdb-writer.cnf
    lat-calib load --db URL --password FILE --tag v3 --runs 1000-1999 my_constants.yaml
    lat-calib list --db URL --password FILE

Without FILE and --tag, ``load`` loads the example's two versions for every run: ``v1`` (the release's
constants, lat/calib/calib_v1.yaml) and ``v2`` (the changed ones of the reprocessing, calib_v2.yaml).
Loading the same tag and first run again replaces that interval (the tool is idempotent). The password
is read from the file (or secret name) given to --password, never taken from the command line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from lat.calib import database
from lat.framework.errors import LatError

CALIB_DIR = Path(__file__).resolve().parent
EXAMPLE_VERSIONS = {"v1": CALIB_DIR / "calib_v1.yaml", "v2": CALIB_DIR / "calib_v2.yaml"}


def _runs(text: str) -> tuple[int, int]:
    first, sep, last = text.partition("-")
    if not (sep and first.isascii() and first.isdigit() and last.isascii() and last.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r} is not FIRST-LAST (run numbers)")
    return int(first), int(last)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lat-calib", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("load", "list"):
        command = commands.add_parser(name)
        command.add_argument("--db", required=True, help=database.URL_RULE)
        command.add_argument(
            "--password",
            required=True,
            help="the password's file (option file or one line), or a secret name",
        )
    load = commands.choices["load"]
    load.add_argument("--tag", help="the calibration version (default: the example's v1 and v2)")
    load.add_argument("--runs", type=_runs, default=(0, database.MAX_RUN), help="FIRST-LAST (default: all)")
    load.add_argument("file", nargs="?", type=Path, help="calibration YAML (default: the tag's shipped file)")
    return parser


def _load(args: argparse.Namespace, endpoint: database.Endpoint) -> None:
    from lat.steps.recon import calibration_label, load_calibration

    if args.tag is None and args.file is not None:
        raise LatError("a calibration file needs its --tag", hint="e.g. --tag v3 FILE")
    versions = {args.tag: args.file or EXAMPLE_VERSIONS.get(args.tag)} if args.tag else EXAMPLE_VERSIONS
    first, last = args.runs
    with database.connect(endpoint, args.password, autocommit=False) as connection:
        database.create_schema(connection)
        for tag, path in versions.items():
            if path is None:
                raise LatError(f"no shipped file for tag {tag}", hint="give the calibration YAML file")
            calib = load_calibration(path)
            database.store_interval(connection, tag, first, last, calib)
            print(f"lat-calib: {tag} runs {first}-{last}: {calibration_label(calib)} ({Path(path).name})")
        connection.commit()


def _list(endpoint: database.Endpoint, password: str) -> None:
    with database.connect(endpoint, password) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT tag, first_run, last_run, name, version, LEFT(sha256, 16) FROM calib_interval "
            "ORDER BY tag, first_run"
        )
        for tag, first, last, name, version, digest in cursor.fetchall():
            print(f"{tag}\truns {first}-{last}\t{name} {version} sha256:{digest}")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        endpoint = database.parse_url(args.db)
        if args.command == "load":
            _load(args, endpoint)
        else:
            _list(endpoint, args.password)
    except LatError as exc:
        print(f"lat-calib: error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"lat-calib: hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
