"""``hepstack stage IMAGE``: one scheduler job per node that puts the image where that node's jobs find it.

The job runs ``hepstack scale stage-here`` on the node, which does what the runtime's own preparation
does before a run (:meth:`Runtime.prepare`): podman copies the image into the user's store from the
engine or archive it came from, Charliecloud unpacks it into the node cache (one conversion, under the
cache's build lock, :mod:`hepstack.registry.cache`), Apptainer makes its SIF there. It then prints one
JSON line: the node, what it did (``converted``, ``present``, ...), the seconds and, for a cache entry,
a checksum of the tree, so that a later check can tell the entry is intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from hepstack import proc
from hepstack.context import Context
from hepstack.errors import HepstackError

#: How to list a scheduler's nodes and pin a job to one (the job's directive as on the command line).
NODES = {
    "slurm": (["sinfo", "--noheader", "--Node", "--format=%N"], "--nodelist={node}"),
    "sge": (["qconf", "-sel"], "-l hostname={node}"),
}
REPORT_PREFIX = "hepstack-stage: "


def tree_checksum(root: Path) -> str:
    """sha256 over every path, link target and file content of ``root`` (sorted): the entry, intact or not."""
    digest = hashlib.sha256()
    for directory, subdirectories, files in os.walk(root):
        subdirectories.sort()
        for name in sorted(files + [d for d in subdirectories if (Path(directory) / d).is_symlink()]):
            path = Path(directory) / name
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            if path.is_symlink():
                digest.update(b"link:" + str(path.readlink()).encode())
            elif path.is_file():
                with path.open("rb") as stream:
                    for block in iter(lambda: stream.read(1 << 20), b""):
                        digest.update(block)
    return digest.hexdigest()


def conversions(context: Context) -> int:
    """Lines of the node cache's conversions.log: one per conversion ever made in this cache."""
    log = context.cache_path() / "conversions.log"
    try:
        return len(log.read_text(encoding="utf-8").splitlines())
    except FileNotFoundError:
        return 0


def into_store(engine_name: str, reference: str, archive: Path | None) -> str:
    """The image in this node's store of ``engine_name``: already there, loaded from ``archive`` (on a
    shared file system) or pulled from its registry."""
    from hepstack.build.engines import get_engine

    engine = get_engine(engine_name)
    if engine.has_image(reference):
        return "present in the store"
    if archive is not None:
        proc.run([engine.binary(), "load", "--input", str(archive)], timeout=3600)
        return "loaded from the archive"
    proc.run(
        [engine.binary(), "pull", reference], timeout=3600, hint="is the registry reachable from the node?"
    )
    return "pulled"


def stage_here(
    image: str, runtime_name: str, context: Context, archive: Path | None = None
) -> dict[str, object]:
    """Prepare ``image`` for ``runtime_name`` on this node; what was done, in how long."""
    from hepstack.catalog.resolve import resolve_image
    from hepstack.identity import invoking_user
    from hepstack.runtimes import RunRequest, get_runtime

    runtime = get_runtime(runtime_name)
    resolved = resolve_image(image, context)
    before = conversions(context)
    started = time.monotonic()
    actions = []
    if runtime.in_image:  # the store the runtime runs from, or the one a conversion reads
        actions.append(into_store(runtime.engine_name or resolved.engine, resolved.reference, archive))
    request = RunRequest(
        image=resolved.reference,
        command=["true"],
        user=invoking_user(),
        image_id=resolved.image_id,
        engine=resolved.engine,
    )
    prepared = runtime.prepare(request, context)
    seconds = time.monotonic() - started
    made = conversions(context) - before
    report: dict[str, object] = {
        "node": socket.gethostname(),
        "runtime": runtime_name,
        "image": resolved.reference,
        "prepared": prepared.image,
        "action": ", ".join(actions + (["converted"] if made else [])) or "nothing to do",
        "conversions": made,
        "seconds": round(seconds, 3),
    }
    if prepared.image.startswith("/") and Path(prepared.image).is_dir():
        report["checksum"] = tree_checksum(Path(prepared.image))
    return report


