"""Publishing and distribution: registry push/pull, release manifests, exports, the per-node image cache."""

from __future__ import annotations

from hepstack.registry.cache import NodeCache, cache_limit, parse_size

__all__ = ["NodeCache", "cache_limit", "parse_size"]
