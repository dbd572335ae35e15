"""The evidence record: one JSON line for each finished ``hepstack verify``, ``hepstack bench`` and
``hepstack doctor --compare``, appended to a private file (``DATA_DIR/evidence.jsonl``, 0600).

The inventory and the dashboard read it back: which outputs were proven equal, which study measured which
runtime with which image, and when, on which host. A line is self-contained (kind, UTC time, host, OS,
what was compared or measured, the verdict, where the full report is) and the file is only ever appended
to, so a line's number is its id (``e12``), which every ✓ of the inventory links to.

A directory of outputs made outside a pipeline may carry ``hepstack-provenance.json`` (written by
``hepstack inventory mark DIR --runtime R --image I``): which runtime and image made it. ``verify`` copies
what it finds for each side into its line; outputs a pipeline recorded need none (the inventory finds their
producer in the pipeline state by path).

>>> record_verify(report)                                    # doctest: +SKIP
>>> [e.kind for e in read_evidence(Context.from_environment())]  # doctest: +SKIP
['verify', 'bench']
"""

from __future__ import annotations

import json
import socket
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hepstack import private
from hepstack.context import Context
from hepstack.errors import HepstackError

if TYPE_CHECKING:
    from hepstack.verify import VerifyReport

SCHEMA = "hepstack.evidence/1"
FILE_NAME = "evidence.jsonl"
PROVENANCE_FILE = "hepstack-provenance.json"
PROVENANCE_SCHEMA = "hepstack.provenance/1"
MAX_FILES = 500  # file names kept per verify line (a count is always kept)
SETTING = "HEPSTACK_DATA_DIR"


@dataclass(frozen=True)
class Evidence:
    """One recorded line; ``number`` (1-based line number) is its id."""

    number: int
    kind: str  # verify | bench | latency
    at: datetime
    host: str
    platform: str
    data: dict[str, Any]

    @property
    def label(self) -> str:
        return f"e{self.number}"


def evidence_file(context: Context) -> Path:
    return context.data_path() / FILE_NAME


def _append(kind: str, data: dict[str, Any], context: Context | None) -> None:
    """Append one line; a record that cannot be written is a warning, never the command's failure."""
    context = context or Context.from_environment()
    line = {
        "schema": SCHEMA,
        "kind": kind,
        "at": datetime.now(UTC).isoformat(),  # microseconds: compared with build times (staleness)
        "host": socket.gethostname(),
        "platform": host_platform(),
        **data,
    }
    try:
        path = evidence_file(context)
        private.append_line(str(path), json.dumps(line, sort_keys=True) + "\n", SETTING)
    except (OSError, HepstackError) as exc:
        print(f"warning: the evidence record was not written: {exc}", file=sys.stderr)


def host_platform() -> str:
    """This host's OS as /etc/os-release names it (``Debian GNU/Linux 12 (bookworm)``)."""
    from hepstack.bench.host import host_info

    return str(host_info()["os"])


def record_verify(report: VerifyReport, context: Context | None = None) -> None:
    """``hepstack verify A B`` finished: the verdict, the files compared, and each side's provenance."""
    directory = Path(report.b).is_dir()
    files = list(report.files_compared) if directory else []
    data = {
        "a": str(Path(report.a).absolute()),
        "b": str(Path(report.b).absolute()),
        "directory": directory,
        "equal": report.equal,
        "differences": report.difference_count,
        "file_count": len(report.files_compared),
        "files": files[:MAX_FILES],
        "sides": {"a": find_provenance(Path(report.a)), "b": find_provenance(Path(report.b))},
    }
    _append("verify", data, context)