@dataclass(frozen=True)
class StagedNode:
    node: str
    job: str
    report: dict[str, object] | None  # None: the job wrote no report (its log says why)
    log: Path


def nodes_of(scheduler: str, queue: str | None) -> list[str]:
    if scheduler not in NODES:
        raise HepstackError(
            f"hepstack stage cannot list the nodes of {scheduler}",
            hint="give them: --nodes NODE1,NODE2 (known: " + ", ".join(NODES) + ")",
        )
    argv = NODES[scheduler][0] + ([f"--partition={queue}"] if queue and scheduler == "slurm" else [])
    result = proc.run(argv, timeout=60)
    return sorted({line.strip() for line in result.stdout.splitlines() if line.strip()})


def report_of(log: Path) -> dict[str, object] | None:
    try:
        lines = log.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        if line.startswith(REPORT_PREFIX):
            value = json.loads(line.removeprefix(REPORT_PREFIX))
            return value if isinstance(value, dict) else None
    return None


def stage_command(image: str, runtime: str, archive: Path | None) -> list[str]:
    """What each node's job runs: this very hepstack, with the interpreter it runs in."""
    extra = ["--archive", str(archive)] if archive is not None else []
    return [sys.executable, "-m", "hepstack", "scale", "stage-here", "--runtime", runtime, *extra, image]


STATE_VARIABLES = (  # what the node must see as the submitter does (native jobs start from env -i)
    "HEPSTACK_CACHE_DIR",
    "HEPSTACK_DATA_DIR",
    "HEPSTACK_CACHE_OWNER",
    "HEPSTACK_CACHE_MAX",
    "XDG_DATA_HOME",  # rootless podman's store (graphroot) ...
    "XDG_RUNTIME_DIR",  # ... and its runroot
    "CONTAINERS_REGISTRIES_CONF",  # the engine's registry, storage and login settings, where the
    "CONTAINERS_STORAGE_CONF",  # submitter moved them from their default files
    "REGISTRY_AUTH_FILE",
)


def stage(
    image: str,
    runtime: str,
    context: Context,
    *,
    site: str | None = None,
    scheduler: str | None = None,
    queue: str | None = None,
    nodes: list[str] | None = None,
    archive: Path | None = None,
    timeout: float = 1800,
) -> list[StagedNode]:
    """Submit one job per node (pinned to it), wait for all, and read each one's report."""
    from dataclasses import replace

    from hepstack.batch.executor import job_status, submit
    from hepstack.batch.plan import plan_submission
    from hepstack.batch.store import JobStore

    planned = plan_submission(
        image="stage", command=stage_command(image, runtime, archive), context=context, site=site,
        scheduler=scheduler, runtime="native", queue=queue, name="hepstack-stage",
    )  # fmt: skip
    chosen = nodes or nodes_of(planned.scheduler, planned.resources.queue)
    pin = NODES.get(planned.scheduler, (None, None))[1]
    if pin is None:
        raise HepstackError(f"hepstack stage cannot pin a job to a node of {planned.scheduler}", hint="")
    env = {name: os.environ[name] for name in STATE_VARIABLES if name in os.environ}
    store = JobStore.open(context)
    records = []
    for node in chosen:
        submission = replace(
            planned,
            env={**planned.env, **env},
            directives=[*planned.directives, pin.format(node=node)],
        )
        records.append((node, submit(submission, context, store)))
    deadline = time.monotonic() + timeout
    pending = list(records)
    while pending and time.monotonic() < deadline:
        pending = [(n, r) for n, r in pending if not all(s.state.final for s in job_status(r))]
        if pending:
            time.sleep(0.5)  # between two questions to the scheduler
    return [
        StagedNode(node, r.label, report_of(r.jobdir / "1.log"), r.jobdir / "1.log") for node, r in records
    ]
