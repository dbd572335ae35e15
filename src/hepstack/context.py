"""Where hepstack keeps its state, taken from the environment once and passed around (no globals).

The settings are listed in :mod:`hepstack.dirs` (and docs/security.md); their directories are private
(:mod:`hepstack.private`): :meth:`Context.data_path` and :meth:`Context.cache_path` make or check them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hepstack import dirs, private
from hepstack.errors import HepstackError


@dataclass(frozen=True)
class Context:
    data_dir: Path
    cache_dir: Path
    catalog_path: Path
    node_cache_dir: Path | None = None  # HEPSTACK_NODE_CACHE; None: in cache_dir
    cache_owner: int | None = None  # HEPSTACK_CACHE_OWNER's uid: a node cache shared by its owner

    @classmethod
    def from_environment(cls, environment: Mapping[str, str] | None = None) -> Context:
        environment = os.environ if environment is None else environment
        data_dir = Path(dirs.data_dir(environment))
        cache_dir = Path(dirs.cache_dir(environment))
        catalog = catalog_path(environment.get("HEPSTACK_CATALOG") or str(data_dir / "catalog.sqlite"))
        node_cache = dirs.node_cache_dir(environment)
        return cls(
            data_dir=data_dir,
            cache_dir=cache_dir,
            catalog_path=catalog.absolute(),
            node_cache_dir=None if node_cache is None else Path(node_cache),
            cache_owner=dirs.cache_owner(environment),
        )

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    def log_path(self, *parts: str) -> Path:
        """``DATA_DIR/logs/parts...``, private like the rest of DATA_DIR."""
        return self.data_path(self.log_dir.name, *parts)

    @property
    def node_cache(self) -> Path:
        return self.node_cache_dir or self.cache_dir

    @property
    def node_cache_setting(self) -> str:
        """The variable that moves the node cache (what an error's hint names)."""
        return "HEPSTACK_CACHE_DIR" if self.node_cache_dir is None else "HEPSTACK_NODE_CACHE"

    def data_path(self, *parts: str) -> Path:
        """``DATA_DIR/parts...``, every level a private directory (made 0700, or checked)."""
        return Path(private.private_tree(str(self.data_dir), parts, "HEPSTACK_DATA_DIR"))

    def cache_path(self, *parts: str) -> Path:
        """``CACHE_DIR/parts...``, every level a private directory (made 0700, or checked)."""
        return Path(private.private_tree(str(self.cache_dir), parts, "HEPSTACK_CACHE_DIR"))


def xdg_dir(variable: str, environment: Mapping[str, str] | None = None) -> Path:
    """hepstack's directory under an XDG base directory (see :func:`hepstack.dirs.xdg_dir`)."""
    return Path(dirs.xdg_dir(variable, os.environ if environment is None else environment))


def catalog_path(setting: str) -> Path:
    """The catalog file from HEPSTACK_CATALOG (a path, or a ``sqlite:///`` URL)."""
    if setting.startswith("sqlite:///"):
        return Path(setting.removeprefix("sqlite:///"))
    if "://" in setting:
        raise HepstackError(
            f"the catalog must be a SQLite file, not {setting.split('://')[0]}://",
            hint="set HEPSTACK_CATALOG to a file path",
        )
    return Path(setting)
