"""`hepstack pipeline ...`: production pipelines (Fermi's Pipeline II model) on any scheduler."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hepstack.cli import app, make_console

if TYPE_CHECKING:
    from hepstack.pipeline.db import StateDB
    from hepstack.pipeline.report import Matrix

pipeline_app = typer.Typer(
    name="pipeline",
    help="Production pipelines: check, create streams, run the orchestrator, watch, roll back, trace.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(pipeline_app)


def _database() -> StateDB:
    from hepstack.batch.store import state_url
    from hepstack.context import Context
    from hepstack.pipeline.db import StateDB

    return StateDB(state_url(Context.from_environment()))


@pipeline_app.command()
def check(file: Annotated[Path, typer.Argument(help="The pipeline file (YAML).")]) -> None:
    """Check a pipeline file: every problem at once, with file:line, key path and a hint."""
    from hepstack.pipeline.definition import load_pipeline

    pipeline = load_pipeline(file)
    jobs = sum(1 for step in pipeline.steps.values() if not step.is_script)
    print(
        f"ok: pipeline {pipeline.name} version {pipeline.version}: {len(pipeline.steps)} steps "
        f"({jobs} jobs, {len(pipeline.steps) - jobs} scripts) in {len(pipeline.nodes)} (sub-)pipelines; "
        f"images {', '.join(pipeline.images()) or 'none'}"
    )


@pipeline_app.command()
def create(
    file: Annotated[Path, typer.Argument(help="The pipeline file (YAML).")],
    stream: Annotated[str, typer.Option("--stream", "-s", help="The new stream's id, e.g. a delivery id.")],
    var: Annotated[list[str] | None, typer.Option("--var", "-v", help="NAME=VALUE, repeatable.")] = None,
) -> None:
    """Create a stream: check the file and the variables, pin every image by id; nothing is written on error.

    Example: hepstack pipeline create examples/lat/pipelines/l1.yaml --stream d001 --var DELIVERY=/data/d001
    """
    from hepstack.context import Context
    from hepstack.errors import HepstackError
    from hepstack.pipeline.definition import load_pipeline
    from hepstack.pipeline.images import engine_for, pin
    from hepstack.pipeline.streams import create_stream

    pipeline = load_pipeline(file)
    given: dict[str, str] = {}
    for item in var or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise HepstackError(f"bad --var {item!r}", hint="write NAME=VALUE")
        given[name] = value
    context = Context.from_environment()
    pins = {image: pin(image, context, engine_for(pipeline, image)) for image in pipeline.images()}
    database = _database()
    create_stream(database, pipeline, stream, given, pins)
    shown = ", ".join(f"{name} {p.reference} ({(p.image_id or '')[:19]})" for name, p in pins.items())
    print(f"created stream {pipeline.name}/{stream} (version {pipeline.version}); images: {shown or 'none'}")


@pipeline_app.command()
def run(
    pipelines: Annotated[
        list[str] | None, typer.Argument(help="Pipelines to drive (default: all with work).")
    ] = None,
    once: Annotated[bool, typer.Option(help="One pass, then exit (for cron).")] = False,
    poll: Annotated[float, typer.Option(min=0.0, help="Seconds between scheduler queries.")] = 30.0,
    wait: Annotated[
        bool, typer.Option(help="If another orchestrator holds a pipeline, wait to take over.")
    ] = False,
    lease_ttl: Annotated[float, typer.Option(min=1.0, help="Seconds the lease lasts unless renewed.")] = 60.0,
    max_scripts: Annotated[int, typer.Option(min=1, help="Script steps running at once on this host.")] = 4,
) -> None:
    """Run the orchestrator until every stream is final. Idempotent: kill it at any time, start it again."""
    from hepstack.context import Context
    from hepstack.pipeline.orchestrator import Orchestrator, Settings, stop_signal_handlers
    from hepstack.pipeline.report import pipelines_with_work

    database = _database()
    with database.read() as connection:
        names = pipelines or pipelines_with_work(connection)
    if not names:
        print("nothing to do: no pipeline has an unfinished stream")
        return
    stop_signal_handlers()
    settings = Settings(
        poll_interval=poll, lease_ttl=lease_ttl, max_scripts=max_scripts, once=once, wait_for_lease=wait
    )
    orchestrator = Orchestrator(database, Context.from_environment(), sorted(set(names)), settings)
    orchestrator.run()
    with database.read() as connection:
        from hepstack.pipeline.address import Address
        from hepstack.pipeline.report import matrix

        for name in orchestrator.pipelines:
            _print_matrix(matrix(connection, Address(name)))


@pipeline_app.command()
def status(
    address: Annotated[
        str | None, typer.Argument(help="PIPELINE or PIPELINE/STREAM (default: every pipeline).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable counts.")] = False,
    watch: Annotated[
        bool, typer.Option(help="Refresh, with progress bars, until nothing is left to run.")
    ] = False,
    interval: Annotated[float, typer.Option(min=0.2, help="Seconds between refreshes with --watch.")] = 2.0,
) -> None:
    """Counts of process instances by state for each step (Pipeline II's matrix), and of streams."""
    from hepstack.pipeline.address import Address, parse_address
    from hepstack.pipeline.report import matrix, pipelines_in

    database = _database()
    with database.read() as connection:
        targets = (
            [parse_address(address)] if address else [Address(name) for name in pipelines_in(connection)]
        )
    if not targets:
        print("no pipeline streams yet: `hepstack pipeline create FILE --stream ID` makes one")
        return
    if watch and not as_json:
        _watch(database, targets, interval)
        return
    with database.read() as connection:
        matrices = [matrix(connection, target) for target in targets]
    if as_json:
        documents = [m.as_json() for m in matrices]
        print(json.dumps(documents[0] if address else documents, indent=1))
        return
    for result in matrices:
        _print_matrix(result)


def _print_matrix(result: Matrix) -> None:
    from rich.table import Table

    from hepstack.pipeline.report import INSTANCE_STATES, STREAM_STATES

    used = [state for state in INSTANCE_STATES if any(c.get(state) for c in result.steps.values())]
    title = f"{result.pipeline}" + (f"/{result.stream}" if result.stream else "")
    table = Table("step", *used, "total", title=title)
    for step, counts in result.steps.items():
        table.add_row(step, *(str(counts.get(state, "")) for state in used), str(sum(counts.values())))
    streams = Table("streams", *STREAM_STATES)
    for node, counts in result.streams.items():
        streams.add_row(node, *(str(counts.get(state, "")) for state in STREAM_STATES))
    console = make_console()
    console.print(table)
    console.print(streams)


def _watch(database: StateDB, targets: list[Any], interval: float) -> None:
    from rich.live import Live
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from hepstack.pipeline.report import matrix

    final = ("SUCCESS", "FAILED", "TERMINATED", "UNKNOWN", "CANCELED", "SKIPPED")
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[states]}"),
    )
    bars: dict[tuple[str, str], Any] = {}
    with Live(progress, console=make_console(), refresh_per_second=4):
        while True:
            with database.read() as connection:
                matrices = [matrix(connection, target) for target in targets]
            for result in matrices:
                for step, counts in result.steps.items():
                    key = (str(result.pipeline), step)
                    done = sum(counts.get(state, 0) for state in final)
                    states = " ".join(f"{state}={count}" for state, count in counts.items())
                    if key not in bars:
                        bars[key] = progress.add_task(
                            f"{result.pipeline} {step}", total=sum(counts.values()), states=states
                        )
                    progress.update(bars[key], completed=done, total=sum(counts.values()), states=states)
            if all(result.done for result in matrices):
                return
            time.sleep(interval)


