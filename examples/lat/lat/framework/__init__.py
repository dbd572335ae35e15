"""A small art/FHiCL-like event-processing framework (numpy + pyyaml + standard library only).

The names below are imported when first used (PEP 562), so ``lat.framework.errors`` and
``lat.framework.atomic`` (standard library only) serve the host-side code in ``lat.proc`` too.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "ConfigError": "lat.framework.errors",
    "InputError": "lat.framework.errors",
    "LatError": "lat.framework.errors",
    "Analyzer": "lat.framework.module",
    "Event": "lat.framework.module",
    "Filter": "lat.framework.module",
    "JobContext": "lat.framework.module",
    "OutputModule": "lat.framework.module",
    "Producer": "lat.framework.module",
    "Source": "lat.framework.module",
    "Param": "lat.framework.params",
    "Table": "lat.framework.params",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'lat.framework' has no attribute '{name}'")
    return getattr(importlib.import_module(home), name)
