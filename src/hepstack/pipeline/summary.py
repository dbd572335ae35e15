"""The summary a step leaves for the orchestrator (Pipeline II's ``pipeline_summary``): variables to set on
its stream and substreams to create, as JSON.

```json
{"variables": {"NAME": "value"},
 "substreams": [{"pipeline": "run", "id": "r000001", "variables": {"RUN_ID": "1"}}]}
```

A script step or a job step with ``creates:`` finds the path to write in ``$HEPSTACK_SUMMARY``. The file is
read only after the step succeeded, and checked whole before anything of it is used: a bad summary fails
the step with the reason, and creates nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from hepstack.pipeline.streams import STREAM_ID, check_value

MAX_SUMMARY_BYTES = 16 * 1024 * 1024
MAX_SUBSTREAMS = 100_000


@dataclass(frozen=True)
class Substream:
    pipeline: str
    id: str
    variables: dict[str, str]


@dataclass(frozen=True)
class Summary:
    variables: dict[str, str] = field(default_factory=dict)
    substreams: list[Substream] = field(default_factory=list)


class SummaryError(ValueError):
    """Why a summary cannot be used (the step's reason for failing)."""


def read_summary(path: Path, allowed: list[str]) -> Summary:
    """The summary at ``path`` (an empty one if there is no file); ``allowed``: the step's ``creates``."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_SUMMARY_BYTES + 1)
    except FileNotFoundError:
        return Summary()
    except OSError as exc:
        raise SummaryError(f"cannot read the summary {path}: {exc.strerror}") from None
    if len(raw) > MAX_SUMMARY_BYTES:
        raise SummaryError(f"the summary {path} is larger than {MAX_SUMMARY_BYTES} bytes")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SummaryError(f"the summary {path} is not JSON: {exc}") from None
    return parse_summary(data, allowed, str(path))


def parse_summary(data: object, allowed: list[str], where: str) -> Summary:
    if not isinstance(data, dict) or set(data) - {"variables", "substreams"}:
        raise SummaryError(f"{where}: a summary is an object with `variables` and `substreams` only")
    variables = _variables(data.get("variables", {}), f"{where}: variables")
    substreams_data = data.get("substreams", [])
    if not isinstance(substreams_data, list) or len(substreams_data) > MAX_SUBSTREAMS:
        raise SummaryError(f"{where}: substreams must be a list of at most {MAX_SUBSTREAMS}")
    substreams = []
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(substreams_data):
        place = f"{where}: substreams[{index}]"
        if not isinstance(item, dict) or set(item) - {"pipeline", "id", "variables"}:
            raise SummaryError(f"{place}: an object with `pipeline`, `id` and `variables`")
        pipeline, stream_id = item.get("pipeline"), item.get("id")
        if pipeline not in allowed:
            raise SummaryError(
                f"{place}: pipeline {pipeline!r} is not one this step creates "
                f"({', '.join(allowed) or 'none'})"
            )
        if not isinstance(stream_id, str) or not STREAM_ID.match(stream_id):
            raise SummaryError(f"{place}: bad id {stream_id!r} (letters, digits, '.', '_', '-'; 64 at most)")
        if (pipeline, stream_id) in seen:
            raise SummaryError(f"{place}: id {stream_id!r} appears twice")
        seen.add((pipeline, stream_id))
        substreams.append(Substream(pipeline, stream_id, _variables(item.get("variables", {}), place)))
    return Summary(variables, substreams)


def _variables(data: object, where: str) -> dict[str, str]:
    from hepstack.names import ENV_NAME

    if not isinstance(data, dict):
        raise SummaryError(f'{where}: an object of NAME: "value"')
    values = {}
    for name, value in data.items():
        if not isinstance(name, str) or not ENV_NAME.match(name):
            raise SummaryError(f"{where}: {name!r} is not a variable name")
        if not isinstance(value, str):
            raise SummaryError(f"{where}: {name} must be a string, not {type(value).__name__}")
        reason = check_value(name, value)
        if reason is not None:
            raise SummaryError(f"{where}: {name}: the value {reason}")
        values[name] = value
    return values
