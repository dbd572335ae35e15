"""The per-node image cache: one conversion under concurrency, no half-written entry, LRU bound."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import time
from pathlib import Path

import pytest

from hepstack.errors import HepstackError
from hepstack.registry.cache import NodeCache, parse_size


def _slow_convert(scratch: Path) -> None:
    scratch.mkdir()
    for index in range(20):
        (scratch / f"part-{index}").write_bytes(b"x" * 4096)
        time.sleep(0.01)  # a window in which a careless cache would expose half an entry
    (scratch / "complete").write_text("yes")


def _user(root: str, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    entry = NodeCache(Path(root)).get("charliecloud", "sha256:feed", _slow_convert)
    parts = len(list(entry.glob("part-*")))
    results.put((parts, (entry / "complete").exists()))


def test_sixteen_cold_users_cause_one_conversion_and_see_whole_entries(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    users = [context.Process(target=_user, args=(str(tmp_path), results)) for _ in range(16)]
    for user in users:
        user.start()
    for user in users:
        user.join(60)
    seen = [results.get(timeout=5) for _ in users]
    assert seen == [(20, True)] * 16
    assert len((tmp_path / "conversions.log").read_text().splitlines()) == 1
    assert not list((tmp_path / "charliecloud").glob(".tmp-*"))


def _entry(cache: NodeCache, image_id: str, size: int) -> Path:
    def convert(scratch: Path) -> None:
        scratch.mkdir()
        (scratch / "blob").write_bytes(os.urandom(size))

    entry = cache.get("squashfs", image_id, convert)
    cache.release()  # this test process is done with it (a job would hold it until it exits)
    return entry


def test_eviction_keeps_the_cache_under_its_bound_least_recently_used_first(tmp_path: Path) -> None:
    cache = NodeCache(tmp_path, max_bytes=250_000)
    first = _entry(cache, "sha256:aa", 100_000)
    second = _entry(cache, "sha256:bb", 100_000)
    os.utime(tmp_path / "squashfs" / "aa.meta", (time.time() + 5, time.time() + 5))  # aa used last
    os.utime(tmp_path / "squashfs" / "bb.meta", (time.time() - 50, time.time() - 50))
    third = _entry(cache, "sha256:cc", 100_000)
    assert first.exists() and third.exists() and not second.exists()  # bb was least recently used
    assert cache.total_bytes() <= 250_000


def test_an_entry_in_use_is_not_evicted(tmp_path: Path) -> None:
    cache = NodeCache(tmp_path, max_bytes=150_000)
    busy = _entry(cache, "sha256:aa", 100_000)
    # A job still runs on aa: it holds the shared use lock (inherited by the runtime it execs).
    holder = os.open(tmp_path / "squashfs" / "aa.use.lock", os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_SH)
    try:
        _entry(cache, "sha256:bb", 100_000)
        assert busy.exists()
    finally:
        os.close(holder)
    cache.evict()
    assert cache.total_bytes() <= 150_000


@pytest.mark.parametrize(
    ("text", "size"),
    [("20GB", 20 * 10**9), ("500M", 500 * 10**6), ("1.5GiB", int(1.5 * 2**30)), ("123", 123)],
)
def test_cache_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


def test_bad_cache_size() -> None:
    with pytest.raises(HepstackError, match="bad size"):
        parse_size("twenty gigs")