@pipeline_app.command()
def show(
    instance: Annotated[str, typer.Argument(help="PIPELINE/STREAM...:STEP[#EXECUTION]")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable provenance.")] = False,
) -> None:
    """One process instance: its provenance, every attempt, its outputs and where its log is."""
    from hepstack.pipeline.address import parse_address
    from hepstack.pipeline.report import find_instance, provenance

    address = parse_address(instance, instance=True)
    with _database().read() as connection:
        record = provenance(connection, find_instance(connection, address))
    if as_json:
        print(json.dumps(record, indent=1))
        return
    _print_provenance(record)


def _or_dash(value: object) -> str:
    return "-" if value is None else str(value)


def _print_provenance(record: dict[str, Any]) -> None:
    def when(value: float | None) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(value)) + " UTC" if value else "-"

    lines = [
        f"{record['instance']}  execution {record['execution']}"
        + ("" if record["current"] else " (rolled back)"),
        f"  state      {record['state']}" + (f" ({record['reason']})" if record["reason"] else ""),
        f"  where      {record['site'] or '-'}: {record['scheduler'] or 'this host'} x "
        f"{record['runtime'] or 'script'}, "
        f"host {record['host'] or '-'}",
        f"  image      {record['image'] or '-'}  {record['image_id'] or ''}  key {record['spec_key'] or '-'}",
        f"  command    {' '.join(record['command']) if record['command'] else '-'}",
        f"  times      {when(record['started_at'])} -> {when(record['ended_at'])}, exit code "
        f"{record['exit_code'] if record['exit_code'] is not None else '-'}",
        "  variables  " + ", ".join(f"{k}={v}" for k, v in sorted(record["variables"].items())),
    ]
    for name, values in sorted(record["inputs"].items()):
        lines.append(f"  input      {name}: {' '.join(values) if values else '(none)'}")
    for attempt in record["history"]:
        lines.append(
            f"  attempt {attempt['attempt']}  {attempt['state']:<10} exit {_or_dash(attempt['exit_code'])}"
            f"  {attempt['scheduler'] or 'host'} {attempt['job'] or ''}  {attempt['host'] or ''}"
            f"  log {attempt['log'] or '-'}"
            + (f"\n             {attempt['reason']}" if attempt["reason"] else "")
        )
    for output in record["outputs"]:
        lines.append(
            f"  output     {output['name']}: {output['path']} "
            f"({output['size']} bytes, sha256 {output['sha256']})"
        )
    for item in record.get("staged_in", []):
        lines.append(f"  staged in  {item['url']} -> {item['path']}")
    for item in record.get("staged_out", []):
        lines.append(f"  staged out {item['path']} -> {item['url']}")
    for key, value in sorted(record.get("metadata", {}).items()):
        lines.append(f"  metadata   {key}: {value}")
    print("\n".join(lines))


