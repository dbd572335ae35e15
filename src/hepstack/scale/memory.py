"""The host's memory in use while jobs run, sampled from /proc/meminfo (MemTotal - MemAvailable).

The cgroup v2 memory controller is not usable on the test hosts (cgroups are hybrid), and the jobs of
rootless podman are not children of the submitting process, so the whole host is what can be measured:
the high-water mark above the level just before the jobs were submitted.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

MEMINFO = Path("/proc/meminfo")
INTERVAL = 0.2  # seconds between samples


def used_kb(path: Path = MEMINFO) -> int:
    """MemTotal - MemAvailable, in kB, as the kernel reports them."""
    values: dict[str, int] = {}
    for line in path.read_text(encoding="ascii").splitlines():
        name, _, rest = line.partition(":")
        fields = rest.split()
        if fields and fields[0].isdigit():
            values[name] = int(fields[0])
    return values["MemTotal"] - values["MemAvailable"]


def available_kb(path: Path = MEMINFO) -> int:
    for line in path.read_text(encoding="ascii").splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1])
    raise ValueError(f"{path} has no MemAvailable")


def total_kb(path: Path = MEMINFO) -> int:
    for line in path.read_text(encoding="ascii").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    raise ValueError(f"{path} has no MemTotal")


@dataclass(frozen=True)
class MemoryUse:
    before_kb: int  # in use just before the jobs were submitted
    high_water_kb: int  # the most in use while they ran
    samples: int

    @property
    def added_kb(self) -> int:
        return max(0, self.high_water_kb - self.before_kb)


class MemorySampler:
    """A background thread that keeps the maximum of :func:`used_kb` until :meth:`stop`."""

    def __init__(self, interval: float = INTERVAL) -> None:
        self._interval = interval
        self._before = used_kb()
        self._high = self._before
        self._samples = 1
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hepstack-meminfo", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):  # the sampling period, not a wait for a condition
            self._high = max(self._high, used_kb())
            self._samples += 1

    def stop(self) -> MemoryUse:
        self._stopped.set()
        self._thread.join()
        self._high = max(self._high, used_kb())
        return MemoryUse(self._before, self._high, self._samples + 1)
