"""A small art/FHiCL-like event-processing framework (numpy + pyyaml + standard library only)."""

from __future__ import annotations

from lat.framework.errors import ConfigError, InputError, LatError
from lat.framework.module import (
    Analyzer,
    Event,
    Filter,
    JobContext,
    OutputModule,
    Producer,
    Source,
)
from lat.framework.params import Param, Table

__all__ = [
    "Analyzer",
    "ConfigError",
    "Event",
    "Filter",
    "InputError",
    "JobContext",
    "LatError",
    "OutputModule",
    "Param",
    "Producer",
    "Source",
    "Table",
]
