"""ROOT files through uproot: reproducible writing, and the RootInput / RootOutput modules.

uproot stamps each file with a random UUID (``uuid.uuid1``) and with the wall-clock time in
every TKey and TDirectory (``datetime.datetime.now()``).  ``reproducible_root_file`` replaces both:
the UUID is derived from the file's base name and every timestamp is the MET epoch
(2001-01-01 00:00:00), so the same job writes the same bytes natively and in any container.
Compression defaults to ZSTD through cramjam (pinned), not zlib, whose output may change with
the system libz of the image.
"""

from __future__ import annotations

import contextlib
import datetime
import fnmatch
import hashlib
import types
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import awkward as ak
import numpy as np
import uproot
import uproot.writing._cascade
import uproot.writing._cascadetree
import uproot.writing.writable

from lat.framework.errors import ConfigError, InputError
from lat.framework.module import Event, OutputModule, Source
from lat.framework.params import Param, Table

ROOT_EPOCH = datetime.datetime(2001, 1, 1, 0, 0, 0)  # MET epoch; TDatime cannot go before 1995
ID_BRANCHES = ("Run", "SubRun", "Event")
_PATCHED_MODULES = (uproot.writing._cascade, uproot.writing._cascadetree, uproot.writing.writable)
COMPRESSION = {"zstd": uproot.ZSTD, "lz4": uproot.LZ4, "zlib": uproot.ZLIB, "lzma": uproot.LZMA}


class _FixedDatetime(datetime.datetime):
    @classmethod
    def now(cls, tz: Any = None) -> _FixedDatetime:  # type: ignore[override]
        return cls(ROOT_EPOCH.year, ROOT_EPOCH.month, ROOT_EPOCH.day)


@contextlib.contextmanager
def frozen_uproot_clock() -> Iterator[None]:
    """Make uproot's writers see a fixed ``datetime.datetime.now()`` while the block runs.

    uproot 5.6 has no option for the TDatime fields, so its writer modules get a stand-in
    ``datetime`` module (checked against the pinned uproot version in the tests).
    """
    shim = types.SimpleNamespace(datetime=_FixedDatetime, timedelta=datetime.timedelta)
    saved = [(module, module.datetime) for module in _PATCHED_MODULES]
    for module, _ in saved:
        module.datetime = shim  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for module, original in saved:
            module.datetime = original  # type: ignore[attr-defined]


def file_uuid(name: str) -> uuid.UUID:
    return uuid.UUID(bytes=hashlib.sha256(name.encode("utf-8")).digest()[:16], version=4)


def compression_for(algorithm: str, level: int) -> Any:
    if algorithm == "none":
        return None
    return COMPRESSION[algorithm](level)


def recreate(path: Path, compression: Any) -> Any:
    """``uproot.recreate`` with a UUID that depends only on the final base name."""
    fixed = file_uuid(path.name)
    return uproot.recreate(str(path), compression=compression, uuid_function=lambda: fixed)


def jagged(content: np.ndarray, counts: np.ndarray) -> Any:
    return ak.unflatten(content, counts)


def counter_branches(tree: Any) -> set[str]:
    counters = set()
    for branch in tree.branches:
        count = getattr(branch, "count_branch", None)
        if count is not None:
            counters.add(count.name)
    return counters


def data_branches(tree: Any) -> list[str]:
    counters = counter_branches(tree)
    return [b.name for b in tree.branches if b.name not in counters]


def read_metadata(handle: Any) -> dict[str, str]:
    """The file's metadata: its top-level TObjString keys (written from ``JobContext.metadata``)."""
    names = [k for k, cls in handle.classnames(cycle=False).items() if cls == "TObjString"]
    return {name: str(handle[name]) for name in sorted(names)}


def write_metadata(file: Any, metadata: Mapping[str, str]) -> None:
    for key in sorted(metadata):
        file[key] = metadata[key]


def read_batch(tree: Any, names: list[str], start: int, stop: int) -> dict[str, Any]:
    """Branches as numpy: flat arrays, or (offsets, content) pairs for jagged branches."""
    arrays = tree.arrays(names, entry_start=start, entry_stop=stop, library="ak", how=dict)
    out: dict[str, Any] = {}
    for name, array in arrays.items():
        if array.ndim == 1:
            out[name] = ak.to_numpy(array)
        else:
            counts = ak.to_numpy(ak.num(array))
            offsets = np.zeros(len(counts) + 1, dtype=np.int64)
            np.cumsum(counts, out=offsets[1:])
            out[name] = (offsets, ak.to_numpy(ak.flatten(array)))
    return out


