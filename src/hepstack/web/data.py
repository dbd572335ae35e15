"""What each dashboard page shows, read through the pipeline's read-only queries
(:mod:`hepstack.pipeline.report`), the catalog and the evidence record; never a write.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hepstack.catalog import Catalog
from hepstack.context import Context
from hepstack.errors import HepstackError
from hepstack.inventory.evidence import Evidence, read_evidence
from hepstack.inventory.facts import existing_state
from hepstack.pipeline import report
from hepstack.pipeline.address import Address
from hepstack.pipeline.db import StateDB
from hepstack.web.security import read_log_tail

FAILED_STATES = ("FAILED", "TERMINATED", "UNKNOWN")
FAILED_LOGS_SHOWN = 20  # on a stream page, the logs of this many failed instances inline
FAILED_LOG_BYTES = 8 * 1024
STUDY_FILES = (".png", ".html", ".json", ".md")


@dataclass
class Sources:
    """Where the dashboard reads from: set once when the server starts."""

    context: Context
    state_url: str
    inventory_file: Path | None = None
    _database: StateDB | None = None

    def database(self) -> StateDB | None:
        """The pipeline state, or None while there is none (a missing SQLite file is not created)."""
        if self._database is None:
            self._database = existing_state(self.state_url)
        return self._database

    def catalog(self) -> Catalog:
        return Catalog(self.context.catalog_path)

    def evidence(self) -> list[Evidence]:
        return read_evidence(self.context)


def pipelines_overview(sources: Sources) -> list[dict[str, Any]]:
    database = sources.database()
    if database is None:
        return []
    with database.read() as connection:
        return [
            {
                "name": name,
                "matrix": report.matrix(connection, Address(name)).as_json(),
                "streams": len(report.top_streams(connection, name)),
            }
            for name in report.pipelines_in(connection)
        ]


def pipeline_view(sources: Sources, name: str) -> dict[str, Any] | None:
    database = sources.database()
    if database is None:
        return None
    with database.read() as connection:
        try:
            matrix = report.matrix(connection, Address(name)).as_json()
        except HepstackError:
            return None
        totals = report.stream_totals(connection, name)
        streams = [
            {**row, "counts": totals.get(row["address"], {})} for row in report.top_streams(connection, name)
        ]
    return {"name": name, "matrix": matrix, "streams": streams, "states": used_states(matrix)}


def used_states(matrix: dict[str, Any]) -> list[str]:
    """The states that occur, in Pipeline II's order (the matrix's columns)."""
    return [state for state in report.INSTANCE_STATES if any(c.get(state) for c in matrix["steps"].values())]


def stream_view(sources: Sources, pipeline: str, address: str) -> dict[str, Any] | None:
    database = sources.database()
    if database is None:
        return None
    with database.read() as connection:
        stream = report.stream_row(connection, pipeline, address)
        if stream is None:
            return None
        matrix = report.matrix(connection, Address(pipeline, address)).as_json()
        instances = report.stream_instances(connection, pipeline, address)
    failed = [row for row in instances if row["state"] in FAILED_STATES]
    logs = [(row, _log_excerpt(row.get("log"), FAILED_LOG_BYTES)) for row in failed[:FAILED_LOGS_SHOWN]]
    return {
        "pipeline": pipeline,
        "stream": stream,
        "variables": json.loads(stream["variables"]),
        "matrix": matrix,
        "states": used_states(matrix),
        "instances": instances,
        "failed": len(failed),
        "failed_logs": logs,
        "parents": _parents(address),
    }


def _parents(address: str) -> list[str]:
    parts = address.split("/")
    return ["/".join(parts[: index + 1]) for index in range(len(parts) - 1)]


def instance_view(sources: Sources, instance_id: int) -> dict[str, Any] | None:
    database = sources.database()
    if database is None:
        return None
    with database.read() as connection:
        row = report.instance_by_id(connection, instance_id)
        if row is None:
            return None
        record = report.provenance(connection, row)
        attempts = report.attempts_of(connection, instance_id)
    logs = [(attempt, _log_excerpt(attempt.get("log"), 64 * 1024)) for attempt in attempts]
    return {"row": row, "record": record, "attempts": logs}


def _log_excerpt(path: str | None, limit: int) -> dict[str, Any]:
    if not path:
        return {"text": None, "cut": False, "error": "no log recorded"}
    try:
        text, cut = read_log_tail(path, limit)
    except FileNotFoundError:
        return {"text": None, "cut": False, "error": f"no log yet: {path}"}
    except OSError as exc:
        return {"text": None, "cut": False, "error": f"cannot read {path}: {exc}"}
    return {"text": text, "cut": cut, "error": None, "path": path}


def attempt_log(sources: Sources, attempt_id: int) -> tuple[dict[str, Any], dict[str, Any]] | None:
    database = sources.database()
    if database is None:
        return None
    with database.read() as connection:
        row = report.attempt_log(connection, attempt_id)
    if row is None:
        return None
    return row, _log_excerpt(row["log"], 4 * 1024 * 1024)


def images_view(sources: Sources) -> dict[str, Any]:
    catalog = sources.catalog()
    pushes: dict[tuple[str, str, str], list[Any]] = {}
    for push in catalog.pushes():
        pushes.setdefault((push.stack, push.layer, push.key), []).append(push)
    records = catalog.list()
    return {
        "records": [(record, pushes.get((record.stack, record.layer, record.key), [])) for record in records],
        "pushes": catalog.pushes(),
        "catalog": str(sources.context.catalog_path),
    }


def studies_view(sources: Sources) -> list[Evidence]:
    return [line for line in reversed(sources.evidence()) if line.kind == "bench"]


def study_view(sources: Sources, label: str) -> dict[str, Any] | None:
    line = evidence_line(sources, label)
    if line is None or line.kind != "bench":
        return None
    directory = Path(line.data["directory"])
    try:
        summary = json.loads((directory / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        summary = None
    try:
        files = sorted(p.name for p in directory.iterdir() if p.is_file() and p.name.endswith(STUDY_FILES))
    except OSError:
        files = []
    return {
        "line": line,
        "summary": summary,
        "figures": [name for name in files if name.endswith(".png")],
        "files": files,
        "directory": directory,
    }


def evidence_line(sources: Sources, label: str) -> Evidence | None:
    return next((line for line in sources.evidence() if line.label == label), None)
