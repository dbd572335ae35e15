"""Wait for a condition with a deadline (never a fixed sleep standing in for it)."""

from __future__ import annotations

import time
from collections.abc import Callable


def poll(condition: Callable[[], bool], seconds: float, what: str, interval: float = 0.2) -> None:
    """Return once ``condition()`` is true; fail the test naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting after {seconds:g} s for {what}")
        time.sleep(interval)
