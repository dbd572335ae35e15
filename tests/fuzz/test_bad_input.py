"""Bad stack specs, site files and study files give `error:` with file:line and exit 2
-- never a traceback, a hang or unbounded memory.

``test_generated_inputs`` runs ``FUZZ_INPUTS`` (default 2,000) seeded inputs (``FUZZ_SEED``, default 11)
through two long-lived worker processes (tests/fuzz/worker.py: RLIMIT_AS and a per-input alarm) and
prints its figures with ``pytest -s``. ``test_cli_*`` run the worst kinds through the real CLI.
A failing input is kept: its directory and the command that reproduces it are printed.
"""

from __future__ import annotations

import collections
import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from tests.conftest import HEPSTACK
from tests.fuzz.generate import Case, generate

WORKER = Path(__file__).with_name("worker.py")
MEASURE = Path(__file__).with_name("measure.py")
INPUTS = int(os.environ.get("FUZZ_INPUTS", "2000"))
SEED = int(os.environ.get("FUZZ_SEED", "11"))
SECONDS = 10.0  # per input (docs/input-limits.md)
MEMORY = 256 * 2**20  # per input (docs/input-limits.md)
GRACE = 5.0  # after SECONDS, the parent kills a worker that has not answered


class Worker:
    """One ``worker.py`` process: send a case, read its result (or kill it when it does not answer)."""

    def __init__(self, log: IO[str]) -> None:
        env = {**os.environ, "FUZZ_SECONDS": str(SECONDS), "FUZZ_MEMORY": str(MEMORY)}
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
            cwd=Path(__file__).parents[2],
        )
        assert self.process.stdout is not None and self.process.stdin is not None
        self.stdout, self.stdin = self.process.stdout, self.process.stdin
        self.hello = json.loads(self.stdout.readline())
        self.case: Case | None = None
        self.sent = 0.0

    def send(self, case: Case, request: dict[str, Any]) -> None:
        self.case, self.sent = case, time.monotonic()
        self.stdin.write(json.dumps(request) + "\n")
        self.stdin.flush()

    def kill(self) -> None:
        self.process.kill()
        self.close()

    def close(self) -> None:
        self.stdin.close()
        self.process.wait(timeout=30)
        self.stdout.close()


def _request(case: Case, directory: Path) -> dict[str, Any]:
    path = case.entry if case.entry.startswith("/") else str(directory / case.entry)
    return {"number": case.number, "target": case.target, "path": path, "directory": str(directory)}


