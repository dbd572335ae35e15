"""The raw "LDF-like" chunk format, and its input source and output module (numpy only).

Layout (all little-endian; see README.md, "Raw data format"):

header, 64 bytes::

    0  8s   magic  b"LATLDF\\x00\\x00"
    8  u16  format version (1)
    10 u16  header size in bytes (64)
    12 u32  run id
    16 u32  chunk id
    20 u32  event count
    24 u64  first event id
    32 u64  last event id (inclusive)
    40 f64  start MET (s): time of the first event
    48 f64  stop MET (s): time of the last event
    56 u32  record format (1)
    60 u32  reserved (0)

then ``event count`` records::

    0  u32  record size in bytes, this field included
    4  u64  event id
    12 f64  event MET (s)
    20 u16  GEM trigger summary word
    22 u16  number of tracker strip hits (n)
    24 u16  number of calorimeter channels (96)
    26 u16  flags (0)
    28      n x (u8 layer, u8 view, u16 strip)
    28+4n   96 x u16 calorimeter word: bit 15 = range (0 fine, 1 coarse), bits 0-14 = ADC
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

import numpy as np

from lat.framework.errors import ConfigError, InputError
from lat.framework.module import Event, OutputModule, Source
from lat.framework.params import Param, Table

MAGIC = b"LATLDF\x00\x00"
VERSION = 1
HEADER = struct.Struct("<8sHHIIIQQddII")
RECORD = struct.Struct("<IQdHHHH")
HIT_DTYPE = np.dtype([("layer", "u1"), ("view", "u1"), ("strip", "<u2")])
assert HEADER.size == 64 and RECORD.size == 28


@dataclass
class LdfHeader:
    run_id: int
    chunk_id: int
    event_count: int
    first_event_id: int
    last_event_id: int
    start_met: float
    stop_met: float

    def pack(self) -> bytes:
        return HEADER.pack(
            MAGIC,
            VERSION,
            HEADER.size,
            self.run_id,
            self.chunk_id,
            self.event_count,
            self.first_event_id,
            self.last_event_id,
            self.start_met,
            self.stop_met,
            1,
            0,
        )


def read_header(data: bytes, name: str) -> LdfHeader:
    if len(data) < HEADER.size:
        raise InputError(f"{name}: not an LDF file (too short)")
    magic, version, size, run, chunk, count, first, last, start, stop, fmt, _ = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise InputError(f"{name}: not an LDF file (bad magic {magic!r})")
    if version != VERSION or size != HEADER.size or fmt != 1:
        raise InputError(f"{name}: unsupported LDF version {version} (header {size}, format {fmt})")
    return LdfHeader(run, chunk, count, first, last, start, stop)


def read_ldf(path: Path) -> tuple[LdfHeader, Iterator[dict[str, Any]]]:
    """Header and an iterator over decoded records (dicts of numpy values)."""
    data = path.read_bytes()
    header = read_header(data, str(path))

    def records() -> Iterator[dict[str, Any]]:
        offset = HEADER.size
        for index in range(header.event_count):
            if offset + RECORD.size > len(data):
                raise InputError(f"{path}: truncated at record {index}")
            size, event_id, met, gem, n_hits, n_cal, _flags = RECORD.unpack_from(data, offset)
            if size != RECORD.size + 4 * n_hits + 2 * n_cal or offset + size > len(data):
                raise InputError(f"{path}: corrupt record {index} (size {size})")
            hits = np.frombuffer(data, HIT_DTYPE, n_hits, offset + RECORD.size)
            cal = np.frombuffer(data, "<u2", n_cal, offset + RECORD.size + 4 * n_hits)
            yield {"eventId": event_id, "met": met, "gem": gem, "hits": hits, "cal": cal}
            offset += size

    return header, records()


def pack_record(
    event_id: int,
    met: float,
    gem: int,
    layer: np.ndarray,
    view: np.ndarray,
    strip: np.ndarray,
    cal_words: np.ndarray,
) -> bytes:
    hits = np.empty(len(layer), HIT_DTYPE)
    hits["layer"], hits["view"], hits["strip"] = layer, view, strip
    cal = np.asarray(cal_words, dtype="<u2")
    size = RECORD.size + hits.nbytes + cal.nbytes
    return RECORD.pack(size, event_id, met, gem, len(hits), len(cal), 0) + hits.tobytes() + cal.tobytes()


class LdfInput(Source):
    """Reads LDF chunk files; puts ``EventInfo``, ``RawTkr`` and ``RawCal`` products.

    Event ids: Run = header run id, SubRun = chunk id, Event = event id.
    """

    parameters: ClassVar[Mapping[str, Param | Table]] = {
        **Source.parameters,
        "fileNames": Param("list[str]", doc="LDF chunk files, read in order"),
    }

    def check_inputs(self) -> None:
        if not self.params["fileNames"]:
            raise self.config_error("fileNames", "no input files given")
        for i, name in enumerate(self.params["fileNames"]):
            if not self.context.resolve(name).is_file():
                raise ConfigError(
                    self.context.config_file,
                    f"{self.key_path}.fileNames[{i}]",
                    f"input file '{name}' does not exist",
                )

    def events(self) -> Iterator[Event]:
        for name in self.params["fileNames"]:
            header, records = read_ldf(self.context.resolve(name))
            for record in records:
                event = Event(header.run_id, header.chunk_id, int(record["eventId"]))
                event.put(
                    "EventInfo",
                    {
                        "eventId": np.int64(record["eventId"]),
                        "met": np.float64(record["met"]),
                        "gem": np.int32(record["gem"]),
                    },
                )
                hits = record["hits"]
                event.put(
                    "RawTkr",
                    {
                        "tkrLayer": hits["layer"].astype(np.int16),
                        "tkrView": hits["view"].astype(np.int16),
                        "tkrStrip": hits["strip"].astype(np.int32),
                    },
                )
                event.put("RawCal", {"calWord": record["cal"].astype(np.uint16)})
                yield event


class LdfOutput(OutputModule):
    """Writes ``EventInfo``, ``RawTkr`` and ``RawCal`` to one LDF file per SubRun.

    The GEM word comes from the ``Trigger`` product when there is one (simulation).
    """

    parameters: ClassVar[Mapping[str, Param | Table]] = {**OutputModule.parameters}

    def begin_job(self) -> None:
        self._file: BinaryIO | None = None
        self._key: tuple[int, int] | None = None
        self._header: LdfHeader | None = None
        self._names: set[str] = set()

    def _open(self, event: Event, met: float) -> None:
        self._close()
        pattern = self.params["fileName"]
        name = pattern.format(run=event.run, subrun=event.subrun)
        if name in self._names:  # a second chunk (SubRun) into the same file
            raise self.config_error(
                "fileName",
                f"this job writes several chunks (SubRuns) but '{pattern}' names one file; "
                "put {subrun} in it, e.g. -o raw=raw_{subrun}.ldf",
            )
        self._names.add(name)
        path = self.context.outputs.stage(name)
        self._file = open(path, "wb")  # noqa: SIM115 (closed when the SubRun ends)
        self._file.write(b"\0" * HEADER.size)
        self._key = (event.run, event.subrun)
        self._header = LdfHeader(event.run, event.subrun, 0, event.event, event.event, met, met)

    def write(self, event: Event) -> None:
        info, tkr, cal = event.get("EventInfo"), event.get("RawTkr"), event.get("RawCal")
        gem = int((event.products.get("Trigger") or info)["gem"])
        met = float(info["met"])
        if self._key != (event.run, event.subrun):
            self._open(event, met)
        assert self._file is not None and self._header is not None
        self._file.write(
            pack_record(
                event.event, met, gem, tkr["tkrLayer"], tkr["tkrView"], tkr["tkrStrip"], cal["calWord"]
            )
        )
        self._header.event_count += 1
        self._header.last_event_id = event.event
        self._header.stop_met = met

    def _close(self) -> None:
        if self._file is not None and self._header is not None:
            self._file.seek(0)
            self._file.write(self._header.pack())
            self._file.close()
        self._file = None

    def end_job(self) -> None:
        self._close()
