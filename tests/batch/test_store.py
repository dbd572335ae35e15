"""The state database: processes that open a new one at the same moment all get it."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from hepstack.batch.store import JobStore

OPENERS = 3
ROUNDS = 8  # before the fix, 22 of 30 such rounds had a failure here (barrier-released, 3 processes)


def _open(url: str, barrier: multiprocessing.synchronize.Barrier, outcomes: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    barrier.wait()
    try:
        store = JobStore(url)
        store.recent()
        store.close()
        outcomes.put("opened")
    except Exception as exc:  # the outcome is the test's to judge
        outcomes.put(f"{type(exc).__name__}: {exc}")


def test_processes_opening_a_new_state_database_at_once_all_succeed(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    for round_number in range(ROUNDS):
        url = f"sqlite:///{tmp_path / f'state-{round_number}.sqlite'}"
        barrier, outcomes = context.Barrier(OPENERS), context.Queue()
        openers = [context.Process(target=_open, args=(url, barrier, outcomes)) for _ in range(OPENERS)]
        for opener in openers:
            opener.start()
        seen = [outcomes.get(timeout=60) for _ in openers]
        for opener in openers:
            opener.join(10)
        assert seen == ["opened"] * OPENERS, seen