class RootInput(Source):
    """Reads events from TTrees written by RootOutput (branches ``Product_field``).

    ``firstEntry``/``lastEntry`` select the entry range [first, last) over the concatenated
    inputs: a "crumb" of a chunk.  In a flat tree (branches without '_'), every branch is a
    field of one product named ``flatProduct`` (default: the tree name).
    """

    parameters: ClassVar[Mapping[str, Param | Table]] = {
        **Source.parameters,
        "fileNames": Param("list[str]"),
        "treeName": Param("str", "Events"),
        "firstEntry": Param("int", 0),
        "lastEntry": Param("int", -1, "one past the last entry read (-1: to the end)"),
        "batchSize": Param("int", 500, "entries read per uproot call"),
        "flatProduct": Param("str", ""),
    }

    def check_inputs(self) -> None:
        if not self.params["fileNames"]:
            raise self.config_error("fileNames", "no input files given")
        for i, name in enumerate(self.params["fileNames"]):
            path = self.context.resolve(name)
            where = f"{self.key_path}.fileNames[{i}]"
            if not path.is_file():
                raise ConfigError(self.context.config_file, where, f"input file '{name}' does not exist")
        if self.params["batchSize"] <= 0:
            raise self.config_error("batchSize", "must be positive")

    def begin_job(self) -> None:
        """Carry the inputs' metadata (calibration, seed) into the job, checking that they agree."""
        for name in self.params["fileNames"]:
            try:
                with uproot.open(str(self.context.resolve(name))) as handle:
                    metadata = read_metadata(handle)
            except Exception as exc:  # uproot raises several types for non-ROOT files
                raise InputError(f"{name}: cannot open as a ROOT file ({exc})") from None
            for key, value in metadata.items():
                self.context.add_metadata(key, value, name)

    def _open_tree(self, name: str) -> Any:
        try:
            handle = self.context.exit_stack.enter_context(uproot.open(str(self.context.resolve(name))))
        except Exception as exc:  # uproot raises several types for non-ROOT files
            raise InputError(f"{name}: cannot open as a ROOT file ({exc})") from None
        tree_name = self.params["treeName"]
        if tree_name not in handle:
            raise InputError(f"{name}: no TTree '{tree_name}' (keys: {', '.join(handle.keys(cycle=False))})")
        return handle[tree_name]

    def events(self) -> Iterator[Event]:
        first, last = self.params["firstEntry"], self.params["lastEntry"]
        flat_product = self.params["flatProduct"] or self.params["treeName"]
        base = 0
        for name in self.params["fileNames"]:
            tree = self._open_tree(name)
            n = tree.num_entries
            start = max(first - base, 0)
            stop = n if last < 0 else min(last - base, n)
            names = data_branches(tree)
            layout = []
            for branch in names:
                if branch in ID_BRANCHES:
                    continue
                product, _, field = branch.partition("_")
                layout.append((branch, product, field) if field else (branch, flat_product, branch))
            for batch_start in range(start, stop, self.params["batchSize"]):
                batch_stop = min(batch_start + self.params["batchSize"], stop)
                data = read_batch(tree, names, batch_start, batch_stop)
                yield from self._unpack(data, layout, batch_stop - batch_start)
            base += n
            if last >= 0 and base >= last:
                return

    @staticmethod
    def _unpack(data: dict[str, Any], layout: list[tuple[str, str, str]], count: int) -> Iterator[Event]:
        runs, subruns, numbers = data["Run"], data["SubRun"], data["Event"]
        for i in range(count):
            event = Event(int(runs[i]), int(subruns[i]), int(numbers[i]))
            products = event.products
            for branch, product, field in layout:
                value = data[branch]
                if isinstance(value, tuple):
                    offsets, content = value
                    item = content[offsets[i] : offsets[i + 1]]
                else:
                    item = value[i]
                products.setdefault(product, {})[field] = item
            yield event


