"""What one submission asks for: tasks, resources, where the job's files live."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from hepstack.errors import HepstackError

_MEMORY = re.compile(r"^(\d+)\s*([KMGT]?)B?$", re.IGNORECASE)
_UNIT_MB = {"": 1, "K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}


def memory_mb(text: str) -> int:
    """``2G`` / ``2GB`` / ``512M`` / ``512`` (MB) -> megabytes."""
    match = _MEMORY.match(text.strip())
    if not match:
        raise HepstackError(f"bad memory {text!r}", hint="write a size such as 512M, 2G or 2GB")
    return max(1, int(int(match[1]) * _UNIT_MB[match[2].upper()]))


def duration_seconds(text: str) -> int:
    """``[D-]HH:MM:SS``, ``HH:MM`` or whole minutes -> seconds (SLURM's --time forms)."""
    text = text.strip()
    days = 0
    if "-" in text:
        head, _, text = text.partition("-")
        if not head.isdigit():
            raise HepstackError(f"bad time {text!r}", hint="write HH:MM:SS, D-HH:MM:SS or minutes")
        days = int(head)
    parts = text.split(":")
    if not all(p.isdigit() for p in parts) or not 1 <= len(parts) <= 3:
        raise HepstackError(f"bad time {text!r}", hint="write HH:MM:SS, D-HH:MM:SS or minutes")
    numbers = [int(p) for p in parts]
    if len(numbers) == 1:
        seconds = numbers[0] * 60
    elif len(numbers) == 2:
        seconds = numbers[0] * 3600 + numbers[1] * 60
    else:
        seconds = numbers[0] * 3600 + numbers[1] * 60 + numbers[2]
    return days * 86400 + seconds


def hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


@dataclass(frozen=True)
class Resources:
    cpus: int | None = None
    memory: str | None = None  # e.g. "2G"; checked by memory_mb
    time: str | None = None  # e.g. "01:00:00"; checked by duration_seconds
    queue: str | None = None
    account: str | None = None

    def check(self) -> None:
        if self.cpus is not None and self.cpus < 1:
            raise HepstackError(f"bad --cpus {self.cpus}", hint="ask for at least 1 CPU")
        if self.memory is not None:
            memory_mb(self.memory)
        if self.time is not None:
            duration_seconds(self.time)


@dataclass(frozen=True)
class JobSpec:
    """Everything a scheduler template needs besides the container command.

    ``tasks`` is always at least 1: every submission is an array (of one, if need be), so
    HEPSTACK_TASK_INDEX (1..tasks) exists in every job the same way.
    """

    name: str
    tasks: int
    jobdir: Path
    resources: Resources = field(default_factory=Resources)
    directives: list[str] = field(default_factory=list)  # extra raw scheduler options from the site

    def __post_init__(self) -> None:
        if self.tasks < 1:
            raise HepstackError(f"bad --tasks {self.tasks}", hint="ask for at least 1 task")
