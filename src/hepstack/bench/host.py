"""What the study ran on, in the spirit of HEPscore's host section: CPU, cores, memory, kernel, OS."""

from __future__ import annotations

import os
import platform
import socket
from pathlib import Path


def host_info() -> dict[str, object]:
    uname = platform.uname()
    return {
        "hostname": socket.gethostname(),
        "cpu_model": _cpu_model() or uname.processor or uname.machine,
        "architecture": uname.machine,
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "memory_bytes": _memory_bytes(),
        "kernel": uname.release,
        "os": _os_name() or uname.system,
        "python": platform.python_version(),
    }


def _cpu_model() -> str | None:
    for line in _lines(Path("/proc/cpuinfo")):
        key, _, value = line.partition(":")
        if key.strip() in {"model name", "Model", "cpu model"}:
            return value.strip()
    return None


def _memory_bytes() -> int | None:
    for line in _lines(Path("/proc/meminfo")):
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024  # the kernel reports kB (KiB)
    return None


def _os_name() -> str | None:
    for line in _lines(Path("/etc/os-release")):
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return None


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
