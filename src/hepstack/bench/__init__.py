"""Is the container as fast as native? Per-module median seconds/event from art TimeTracker databases.

``hepstack bench STUDY`` runs a study file (workloads x arms, interleaved, verified); ``hepstack bench
compare LABEL=TIMING.db ...`` studies databases from jobs run elsewhere. Both write Table 2 of the FNAL
container study (terminal and ``table.md``), ``summary.json``, Figures 2 and 3 and ``report.html``.

>>> from hepstack.bench import TimeTrackerDB
>>> db = TimeTrackerDB(Path("timing.db"))                          # doctest: +SKIP
>>> db.group_times("workers").size                                  # doctest: +SKIP
500

Submodules import numpy, pydantic and matplotlib, so this package imports none of them itself.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "TimeTrackerDB": "hepstack.bench.timing",
    "ModuleKey": "hepstack.bench.timing",
    "TimingDBError": "hepstack.bench.timing",
    "Study": "hepstack.bench.study",
    "StudyErrors": "hepstack.bench.study",
    "load_study": "hepstack.bench.study",
    "Analysis": "hepstack.bench.analysis",
    "analyze": "hepstack.bench.analysis",
    "BenchReport": "hepstack.bench.report",
    "write_report": "hepstack.bench.report_files",
    "study_report": "hepstack.bench.workflow",
    "compare_report": "hepstack.bench.workflow",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import the submodule that defines ``name`` on first use (keeps ``import hepstack.bench`` light)."""
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'hepstack.bench' has no attribute {name!r}")
