"""Fuzz worker: loads each input in-process through the functions the CLI calls, as the CLI would.

Started by tests/fuzz/test_bad_input.py as ``python worker.py``. Reads one JSON request a line on
stdin ({"target", "path", "directory"}), answers one JSON line each on its own copy of stdout. Each
input runs under SIGALRM (``FUZZ_SECONDS``, default 10) and the whole worker under RLIMIT_AS =
its size after imports + ``FUZZ_MEMORY`` (default 256 MiB), so a hang or a memory bomb ends that
input with a "hang" or "memory" outcome instead of the machine; the parent also kills a worker that
does not answer.

- stack: ``load_stack`` + ``make_plan`` + ``print_plan`` = ``hepstack build SPEC --dry-run --show``
  without the engine's one ``image inspect`` call (its argv holds only validated names);
- site: the ``hepstack sites`` command with HEPSTACK_SITES_PATH = the case directory;
- study: ``load_study``, what ``hepstack bench STUDY`` does first.

A HepstackError is printed with ``print_error`` and is exit code 2, as in ``hepstack.cli.main``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

SECONDS = float(os.environ.get("FUZZ_SECONDS", "10"))
MEMORY = int(os.environ.get("FUZZ_MEMORY", str(256 * 2**20)))


class InputTimeout(BaseException):
    """Raised by SIGALRM; a BaseException so that no `except Exception` in the code under test eats it."""


def _alarm(signum: int, frame: object) -> None:
    raise InputTimeout


def _status() -> dict[str, int]:
    """VmSize, VmRSS, VmHWM of this process, in bytes."""
    values = {}
    with open("/proc/self/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in {"VmSize", "VmRSS", "VmHWM"}:
                values[name] = int(rest.split()[0]) * 1024
    return values


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as clear:  # "5": reset VmHWM to the current RSS (Linux 4.0+)
        clear.write("5")


def run_stack(path: Path, directory: Path) -> str:
    from rich.console import Console

    from hepstack.build.plan import make_plan
    from hepstack.cli.build import print_plan
    from hepstack.spec import load_stack

    stack = load_stack(path)
    plan = make_plan(stack)
    print_plan(Console(file=io.StringIO(), width=200), stack, plan, show=True)
    return _unsafe_inputs(stack, plan)


def _unsafe_inputs(stack: Any, plan: Any) -> str:
    """Why an accepted spec's plan reads what it may not, or "": every input inside its build context,
    a regular file or directory."""
    root = stack.directory.resolve()
    for layer in plan:
        containerfile = stack.containerfiles.get(layer.name)
        context = containerfile.context.resolve() if containerfile else root
        if context != root and root not in context.parents:
            return f"{layer.name}: context {context} is outside {root}"
        for item in layer.inputs:
            if item != context and context not in item.parents:
                return f"{layer.name}: input {item} is outside {context}"
            if not (item.is_file() or item.is_dir()) or item.is_symlink():
                return f"{layer.name}: input {item} is not a regular file or directory"
    return ""


def run_site(path: Path, directory: Path) -> str:
    from hepstack.cli.batch import sites

    os.environ["HEPSTACK_SITES_PATH"] = str(directory)
    sites()
    return ""


def run_study(path: Path, directory: Path) -> str:
    from hepstack.bench.study import load_study

    load_study(path)
    return ""


TARGETS = {"stack": run_stack, "site": run_site, "study": run_study}


def run_one(request: dict[str, Any]) -> dict[str, Any]:
    from hepstack.errors import HepstackError, print_error

    out, err = io.StringIO(), io.StringIO()
    result: dict[str, Any] = {"outcome": "ok", "exit": None, "located": [], "detail": ""}
    _reset_peak()
    before = _status()["VmRSS"]
    started = time.perf_counter()
    signal.setitimer(signal.ITIMER_REAL, SECONDS)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                result["detail"] = TARGETS[request["target"]](
                    Path(request["path"]), Path(request["directory"])
                )
                result["exit"] = 0
                if result["detail"]:
                    result["outcome"] = "unsafe"
            except HepstackError as exc:
                print_error(exc)
                result["exit"] = 2
                result["located"] = [[e.file, e.line, e.key_path] for e in getattr(exc, "errors", [])]
    except InputTimeout:
        result["outcome"] = "hang"
    except MemoryError:
        result["outcome"], result["detail"] = "memory", traceback.format_exc(limit=-8)
    except BaseException:
        result["outcome"], result["detail"] = "traceback", traceback.format_exc(limit=-12)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    result["seconds"] = time.perf_counter() - started
    result["memory"] = max(0, _status()["VmHWM"] - before)
    result["stderr"] = err.getvalue()[:200_000]
    return result


def main() -> None:
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)  # nothing the code under test writes to fd 1 can corrupt the protocol
    for module in (
        "hepstack.spec",
        "hepstack.build.plan",
        "hepstack.cli.build",
        "hepstack.cli.batch",
        "hepstack.sites",
        "hepstack.bench.study",
        "rich.console",
        "yaml",
        "dockerfile_parse",
    ):
        __import__(module)
    baseline = _status()
    limit = baseline["VmSize"] + MEMORY
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
    signal.signal(signal.SIGALRM, _alarm)
    protocol.write(json.dumps({"ready": True, "rss": baseline["VmRSS"], "address_space": limit}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        result = run_one(request)
        result["number"] = request["number"]
        result["peak_rss"] = _status()["VmRSS"]
        protocol.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
