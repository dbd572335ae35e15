"""The grammar of a job's resource values: memory, wall time, CPU and task counts, queue names.

Every number here is read with ASCII digits only (``'²'.isdigit()`` is true, ``int('²')`` fails, and
``int('٣')`` is 3) and checked against a range every scheduler takes, so no value a user types can
reach a directive as something else, or make ``int()`` fail (Python refuses more than 4300 digits).
A leaf module: site profiles (:mod:`hepstack.sites`) and submissions (:mod:`hepstack.batch`) are held
to the same rules without either importing the other.
"""

from __future__ import annotations

import re

from hepstack.errors import HepstackError
from hepstack.names import SCHEDULER_NAME, SCHEDULER_NAME_RULE
from hepstack.quoting import reject, shown

_MEMORY = re.compile(r"^([0-9]{1,15}) *([KMGT]?)B?\Z", re.IGNORECASE | re.ASCII)
_UNIT_KB = {"": 1024, "K": 1, "M": 1024, "G": 1024**2, "T": 1024**3}
MAX_MEMORY_MB = 1024**3  # 1024 TB per task: far above any node, far below any scheduler's integer
_FIELD = re.compile(r"^[0-9]{1,9}\Z")
MAX_SECONDS = 365 * 86400  # a year of wall time: above every farm's limit
MAX_CPUS = 100_000
MAX_TASKS = 1_000_000  # SLURM's MaxArraySize is at most 4,000,001; sites set far less
_TIME_HINT = "write HH:MM:SS, D-HH:MM:SS or minutes, e.g. 01:30:00 (at most 365 days)"


def memory_mb(text: str) -> int:
    """``2G`` / ``2GB`` / ``512M`` / ``512`` (MB) -> megabytes (at least 1, at most 1024 TB)."""
    match = _MEMORY.match(text.strip())
    if not match:
        raise HepstackError(f"bad memory {shown(text)}", hint="write a size such as 512M, 2G or 2GB")
    kilobytes = int(match[1]) * _UNIT_KB[match[2].upper()]
    if kilobytes == 0 or kilobytes > MAX_MEMORY_MB * 1024:
        raise HepstackError(
            f"bad memory {shown(text)}: out of range", hint="ask for between 1K and 1024T, e.g. 2G"
        )
    return max(1, -(-kilobytes // 1024))  # whole megabytes, rounded up


def duration_seconds(text: str) -> int:
    """``[D-]HH:MM:SS``, ``HH:MM`` or whole minutes -> seconds (at least 1, at most 365 days)."""
    original = text
    text = text.strip()
    days = 0
    if "-" in text:
        head, _, text = text.partition("-")
        days = _time_field(head, original, None)
    parts = text.split(":")
    if not 1 <= len(parts) <= 3:
        raise HepstackError(f"bad time {shown(original)}", hint=_TIME_HINT)
    if days and len(parts) == 1:
        parts = [*parts, "0"]  # D-HH, as SLURM reads it
    # The leading field may be large (90 minutes, 36 hours); the ones after it are clock fields.
    limits: list[int | None] = [24 if days else None, 60, 60][: len(parts)]
    numbers = [_time_field(part, original, limit) for part, limit in zip(parts, limits, strict=True)]
    if len(numbers) == 1 and not days:
        seconds = numbers[0] * 60
    else:
        numbers += [0] * (3 - len(numbers))
        seconds = numbers[0] * 3600 + numbers[1] * 60 + numbers[2]
    total = days * 86400 + seconds
    if not 1 <= total <= MAX_SECONDS:
        raise HepstackError(f"bad time {shown(original)}: out of range", hint=_TIME_HINT)
    return total


def _time_field(part: str, original: str, limit: int | None) -> int:
    if not _FIELD.match(part):
        raise HepstackError(f"bad time {shown(original)}", hint=_TIME_HINT)
    number = int(part)
    if limit is not None and number >= limit:
        raise HepstackError(f"bad time {shown(original)}: {part} is {limit} or more", hint=_TIME_HINT)
    return number


def hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def check_count(value: int, what: str, maximum: int, unit: str) -> int:
    if not 1 <= value <= maximum:
        raise HepstackError(f"bad {what} {value}", hint=f"ask for between 1 and {maximum:,} {unit}")
    return value


def check_scheduler_name(value: str, what: str) -> str:
    """A queue, partition, project or account as every scheduler's directive takes it."""
    if not SCHEDULER_NAME.match(value):
        reject(value, what, "is not a queue or account name", f"write {SCHEDULER_NAME_RULE}")
    return value
