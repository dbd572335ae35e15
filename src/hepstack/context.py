"""Where hepstack keeps its state, taken from the environment once and passed around (no globals).

HEPSTACK_DATA_DIR   catalog, build logs        (default: $XDG_DATA_HOME/hepstack, ~/.local/share/hepstack)
HEPSTACK_CACHE_DIR  unpacked images for ch-run (default: $XDG_CACHE_HOME/hepstack, ~/.cache/hepstack)
HEPSTACK_CATALOG    the catalog's SQLite file      (default: DATA_DIR/catalog.sqlite)
HEPSTACK_CACHE_MAX  bound of the per-node image cache, e.g. 20GB (least recently used evicted)
HEPSTACK_STATE_DB   batch job state, an SQLAlchemy URL (default: DATA_DIR/state.sqlite)
HEPSTACK_REGISTRY_USER / _PASSWORD   registry credentials (else podman/docker login files)
HEPSTACK_REGISTRY_RETRIES / _BACKOFF transient registry failures: attempts and first wait
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Context:
    data_dir: Path
    cache_dir: Path
    catalog_path: Path

    @classmethod
    def from_environment(cls, environment: Mapping[str, str] | None = None) -> Context:
        environment = os.environ if environment is None else environment
        data_dir = Path(environment.get("HEPSTACK_DATA_DIR") or xdg_dir("XDG_DATA_HOME", environment))
        cache_dir = Path(environment.get("HEPSTACK_CACHE_DIR") or xdg_dir("XDG_CACHE_HOME", environment))
        from hepstack.catalog import catalog_path

        catalog = catalog_path(environment.get("HEPSTACK_CATALOG") or str(data_dir / "catalog.sqlite"))
        return cls(data_dir=data_dir, cache_dir=cache_dir, catalog_path=catalog.absolute())

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"


_XDG_DEFAULTS = {"XDG_DATA_HOME": ".local/share", "XDG_CACHE_HOME": ".cache", "XDG_CONFIG_HOME": ".config"}


def xdg_dir(variable: str, environment: Mapping[str, str] | None = None) -> Path:
    """hepstack's directory under an XDG base directory (Linux only, like hepstack's runtimes).

    The XDG Base Directory rules in three lines instead of platformdirs, whose import alone was
    ~4 ms of every `hepstack run` (benchmarks/run_overhead.py): an absolute $VARIABLE, else ~/DEFAULT.
    """
    environment = os.environ if environment is None else environment
    base = Path(environment.get(variable, ""))
    if not base.is_absolute():
        base = Path.home() / _XDG_DEFAULTS[variable]
    return base / "hepstack"