class RootOutput(OutputModule):
    """Writes kept products to a TTree, one basket of ``basketSize`` events at a time.

    Scalars become flat branches, 1-D arrays jagged branches (with uproot's ``n<branch>``
    counter).  Branches are named ``Product_field``, or ``field`` alone when ``flat`` is true.
    """

    parameters: ClassVar[Mapping[str, Param | Table]] = {
        **OutputModule.parameters,
        "treeName": Param("str", "Events"),
        "keep": Param("list[str]", ["*"], "product name patterns (fnmatch) to write"),
        "flat": Param("bool", False, "name branches by field only (a flat ntuple)"),
        "basketSize": Param("int", 500, "events buffered per TTree basket"),
        "compression": Param("str", "zstd", "zstd, lz4, lzma, zlib or none"),
        "compressionLevel": Param("int", 3),
    }

    def begin_job(self) -> None:
        if self.params["compression"] not in (*COMPRESSION, "none"):
            raise self.config_error("compression", f"unknown compression '{self.params['compression']}'")
        if self.params["basketSize"] <= 0:
            raise self.config_error("basketSize", "must be positive")
        self.context.exit_stack.enter_context(frozen_uproot_clock())
        self._file: Any = None
        self._path: Path | None = None
        self._schema: list[tuple[str, str, str, bool, np.dtype]] | None = None
        self._buffer: dict[str, list[Any]] = {}
        self._buffered = 0
        self._tree_created = False

    def _open(self, event: Event) -> None:
        name = self.params["fileName"].format(run=event.run, subrun=event.subrun)
        self._path = self.context.outputs.stage(name)
        comp = compression_for(self.params["compression"], self.params["compressionLevel"])
        self._file = recreate(self._path, comp)

    def _make_schema(self, event: Event) -> list[tuple[str, str, str, bool, np.dtype]]:
        schema = [(b, "", "", False, np.dtype(np.int64)) for b in ID_BRANCHES]
        names = sorted(
            p for p in event.products if any(fnmatch.fnmatchcase(p, k) for k in self.params["keep"])
        )
        seen = set(ID_BRANCHES)
        for product in names:
            for field, value in event.products[product].items():
                branch = field if self.params["flat"] else f"{product}_{field}"
                if branch in seen:
                    raise self.config_error("flat", f"branch name '{branch}' would be written twice")
                seen.add(branch)
                array = np.asarray(value)
                if array.ndim > 1:
                    raise RuntimeError(f"product {product}.{field}: only scalars and 1-D arrays are written")
                if self.params["flat"] and array.ndim == 1:
                    raise self.config_error(
                        "flat", f"{product}.{field} is an array; flat ntuples hold scalars"
                    )
                schema.append((branch, product, field, array.ndim == 1, array.dtype))
        return schema

    def write(self, event: Event) -> None:
        if self._file is None:
            self._open(event)
            self._schema = self._make_schema(event)
            self._buffer = {branch: [] for branch, *_ in self._schema}
        assert self._schema is not None
        ids = (event.run, event.subrun, event.event)
        for index, (branch, product, field, _is_jagged, _dtype) in enumerate(self._schema):
            if index < 3:
                self._buffer[branch].append(ids[index])
            else:
                self._buffer[branch].append(event.products[product][field])
        self._buffered += 1
        if self._buffered >= self.params["basketSize"]:
            self._flush()

    def _flush(self) -> None:
        if not self._buffered or self._schema is None:
            return
        data: dict[str, Any] = {}
        for branch, _product, _field, is_jagged, dtype in self._schema:
            values = self._buffer[branch]
            if is_jagged:
                counts = np.fromiter((len(v) for v in values), dtype=np.int64, count=len(values))
                content = np.concatenate(values).astype(dtype, copy=False) if values else np.zeros(0, dtype)
                data[branch] = jagged(content, counts)
            else:
                data[branch] = np.asarray(values, dtype=dtype)
            values.clear()
        tree = self.params["treeName"]
        if self._tree_created:
            self._file[tree].extend(data)
        else:
            self._file.mktree(tree, data)
            self._tree_created = True
        self._buffered = 0

    def end_job(self) -> None:
        if self._file is None:  # no events: still leave a valid (empty) ROOT file
            self._path = self.context.outputs.stage(self.params["fileName"].format(run=0, subrun=0))
            self._file = recreate(self._path, None)
        self._flush()
        write_metadata(self._file, self.context.metadata)
        self._file.close()
