"""Where hepstack keeps its state, taken from the environment once and passed around (no globals).

HEPSTACK_DATA_DIR   catalog, build logs        (default: the user's data dir, ~/.local/share/hepstack)
HEPSTACK_CACHE_DIR  unpacked images for ch-run         (default: the user's cache dir, e.g. ~/.cache/hepstack)
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
        from platformdirs import user_cache_dir, user_data_dir

        environment = os.environ if environment is None else environment
        data_dir = Path(environment.get("HEPSTACK_DATA_DIR") or user_data_dir("hepstack"))
        cache_dir = Path(environment.get("HEPSTACK_CACHE_DIR") or user_cache_dir("hepstack"))
        from hepstack.catalog import catalog_path

        catalog = catalog_path(environment.get("HEPSTACK_CATALOG") or str(data_dir / "catalog.sqlite"))
        return cls(data_dir=data_dir, cache_dir=cache_dir, catalog_path=catalog.absolute())

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"
