"""Module types registered by name.

The table maps a ``module_type`` to the Python module that defines it, so a job imports only
the code of the modules its configuration uses (``lat-run digi`` never imports astropy, and an
image without ``lat/sim`` can still run every other step).
"""

from __future__ import annotations

import importlib
from typing import Any

from lat.framework.errors import ConfigError, did_you_mean

# module_type -> (python module, kind)
MODULE_TYPES: dict[str, tuple[str, str]] = {
    # sources
    "EmptySource": ("lat.framework.sources", "source"),
    "SkySource": ("lat.sim.source", "source"),
    "LdfInput": ("lat.io.ldf", "source"),
    "RootInput": ("lat.io.rootio", "source"),
    # simulation
    "TrackerSim": ("lat.sim.detector", "producer"),
    "CalSim": ("lat.sim.detector", "producer"),
    "TriggerSim": ("lat.sim.detector", "producer"),
    # L1 chain
    "Digitize": ("lat.steps.digi", "producer"),
    "CalRecon": ("lat.steps.recon", "producer"),
    "TkrRecon": ("lat.steps.recon", "producer"),
    "AstroRecon": ("lat.steps.recon", "producer"),
    "MeritMaker": ("lat.steps.merit", "producer"),
    "EventClassFilter": ("lat.steps.merit", "filter"),
    # art container study (FNAL I/O exercise)
    "IntVectorProducer": ("lat.steps.artstudy", "producer"),
    "VectorSum": ("lat.steps.artstudy", "producer"),
    "VectorMoments": ("lat.steps.artstudy", "producer"),
    "VectorHistogram": ("lat.steps.artstudy", "producer"),
    "SortSlice": ("lat.steps.artstudy", "producer"),
    "RunningMax": ("lat.steps.artstudy", "producer"),
    "UniqueCount": ("lat.steps.artstudy", "producer"),
    "XorChecksum": ("lat.steps.artstudy", "producer"),
    "SignChanges": ("lat.steps.artstudy", "producer"),
    "SmoothSlice": ("lat.steps.artstudy", "producer"),
    "ThresholdFilter": ("lat.steps.artstudy", "filter"),
    "VectorSummary": ("lat.steps.artstudy", "analyzer"),
    # outputs
    "RootOutput": ("lat.io.rootio", "output"),
    "LdfOutput": ("lat.io.ldf", "output"),
    "FT1Output": ("lat.steps.ft1", "output"),
}


def check_module_type(module_type: Any, kind: str, file: str, key_path: str) -> None:
    """Fail with the config file and key path when ``module_type`` is unknown or of the wrong kind."""
    if not isinstance(module_type, str):
        raise ConfigError(file, key_path, f"module_type must be a string, got {module_type!r}")
    if module_type not in MODULE_TYPES:
        same_kind = [name for name, (_, k) in MODULE_TYPES.items() if k == kind]
        raise ConfigError(
            file,
            key_path,
            f"unknown module '{module_type}'" + did_you_mean(module_type, MODULE_TYPES),
            hint=f"known {kind} modules: {', '.join(sorted(same_kind))}",
        )
    actual = MODULE_TYPES[module_type][1]
    if actual != kind:
        raise ConfigError(
            file, key_path, f"module '{module_type}' is {_with_article(actual)}, not {_with_article(kind)}"
        )


def _with_article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def load_module_class(module_type: str) -> Any:
    python_module, _ = MODULE_TYPES[module_type]
    try:
        module = importlib.import_module(python_module)
    except ImportError as exc:
        from lat.framework.errors import LatError

        raise LatError(
            f"module type '{module_type}' is not available in this installation ({python_module}: {exc})",
            hint="this image or environment may leave that step out",
        ) from exc
    return getattr(module, module_type)