@pipeline_app.command()
def logs(
    instance: Annotated[str, typer.Argument(help="PIPELINE/STREAM...:STEP[#EXECUTION]")],
    attempt: Annotated[int | None, typer.Option(min=1, help="Which attempt (default: the last).")] = None,
) -> None:
    """Print the log of one process instance's attempt."""
    from hepstack.errors import HepstackError
    from hepstack.pipeline.address import parse_address
    from hepstack.pipeline.report import attempts_of, find_instance

    address = parse_address(instance, instance=True)
    with _database().read() as connection:
        row = find_instance(connection, address)
        attempts = attempts_of(connection, row["id"])
    if not attempts:
        raise HepstackError(
            f"{instance} has not run yet (state {row['state']})", hint="see `hepstack pipeline show`"
        )
    chosen = attempts[-1] if attempt is None else next((a for a in attempts if a["attempt"] == attempt), None)
    if chosen is None:
        raise HepstackError(f"{instance} has attempts 1..{len(attempts)}, not {attempt}")
    path = Path(chosen["log"])
    if not path.exists():
        print(f"(no log yet: {path})")
        return
    print(path.read_text(encoding="utf-8", errors="replace"), end="")


@pipeline_app.command()
def rollback(
    targets: Annotated[
        list[str], typer.Argument(help="Instances (PIPELINE/STREAM...:STEP, wildcards allowed) or streams.")
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would run again; change nothing.")
    ] = False,
) -> None:
    """Run chosen instances again, and everything downstream of them, with new execution numbers."""
    from hepstack.errors import HepstackError
    from hepstack.pipeline.address import parse_address
    from hepstack.pipeline.graph import DefinitionCache
    from hepstack.pipeline.rollback import apply_rollback, graph_of, matching, plan_rollback

    database = _database()
    definitions = DefinitionCache()
    total = 0
    for text in targets:
        address = parse_address(text)
        with database.write() as connection:
            graph = graph_of(connection, address, definitions)
            chosen = matching(graph, address)
            if not chosen:
                raise HepstackError(
                    f"no process instance matches {text}", hint="see `hepstack pipeline status`"
                )
            plan = plan_rollback(graph, chosen)
            print(f"{text}: {len(plan.chosen)} chosen, {len(plan.downstream)} downstream")
            for instance in plan.all:
                print(
                    f"  {instance.address}#{instance.execution} ({instance.state})"
                    f" -> #{instance.execution + 1}"
                )
            if dry_run:
                connection.rollback()
                continue
            total += len(apply_rollback(connection, plan))
    if not dry_run:
        print(f"rolled back {total} process instance(s); `hepstack pipeline run` runs them")


