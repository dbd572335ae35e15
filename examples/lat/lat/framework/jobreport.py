"""The job report: whole-process wall time, CPU time and peak memory, measured inside the process.

Written next to the timing DB as ``<timing db>.job.json``. A study (``hepstack bench``) reads it
because, for podman and docker, the job is not a child of the process that starts the container,
so its CPU time and peak memory cannot be measured from outside.
"""

from __future__ import annotations

import json
import os
import resource
import time
from pathlib import Path

_STARTED = time.perf_counter()  # module import: the start of lat-run's own work


def write_job_report(path: Path) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report = {
        "wall_s": round(time.perf_counter() - _STARTED, 6),
        "cpu_user_s": round(usage.ru_utime, 6),
        "cpu_sys_s": round(usage.ru_stime, 6),
        "maxrss_kb": usage.ru_maxrss,  # Linux: kilobytes
    }
    temporary = path.with_name(f".{path.name}.{os.urandom(4).hex()}")
    temporary.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    temporary.replace(path)