def record_bench(directory: Path, context: Context | None = None) -> None:
    """``hepstack bench`` wrote its report in ``directory``: per arm, its runtime, image, start latency,
    speed relative to the baseline (per group) and whether its outputs matched the baseline's."""
    try:
        summary = json.loads((directory / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"warning: no evidence recorded: cannot read {directory}/summary.json: {exc}", file=sys.stderr)
        return
    run_info = summary.get("run_info", {})
    data = {
        "study": run_info.get("study") or "compare",
        "mode": run_info.get("mode"),
        "directory": str(directory.absolute()),
        "summary": str((directory / "summary.json").absolute()),
        "report": str((directory / "report.html").absolute()),
        "baseline": summary.get("baseline"),
        "repetitions": run_info.get("repetitions"),
        "events": run_info.get("events"),
        "arms": {name: _arm_evidence(arm) for name, arm in summary.get("arms", {}).items()},
    }
    _append("bench", data, context)


def _arm_evidence(arm: dict[str, Any]) -> dict[str, Any]:
    image = arm.get("image") or {}
    latency = arm.get("start_latency_s") or {}
    workloads = {}
    for name, workload in (arm.get("workloads") or {}).items():
        groups = {
            group: (values.get("score") or {}) for group, values in (workload.get("groups") or {}).items()
        }
        verify = workload.get("verify")
        workloads[name] = {
            "speed": {
                group: {"relative_speed": score.get("relative_speed"), "interval": score.get("interval")}
                for group, score in groups.items()
                if score
            },
            "outputs_equal": None if verify is None else bool(verify.get("equal")),
        }
    return {
        "runtime": arm.get("runtime"),
        "image": {"reference": image.get("reference"), "id": image.get("id")},
        "start_latency_s": latency.get("median"),
        "workloads": workloads,
    }


def record_latency(latencies_ms: dict[str, float], image: str | None, context: Context | None = None) -> None:
    """``hepstack doctor --compare`` measured each runtime's start latency (median ms of ``true``)."""
    _append("latency", {"image": image, "start_latency_ms": latencies_ms}, context)


def read_evidence(context: Context) -> list[Evidence]:
    """Every line recorded, oldest first; a line that is not one of ours is skipped (and counted)."""
    path = evidence_file(context)
    try:
        text = private.read_trusted(str(path)).decode("utf-8", errors="replace")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise HepstackError(
            f"cannot read the evidence record {path}: {exc}",
            hint=f"it must be a file of yours that nobody else can write (see {SETTING})",
        ) from None
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            data = json.loads(line)
            if data.get("schema") != SCHEMA:
                continue
            at = datetime.fromisoformat(data.pop("at"))
            kind, host, platform = data.pop("kind"), data.pop("host"), data.pop("platform")
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
        found.append(Evidence(number, str(kind), at, str(host), str(platform), data))
    return found


def mark_outputs(directory: Path, runtime: str, image: str, context: Context) -> dict[str, Any]:
    """Write ``DIRECTORY/hepstack-provenance.json``: the runtime and image (resolved now: reference, id,
    layer key) that make the outputs in it, for ``verify`` to record. Returns what was written."""
    from hepstack.runtimes import get_runtime

    in_image = get_runtime(runtime).in_image  # an unknown name fails with the list of known ones
    if not directory.is_dir():
        raise HepstackError(f"{directory} is not a directory", hint="create the output directory first")
    resolved: dict[str, Any] = {"reference": image, "id": None, "key": None}
    if in_image:
        from hepstack.catalog.resolve import resolve_image

        found = resolve_image(image, context)
        resolved = {"reference": found.reference, "id": found.image_id, "key": _key_of(found, context)}
    provenance = {
        "schema": PROVENANCE_SCHEMA,
        "runtime": runtime,
        "image": resolved,
        "host": socket.gethostname(),
        "platform": host_platform(),
        "at": datetime.now(UTC).isoformat(),  # microseconds: compared with build times (staleness)
    }
    text = json.dumps(provenance, indent=1, sort_keys=True) + "\n"
    private.write_atomically(str(directory / PROVENANCE_FILE), text.encode(), 0o644)
    return provenance


def _key_of(found: Any, context: Context) -> str | None:
    if not (found.stack and found.layer):
        return None
    from hepstack.catalog import Catalog

    record = Catalog(context.catalog_path).newest(found.stack, found.layer)
    return record.key if record is not None and record.image_id == found.image_id else None


def find_provenance(path: Path, levels: int = 3) -> dict[str, Any] | None:
    """The provenance file in ``path`` (a directory) or up to ``levels`` directories above it."""
    current = path.absolute() if path.is_dir() else path.absolute().parent
    for _ in range(levels + 1):
        candidate = current / PROVENANCE_FILE
        try:
            data = json.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if isinstance(data, dict) and data.get("schema") == PROVENANCE_SCHEMA:
            return {**data, "file": str(candidate)}
        if current.parent == current:
            break
        current = current.parent
    return None