@pipeline_app.command("cancel")
def cancel_command(
    targets: Annotated[list[str], typer.Argument(help="Streams (PIPELINE/STREAM) or instances (...:STEP).")],
) -> None:
    """Cancel: stop what is queued or running through the scheduler and mark it all CANCELED."""
    from hepstack.pipeline.address import parse_address
    from hepstack.pipeline.cancel import cancel

    database = _database()
    for text in targets:
        counts = cancel(database, parse_address(text))
        print(f"{text}: {counts}")


@pipeline_app.command()
def outputs(
    address: Annotated[str | None, typer.Argument(help="PIPELINE or PIPELINE/STREAM (default: all).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False,
) -> None:
    """The data catalog: every output the pipelines made, with its size, sha256 and producer."""
    from rich.table import Table

    from hepstack.pipeline.address import parse_address
    from hepstack.pipeline.report import outputs_list

    with _database().read() as connection:
        rows = outputs_list(connection, parse_address(address) if address else None)
    if as_json:
        for row in rows:
            row["variables"] = json.loads(row["variables"])
        print(json.dumps(rows, indent=1))
        return
    with_metadata = any(row["metadata"] for row in rows)  # e.g. recon's calibration version
    table = Table("output", "bytes", "sha256", "made by", "image", *(["metadata"] if with_metadata else []))
    for row in rows:
        metadata = [f"{key.split(':', 1)[-1]}={value}" for key, value in sorted(row["metadata"].items())]
        table.add_row(
            row["path"],
            str(row["size"]),
            row["sha256"][:16],
            f"{row['pipeline']}/{row['address']}:{row['step'].rsplit('.', 1)[-1]}#{row['execution']}",
            f"{row['image'] or 'host'} {(row['image_id'] or '')[:19]}",
            *([" ".join(metadata)] if with_metadata else []),
        )
    make_console().print(table)


@pipeline_app.command("provenance")
def provenance_command(
    file: Annotated[str, typer.Argument(help="An output file a pipeline recorded, or its root:// URL.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False,
) -> None:
    """Where FILE came from: the instance that wrote it (image, command, variables, site, job, host, times,
    attempts) and, step by step, everything it was made from."""
    from hepstack.pipeline.report import lineage

    with _database().read() as connection:
        chain = lineage(connection, file if file.startswith("root://") else str(Path(file).absolute()))
    if as_json:
        print(json.dumps(chain, indent=1))
        return
    for record in chain:
        depth = record["depth"]
        if depth:
            print(f"\nupstream, {depth} step{'s' if depth > 1 else ''} back:")
        _print_provenance(record)
