"""The delivery manifest (``DIR/delivery.json``) and the raw chunk header, read with the standard library.

A delivery is what the ground station hands L1: runs, each of several raw chunks.  ``lat-delivery``
writes it; the planners and ``lat-l1 delivery`` read it (and check each raw file's header against it)::

    {"format": "lat-delivery/1", "delivery_id": "dl001", "seed": 1,
     "runs": [{"run_id": 1, "seed": 3735928559, "start_met": 239557417.0, "stop_met": 239561838.1,
               "events": 600, "truth": "mc/mc_r000001.root",
               "chunks": [{"chunk_id": 0, "file": "raw/raw_r000001_c000.ldf", "events": 300,
                           "first_event": 0, "last_event": 299, "start_met": ..., "stop_met": ...,
                           "sha256": "..."}, ...]}, ...]}
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

from lat.framework.errors import ConfigError, InputError
from lat.proc.layout import MAX_CHUNK_ID, MAX_RUN_ID, STREAM_ID, raw_name, run_tag, truth_name

FORMAT = "lat-delivery/1"
MANIFEST = "delivery.json"
LDF_HEADER = struct.Struct("<8sHHIIIQQddII")  # lat/io/ldf.py and README, "Raw data format"
LDF_MAGIC = b"LATLDF\x00\x00"
REMAKE_HINT = "make the delivery again with lat-delivery, or fix the file"


@dataclass(frozen=True)
class Chunk:
    chunk_id: int
    file: str  # relative to the delivery directory
    events: int
    first_event: int
    last_event: int
    start_met: float
    stop_met: float
    sha256: str


@dataclass(frozen=True)
class Run:
    run_id: int
    seed: int
    start_met: float
    stop_met: float
    events: int
    truth: str
    chunks: tuple[Chunk, ...]

    def chunk(self, chunk_id: int, manifest: str) -> Chunk:
        for chunk in self.chunks:
            if chunk.chunk_id == chunk_id:
                return chunk
        known = ", ".join(str(c.chunk_id) for c in self.chunks)
        raise InputError(
            f"{manifest}: run {self.run_id} has no chunk {chunk_id}", hint=f"its chunks: {known}"
        )


@dataclass(frozen=True)
class Delivery:
    directory: Path  # absolute
    delivery_id: str
    seed: int
    runs: tuple[Run, ...]

    @property
    def manifest(self) -> Path:
        return self.directory / MANIFEST

    def run(self, run_id: int) -> Run:
        for run in self.runs:
            if run.run_id == run_id:
                return run
        known = ", ".join(str(r.run_id) for r in self.runs)
        raise InputError(
            f"{self.manifest}: no run {run_id} in delivery {self.delivery_id}", hint=f"its runs: {known}"
        )

    def to_json(self) -> str:
        data = {
            "format": FORMAT,
            "delivery_id": self.delivery_id,
            "seed": self.seed,
            "runs": [asdict(run) for run in self.runs],
        }
        return json.dumps(data, indent=1) + "\n"


class RawHeader(NamedTuple):
    run_id: int
    chunk_id: int
    events: int
    first_event: int
    last_event: int
    start_met: float
    stop_met: float


def read_ldf_header(path: Path) -> RawHeader:
    """The header of a raw chunk file (the fields the manifest repeats)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(LDF_HEADER.size)
    except OSError as exc:
        raise InputError(f"{path}: cannot read the raw chunk ({exc.strerror})", hint=REMAKE_HINT) from None
    if len(data) < LDF_HEADER.size or data[:8] != LDF_MAGIC:
        raise InputError(f"{path}: not a raw LDF chunk (bad or short header)", hint=REMAKE_HINT)
    _, _, _, run, chunk, count, first, last, start, stop, _, _ = LDF_HEADER.unpack(data)
    return RawHeader(run, chunk, count, first, last, start, stop)


