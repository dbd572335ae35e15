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

from hepstack import dirs


@dataclass(frozen=True)
class Context:
    data_dir: Path
    cache_dir: Path
    catalog_path: Path

    @classmethod
    def from_environment(cls, environment: Mapping[str, str] | None = None) -> Context:
        environment = os.environ if environment is None else environment
        data_dir = Path(dirs.data_dir(environment))
        cache_dir = Path(dirs.cache_dir(environment))
        from hepstack.catalog import catalog_path

        catalog = catalog_path(environment.get("HEPSTACK_CATALOG") or str(data_dir / "catalog.sqlite"))
        return cls(data_dir=data_dir, cache_dir=cache_dir, catalog_path=catalog.absolute())

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"


def xdg_dir(variable: str, environment: Mapping[str, str] | None = None) -> Path:
    """hepstack's directory under an XDG base directory (see :func:`hepstack.dirs.xdg_dir`)."""
    return Path(dirs.xdg_dir(variable, os.environ if environment is None else environment))
