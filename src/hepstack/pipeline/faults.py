"""Named moments at which the orchestrator can be made to ``kill -9`` itself, to prove crash safety.

``HEPSTACK_PIPELINE_CRASH=POINT[:N]`` makes the N-th arrival (default the 1st) at POINT send SIGKILL to the
orchestrator's own process: a real kill, with no clean-up of any kind, at exactly the moment named. The
crash tests walk every point (tests/pipeline/test_crash.py); unset, this costs one dict lookup per point.
"""

from __future__ import annotations

import os
import signal

POINTS = (
    "after-lease",  # the lease is taken, nothing else done
    "after-admit",  # streams admitted and instances made ready, committed
    "after-intent",  # a submission's intent is committed, its job directory not yet written
    "after-jobdir",  # the job directory is written, not yet submitted
    "after-submit",  # the scheduler accepted the job; its id is not recorded yet
    "after-record",  # the job id is recorded
    "after-script-start",  # a script step was started in the background
    "after-poll",  # the queue was read and the files looked at, nothing written yet
    "mid-outcomes",  # some outcomes of a poll are committed, others not
    "after-outcomes",  # every outcome of a poll is committed
    "after-finish",  # streams were marked finished
)
_arrivals: dict[str, int] = {}


def point(name: str) -> None:
    """Die here if the environment asks for it."""
    wanted = os.environ.get("HEPSTACK_PIPELINE_CRASH")
    if not wanted:
        return
    target, _, count = wanted.partition(":")
    if target != name:
        return
    _arrivals[name] = _arrivals.get(name, 0) + 1
    if _arrivals[name] == (int(count) if count.isdigit() else 1):
        os.kill(os.getpid(), signal.SIGKILL)