def run_cases(cases: list[Case], root: Path, workers: int = 2) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Results of every case, in order, and facts about the workers."""
    log = (root / "workers.log").open("w")
    pool = [Worker(log) for _ in range(workers)]
    facts = {"rss": pool[0].hello["rss"], "address_space": pool[0].hello["address_space"]}
    results: dict[int, dict[str, Any]] = {}
    pending = collections.deque(cases)
    selector = selectors.DefaultSelector()
    for worker in pool:
        selector.register(worker.stdout, selectors.EVENT_READ, worker)
    try:
        while len(results) < len(cases):
            for worker in pool:
                if worker.case is None and pending:
                    case = pending.popleft()
                    worker.send(case, _request(case, case.materialize(root)))
            for key, _ in selector.select(timeout=0.5):
                worker = key.data
                assert worker.case is not None
                line = worker.stdout.readline()
                result = json.loads(line) if line else {"outcome": "worker died", "seconds": 0, "memory": 0}
                results[worker.case.number] = result
                if not problems_with(result):  # failing cases stay, to be looked at
                    shutil.rmtree(root / f"case-{worker.case.number:05d}")
                worker.case = None
                if result["outcome"] in {"worker died", "hang", "memory"}:  # its state is unknown now
                    _replace(pool, worker, selector, log)
            for worker in list(pool):
                if worker.case is not None and time.monotonic() - worker.sent > SECONDS + GRACE:
                    results[worker.case.number] = {"outcome": "hang (killed)", "seconds": SECONDS + GRACE}
                    _replace(pool, worker, selector, log)
    finally:
        for worker in pool:
            worker.close()
        log.close()
    facts["peak_rss"] = max(result.get("peak_rss", 0) for result in results.values())
    return [results[case.number] for case in cases], facts


def _replace(pool: list[Worker], worker: Worker, selector: selectors.BaseSelector, log: IO[str]) -> None:
    selector.unregister(worker.stdout)
    worker.kill()
    fresh = Worker(log)
    pool[pool.index(worker)] = fresh
    selector.register(fresh.stdout, selectors.EVENT_READ, fresh)


def problems_with(result: dict[str, Any]) -> str:
    """What is wrong with one result, or "" (exit 0, or exit 2 with `error:` and every file:line)."""
    if result["outcome"] != "ok":
        return f"{result['outcome']}: {result.get('detail', '')}"
    if result["exit"] == 0:
        return ""
    stderr = result["stderr"]
    if not stderr.startswith("error: ") or "Traceback" in stderr:
        return f"exit 2 but not an `error:` message: {stderr[:300]!r}"
    for file, line, key_path in result["located"][:50]:  # the first 50 are printed
        if line is None and key_path != "(file)":
            return f"no line for {key_path} in {file}: {stderr[:300]!r}"
        if line is not None and f"{file}:{line}: {key_path}" not in stderr:
            return f"{file}:{line}: {key_path} is not in the message: {stderr[:300]!r}"
    return ""


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Path]:
    """Where the cases are written: tmpfs if there is one (2,000 case directories took 11 s to delete
    on this VM's disk under load, 0.2 s on /dev/shm), else pytest's tmp_path."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    directory = Path(tempfile.mkdtemp(prefix="hepstack-fuzz-", dir=shm))
    yield directory
    if not any(directory.glob("case-*")):  # failing cases are kept for a look
        shutil.rmtree(directory)


def test_generated_inputs(scratch: Path) -> None:
    started = time.monotonic()
    cases = generate(SEED, INPUTS)
    results, facts = run_cases(cases, scratch)
    elapsed = time.monotonic() - started

    failures = [(case, problems_with(result)) for case, result in zip(cases, results, strict=True)]
    failures = [(case, problem) for case, problem in failures if problem]
    kinds = collections.Counter(case.kind.split(" + ")[0].split(":")[0].split(" (")[0] for case in cases)
    slowest = max(zip(results, cases, strict=True), key=lambda pair: pair[0]["seconds"])
    hungriest = max(zip(results, cases, strict=True), key=lambda pair: pair[0]["memory"])
    exits = collections.Counter(str(r.get("exit")) for r in results)
    print(f"\nfuzz: {len(cases)} inputs (seed {SEED}) in {elapsed:.1f} s with 2 workers")
    print(f"fuzz: targets {dict(collections.Counter(c.target for c in cases))}; exit codes {dict(exits)}")
    print(f"fuzz: {len(kinds)} kinds: " + ", ".join(f"{kind} {count}" for kind, count in kinds.most_common()))
    print(f"fuzz: max time {slowest[0]['seconds']:.2f} s ({slowest[1].kind}); bound {SECONDS:.0f} s")
    print(
        f"fuzz: max memory of one input {hungriest[0]['memory'] / 2**20:.1f} MiB ({hungriest[1].kind}); "
        f"bound {MEMORY / 2**20:.0f} MiB (RLIMIT_AS {facts['address_space'] / 2**20:.0f} MiB); "
        f"worker RSS after imports {facts['rss'] / 2**20:.0f} MiB"
    )
    print(f"fuzz: {len(failures)} failures (tracebacks, hangs, memory, bad messages)")
    shown = [
        f"case {case.number} ({case.target}, {case.kind}) in {scratch}/case-{case.number:05d}: "
        + "\n    ".join(problem.strip().splitlines()[-3:])
        for case, problem in failures[:20]
    ]
    assert not failures, "\n".join(shown)
    assert len(kinds) >= 20 and exits["2"] > len(cases) / 2 and exits["0"] > 0


# --- the worst kinds through the real CLI -------------------------------------------------------------


def _cli(scratch: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, float, int]:
    """Exit code, stderr, seconds and peak RSS (bytes) of one ``hepstack`` run, killed after 20 s and
    under 2 GiB of address space (tests/fuzz/measure.py), so that a regression cannot take the machine."""
    measured = subprocess.run(
        [sys.executable, str(MEASURE), "20", HEPSTACK, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=True,
    )
    result = json.loads(measured.stdout)
    return result["exit"], measured.stderr, result["seconds"], result["peak_rss"]


BOMB = "".join(
    [
        'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n',
        *(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 10)),
        "stack: demo\nrelease: '1'\nlayers: {base: {from: *a9}}\n",
    ]
)


def _worst_kinds(directory: Path) -> dict[str, tuple[list[str], dict[str, str], list[str]]]:
    """name -> (hepstack arguments, environment, what the error must say) of the worst inputs reported."""
    os.mkfifo(directory / "fifo.yaml")
    (directory / "bomb.yaml").write_text(BOMB)
    sites = directory / "sites"
    sites.mkdir()
    os.mkfifo(sites / "pipe.yaml")
    (sites / "bomb.yaml").write_text(BOMB.replace("stack: demo", "name: bomb"))
    fifo, bomb = str(directory / "fifo.yaml"), str(directory / "bomb.yaml")
    not_regular = ": (file): not a regular file"
    return {
        "build /dev/zero": (["build", "/dev/zero", "--dry-run"], {}, [f"/dev/zero{not_regular}"]),
        "build FIFO": (["build", fifo, "--dry-run"], {}, [f"fifo.yaml{not_regular} (a FIFO)"]),
        "build alias bomb": (["build", bomb, "--dry-run"], {}, ["bomb.yaml:5: a4[1]: the document holds"]),
        "sites FIFO + bomb": (
            ["sites"],
            {"HEPSTACK_SITES_PATH": str(sites)},
            [f"pipe.yaml{not_regular} (a FIFO)", "bomb.yaml:5: a4[1]: the document holds"],
        ),
        "bench FIFO": (["bench", fifo], {}, [f"fifo.yaml{not_regular} (a FIFO)"]),
    }


def test_cli_worst_kinds(tmp_path: Path) -> None:
    """The real CLI: exit 2, `error:` naming the file (and line), no traceback, in bounds."""
    for name, (arguments, env, expected) in _worst_kinds(tmp_path).items():
        code, stderr, seconds, peak = _cli(tmp_path, *arguments, env=env)
        print(f"cli: hepstack {name}: exit {code} in {seconds:.2f} s, peak RSS {peak / 2**20:.0f} MiB")
        assert code == 2, (name, stderr)
        assert stderr.startswith("error: ") and "Traceback" not in stderr, (name, stderr)
        assert all(fragment in stderr for fragment in expected), (name, stderr)
        assert seconds < SECONDS and peak < MEMORY, (name, seconds, peak)
