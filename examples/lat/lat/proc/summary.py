"""hepstack's pipeline summary: what a planner step hands back to the orchestrator (JSON)::

    {"variables": {"NAME": "value"},
     "substreams": [{"pipeline": "run", "id": "r000001", "variables": {"RUN_ID": "1", ...}}]}

``variables`` are set on the current stream; each substream names a sub-pipeline, has an id unique
within its parent and its own variables (all strings).  It is written to ``--summary PATH``, else to
the file named by ``$HEPSTACK_SUMMARY``, else to standard output; a file appears whole or not at all.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from lat.framework.atomic import StagedOutputs
from lat.proc.layout import STREAM_ID

SUMMARY_ENV = "HEPSTACK_SUMMARY"
VARIABLE_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
PIPELINE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,47}$")  # hepstack.pipeline.model.NAME_PATTERN


def _check_variables(variables: dict[str, str], where: str) -> None:
    for name, value in variables.items():
        if not VARIABLE_NAME.match(name):
            raise ValueError(f"{where}: variable name {name!r} is not [A-Z][A-Z0-9_]*")
        if not isinstance(value, str):
            raise ValueError(f"{where}: variable {name} is {type(value).__name__}, not a string")


@dataclass(frozen=True)
class Substream:
    pipeline: str
    id: str
    variables: dict[str, str]

    def __post_init__(self) -> None:
        if not PIPELINE_NAME.match(self.pipeline):
            raise ValueError(f"sub-pipeline name {self.pipeline!r} is not {PIPELINE_NAME.pattern}")
        if not STREAM_ID.match(self.id):
            raise ValueError(f"substream id {self.id!r} is not {STREAM_ID.pattern}")
        _check_variables(self.variables, f"substream {self.id}")


@dataclass(frozen=True)
class Summary:
    """>>> Summary({"N": "1"}, [Substream("run", "r000001", {"RUN_ID": "1"})]).to_json().splitlines()[1]
    ' "variables": {'
    """

    variables: dict[str, str] = field(default_factory=dict)
    substreams: list[Substream] = field(default_factory=list)

    def __post_init__(self) -> None:
        _check_variables(self.variables, "summary")
        ids = [s.id for s in self.substreams]
        if len(set(ids)) != len(ids):
            raise ValueError(f"substream ids repeat: {ids}")

    def to_dict(self) -> dict[str, object]:
        return {
            "variables": dict(self.variables),
            "substreams": [
                {"pipeline": s.pipeline, "id": s.id, "variables": dict(s.variables)} for s in self.substreams
            ],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1) + "\n"


def summary_destination(option: str | None) -> Path | None:
    """``--summary PATH``, else ``$HEPSTACK_SUMMARY``, else None (standard output)."""
    chosen = option if option else os.environ.get(SUMMARY_ENV)
    return Path(chosen) if chosen else None


def write_summary(summary: Summary, destination: Path | None, stdout: TextIO = sys.stdout) -> None:
    text = summary.to_json()
    if destination is None:
        stdout.write(text)
        stdout.flush()
        return
    staged = StagedOutputs()
    try:
        staged.stage(destination).write_text(text, encoding="utf-8")
        staged.commit()
    finally:
        staged.discard()