class _Reader:
    """Typed access to the parsed JSON; every error names the manifest, the key path and the value."""

    def __init__(self, manifest: Path) -> None:
        self.file = str(manifest)

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(self.file, key, message, hint=REMAKE_HINT)

    def mapping(self, value: Any, key: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected an object, got {json.dumps(value)[:60]}")
        return value

    def field(self, data: Mapping[str, Any], key: str, name: str, kind: type) -> Any:
        where = f"{key}.{name}" if key else name
        if name not in data:
            raise self.fail(where, "missing")
        value = data[name]
        good = isinstance(value, kind) and not isinstance(value, bool)
        if kind is float:
            good = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not good:
            raise self.fail(where, f"expected {kind.__name__}, got {json.dumps(value)[:60]}")
        return float(value) if kind is float else value

    def count(self, data: Mapping[str, Any], key: str, name: str, low: int, high: int) -> int:
        value = int(self.field(data, key, name, int))
        if not low <= value <= high:
            raise self.fail(f"{key}.{name}", f"{value} is outside {low}..{high}")
        return value


def _chunk(reader: _Reader, data: Any, key: str, run_id: int) -> Chunk:
    data = reader.mapping(data, key)
    chunk_id = reader.count(data, key, "chunk_id", 0, MAX_CHUNK_ID)
    file = reader.field(data, key, "file", str)
    if file != raw_name(run_id, chunk_id):  # the only name allowed: no path leaves the delivery
        raise reader.fail(f"{key}.file", f"'{file}' is not '{raw_name(run_id, chunk_id)}'")
    events = reader.count(data, key, "events", 1, 2**32 - 1)
    first = reader.count(data, key, "first_event", 0, 2**63 - 1)
    last = reader.count(data, key, "last_event", first, 2**63 - 1)
    if last - first + 1 != events:
        raise reader.fail(key, f"events {events} but first_event {first} and last_event {last}")
    return Chunk(
        chunk_id,
        file,
        events,
        first,
        last,
        reader.field(data, key, "start_met", float),
        reader.field(data, key, "stop_met", float),
        reader.field(data, key, "sha256", str),
    )


def _run(reader: _Reader, data: Any, key: str) -> Run:
    data = reader.mapping(data, key)
    run_id = reader.count(data, key, "run_id", 0, MAX_RUN_ID)
    truth = reader.field(data, key, "truth", str)
    if truth != truth_name(run_id):
        raise reader.fail(f"{key}.truth", f"'{truth}' is not '{truth_name(run_id)}'")
    chunk_list = reader.field(data, key, "chunks", list)
    if not chunk_list:
        raise reader.fail(f"{key}.chunks", "a run needs at least one chunk")
    chunks = tuple(_chunk(reader, c, f"{key}.chunks[{i}]", run_id) for i, c in enumerate(chunk_list))
    ids = [c.chunk_id for c in chunks]
    if len(set(ids)) != len(ids):
        raise reader.fail(f"{key}.chunks", f"chunk ids repeat: {ids}")
    events = reader.count(data, key, "events", 1, 2**63 - 1)
    if events != sum(c.events for c in chunks):
        raise reader.fail(f"{key}.events", f"{events}, but its chunks hold {sum(c.events for c in chunks)}")
    return Run(
        run_id,
        reader.count(data, key, "seed", 0, 2**63 - 1),
        reader.field(data, key, "start_met", float),
        reader.field(data, key, "stop_met", float),
        events,
        truth,
        chunks,
    )


def load_delivery(directory: str | Path) -> Delivery:
    """Read and check ``DIRECTORY/delivery.json`` (not the raw files: see :func:`check_raw_file`)."""
    root = Path(directory).absolute()
    manifest = root / MANIFEST
    reader = _Reader(manifest)
    try:
        text = manifest.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(
            f"{manifest}: cannot read the delivery manifest ({exc.strerror})",
            hint="give the directory lat-delivery wrote (it holds delivery.json)",
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{manifest}:{exc.lineno}", "", f"invalid JSON: {exc.msg}", hint=REMAKE_HINT
        ) from None
    data = reader.mapping(data, "")
    if data.get("format") != FORMAT:
        raise reader.fail("format", f"expected '{FORMAT}', got {json.dumps(data.get('format'))}")
    delivery_id = reader.field(data, "", "delivery_id", str)
    if not STREAM_ID.match(delivery_id):
        raise reader.fail("delivery_id", f"'{delivery_id}' is not [A-Za-z0-9][A-Za-z0-9_.-]{{0,63}}")
    run_list = reader.field(data, "", "runs", list)
    if not run_list:
        raise reader.fail("runs", "a delivery needs at least one run")
    runs = tuple(_run(reader, r, f"runs[{i}]") for i, r in enumerate(run_list))
    ids = [r.run_id for r in runs]
    if len(set(ids)) != len(ids):
        raise reader.fail("runs", f"run ids repeat: {[run_tag(i) for i in ids]}")
    return Delivery(root, delivery_id, reader.count(data, "", "seed", 0, 2**63 - 1), runs)


def check_raw_file(delivery: Delivery, run: Run, chunk: Chunk) -> Path:
    """The raw chunk's absolute path, after checking that its header says what the manifest says."""
    path = delivery.directory / chunk.file
    header = read_ldf_header(path)
    if (header.run_id, header.chunk_id, header.events) != (run.run_id, chunk.chunk_id, chunk.events):
        raise InputError(
            f"{path}: the header says run {header.run_id}, chunk {header.chunk_id}, {header.events} events; "
            f"{delivery.manifest} says run {run.run_id}, chunk {chunk.chunk_id}, {chunk.events} events",
            hint=REMAKE_HINT,
        )
    return path
