"""Events, the job context and the module base classes (art's EDProducer/EDFilter/...)."""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from lat.framework.atomic import StagedOutputs
from lat.framework.errors import ConfigError, InputError
from lat.framework.params import Param, Table

PACKAGE_DIR = Path(__file__).resolve().parent.parent
PACKAGE_PREFIX = "@lat/"
#: Metadata keys start with a lower-case letter, so they never collide with a TTree (Digi, Recon, ...).
METADATA_KEY = re.compile(r"^[a-z][A-Za-z0-9_]{0,63}$")


class Event:
    """One event: its id and the data products put by the source and the modules.

    A product is a mapping of field name to a scalar or a 1-D numpy array.

    >>> e = Event(1, 0, 7); e.put("Cal", {"energy": 12.5}); e.get("Cal")["energy"]
    12.5
    """

    __slots__ = ("event", "products", "run", "subrun")

    def __init__(self, run: int, subrun: int, event: int) -> None:
        self.run = run
        self.subrun = subrun
        self.event = event
        self.products: dict[str, dict[str, Any]] = {}

    def put(self, name: str, product: dict[str, Any]) -> None:
        if name in self.products:
            raise RuntimeError(f"product '{name}' is already in event {self.id}")
        self.products[name] = product

    def get(self, name: str) -> dict[str, Any]:
        try:
            return self.products[name]
        except KeyError:
            known = ", ".join(sorted(self.products)) or "(none)"
            raise InputError(f"product '{name}' not found in event {self.id}; available: {known}") from None

    @property
    def id(self) -> tuple[int, int, int]:
        return (self.run, self.subrun, self.event)


@dataclass
class JobContext:
    """What modules may use from the framework: configuration location, seeds, output staging."""

    config_file: str
    process_name: str
    seed: int
    outputs: StagedOutputs = field(default_factory=StagedOutputs)
    exit_stack: ExitStack = field(default_factory=ExitStack)
    metadata: dict[str, str] = field(default_factory=dict)  # written by RootOutput as TObjString keys
    _metadata_origins: dict[str, str] = field(default_factory=dict, repr=False)

    def add_metadata(self, key: str, value: str, origin: str) -> None:
        """Record ``key``; the same key from two origins (inputs, modules, --metadata) must agree.

        >>> c = JobContext("job.yaml", "RECON", 1); c.add_metadata("seed", "5", "--metadata")
        >>> c.add_metadata("seed", "6", "digi.root")
        Traceback (most recent call last):
        lat.framework.errors.InputError: digi.root: metadata seed is '6', but '5' in --metadata
        """
        if not METADATA_KEY.match(key):
            raise InputError(f"{origin}: metadata key {key!r} is not {METADATA_KEY.pattern}")
        known = self.metadata.get(key)
        if known is not None and known != value:
            raise InputError(
                f"{origin}: metadata {key} is {value!r}, but {known!r} in {self._metadata_origins[key]}",
                hint="the inputs of one job must come from the same processing (calibration, seed)",
            )
        self.metadata[key] = value
        self._metadata_origins.setdefault(key, origin)

    def rng(self, label: str) -> np.random.Generator:
        """A PCG64 generator seeded from the job seed and the module label (stable across runs)."""
        stream = zlib.crc32(label.encode("utf-8"))
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, stream])))

    def resolve(self, path: str) -> Path:
        """Resolve '@lat/...' to a file shipped in the package; other paths stay as given."""
        if path.startswith(PACKAGE_PREFIX):
            return PACKAGE_DIR / path[len(PACKAGE_PREFIX) :]
        return Path(path)


class Module:
    """Base of all module kinds.  Subclasses declare ``parameters`` and override the hooks."""

    kind: ClassVar[str] = "module"
    parameters: ClassVar[Mapping[str, Param | Table]] = {}

    def __init__(self, label: str, params: dict[str, Any], context: JobContext, key_path: str):
        self.label = label
        self.params = params
        self.context = context
        self.key_path = key_path
        self.module_type = type(self).__name__

    def config_error(self, param: str, message: str) -> ConfigError:
        return ConfigError(self.context.config_file, f"{self.key_path}.{param}", message)

    def input_path(self, param: str, value: str) -> Path:
        """An existing input file named by parameter ``param`` (error names the key otherwise)."""
        path = self.context.resolve(value)
        if not path.is_file():
            raise ConfigError(
                self.context.config_file,
                f"{self.key_path}.{param}",
                f"input file '{value}' does not exist",
            )
        return path

    def begin_job(self) -> None:
        """Called once before the first event."""

    def end_job(self) -> None:
        """Called once after the last event."""


class Producer(Module):
    kind = "producer"

    def produce(self, event: Event) -> None:
        raise NotImplementedError


class Filter(Module):
    kind = "filter"

    def filter(self, event: Event) -> bool:
        raise NotImplementedError


class Analyzer(Module):
    kind = "analyzer"

    def analyze(self, event: Event) -> None:
        raise NotImplementedError


class OutputModule(Module):
    """Writes events; must stage its files through ``self.context.outputs``."""

    kind = "output"
    parameters: ClassVar[Mapping[str, Param | Table]] = {
        "fileName": Param("str", doc="output file name; may use {run} and {subrun}"),
        "SelectEvents": Param("list[str]", [], "write only events accepted by one of these paths"),
    }

    def write(self, event: Event) -> None:
        raise NotImplementedError


class Source(Module):
    """Produces events.  ``maxEvents`` (-1: all) is common to every source."""

    kind = "source"
    parameters: ClassVar[Mapping[str, Param | Table]] = {
        "maxEvents": Param("int", -1, "stop after this many events (-1: all)"),
    }

    def events(self) -> Iterator[Event]:
        raise NotImplementedError

    def check_inputs(self) -> None:
        """Raise ConfigError for missing input files before anything is written."""
