"""Remembered launches: a repeated `hepstack run` execs its runtime without resolving anything again.

Resolving a `hepstack run` (the catalog in SQLite, the runtime's module, who runs it, a native layer's
environment) costs ~50 ms of imports and I/O on top of the interpreter's own start, while the runtime
it then starts takes from 5 ms (native) to 0.4 s (podman); docs/running.md. The result, the
runtime's command line up to the user's command and the runtime process's own variables, depends on:

- the `run` options and IMAGE; the user's command is appended as it is, so it is not part of the key;
- the working directory (relative binds), the effective uid and gid, whether stdin and stdout are
  terminals, the Python version (plans are marshal data);
- the variables in :data:`PLAN_ENVIRONMENT` (tests/runtimes/test_launch_plan.py checks that resolving
  a run reads no other);
- files: the catalog, /etc/passwd, the hepstack modules that resolved it, and what the runtime names
  (a native layer's spec, ch-run's unpacked tree); bind sources must still exist.

A run from the node image cache (ch-run's unpacked trees) follows the cache's protocol on the fast path
too, with the same functions (:mod:`hepstack.cache_use`): hold the entry's use lock shared, on a
descriptor the runtime inherits, then check the entry, then mark its use (least-recently-used eviction).

The full path (:func:`hepstack.run.launch.run`) writes that result, a *plan*, to
``CACHE_DIR/launch-<uid>/<crc32 of the key>.plan`` with the stat signature of each file. The fast path
(:mod:`hepstack.entry`) reads it with builtins only (`import re` alone costs 10 ms here), checks every
input and execs. A plan that is missing, unreadable, not the user's own, from another format or Python,
or whose inputs changed is ignored: the full path runs and writes a fresh one. Runtimes opt in
(:meth:`hepstack.runtimes.Runtime.plan_files`); one with other work before every exec (an image copied
between engines is checked for) is never remembered.
"""

from __future__ import annotations

import marshal
import os
import sys
import zlib

from hepstack import dirs, private

TYPE_CHECKING = False  # typing costs the fast path ~10 ms of imports
if TYPE_CHECKING:
    from typing import Any

PLAN_FORMAT = 2
# Every variable that resolving a run reads: hepstack's directories, the user (sudo), the runtime binary
# (PATH, HEPSTACK_DOCKER) and native's TERM. Anything else reaches the runtime at exec time, not the plan.
PLAN_ENVIRONMENT = (
    "HEPSTACK_DATA_DIR",
    "HEPSTACK_CACHE_DIR",
    "HEPSTACK_CATALOG",
    "HEPSTACK_NODE_CACHE",
    "HEPSTACK_CACHE_OWNER",
    "HEPSTACK_DOCKER",
    "XDG_DATA_HOME",
    "XDG_CACHE_HOME",
    "HOME",
    "PATH",
    "SUDO_UID",
    "SUDO_GID",
    "TERM",
)
KEPT_PLANS = 512  # per user; a pipeline running each step in its own directory writes one plan per step
PASSWD = "/etc/passwd"  # the invoking user's name and home come from it
MUST_EXIST = True  # a file signature meaning "exists, whatever its contents" (bind sources)

Signature = tuple[int, int, int] | bool | None


def terminal_attached() -> bool:
    """Whether the run gets a TTY: stdin and stdout both terminals."""
    return os.isatty(0) and os.isatty(1)


def plan_key(
    image: str, runtime: str, bind: list[str], env: list[str], workdir: str | None, engine: str | None
) -> str:
    """Everything a run's resolution depends on, except files, as one string."""
    environment = tuple(os.environ.get(name) for name in PLAN_ENVIRONMENT)
    where = (_working_directory(), os.geteuid(), os.getegid(), terminal_attached(), sys.version)
    return repr((PLAN_FORMAT, image, runtime, tuple(bind), tuple(env), workdir, engine, where, environment))


def _working_directory() -> str | None:
    try:
        return os.getcwd()
    except OSError:
        return None  # deleted under us: only relative binds need it, and those fail to resolve anyway


def plan_path(key: str) -> str:
    folder = os.path.join(dirs.cache_dir(os.environ), f"launch-{os.geteuid()}")
    return os.path.join(folder, f"{zlib.crc32(key.encode()):08x}.plan")


def signature(path: str) -> tuple[int, int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size, status.st_ino


def signatures(paths: list[str]) -> dict[str, Signature]:
    return {path: signature(path) for path in paths}


def _unchanged(path: str, expected: Signature) -> bool:
    if expected is MUST_EXIST:
        return os.path.exists(path)
    return signature(path) == expected


def exec_remembered(key: str, command: list[str]) -> None:
    """Exec the plan remembered for ``key`` with ``command`` appended; return if there is none valid."""
    if "=" in command[0]:
        return  # the full path explains why that is not a command
    held: list[int] = []
    try:
        plan_format, stored_key, files, holds, argv_prefix, process_env = _read_plan(key)
        if plan_format != PLAN_FORMAT or stored_key != key:
            return
        held = _hold_shared([use_lock for use_lock, _ in holds])  # before checking what they protect
        if not all(_unchanged(path, expected) for path, expected in files.items()):
            _release(held)
            return
        if holds:
            from hepstack.cache_use import mark_used

            for _, last_use in holds:
                mark_used(last_use)
        environment = dict(os.environ)
        environment.update(process_env)
        os.execvpe(argv_prefix[0], [*argv_prefix, *command], environment)
    except Exception:  # no plan, not the user's, damaged, a lock or exec failed: the full path decides
        _release(held)


def _read_plan(key: str) -> tuple[Any, ...]:
    """The plan for ``key``, from a private folder and a file of the user's own (else an OSError): one
    planted in a shared cache is never run."""
    path = plan_path(key)
    folder = os.stat(os.path.dirname(path))
    if folder.st_uid != os.geteuid() or folder.st_mode & private.OTHERS_ANY:
        raise private.UntrustedFile(f"{path}: not in a private folder of the user's")
    plan = marshal.loads(private.read_trusted(path))
    if not isinstance(plan, tuple) or len(plan) != 6:
        raise ValueError("not a plan")
    return plan


def _hold_shared(locks: list[str]) -> list[int]:
    """Shared use locks on ``locks`` (all, or none and the error)."""
    if not locks:
        return []
    from hepstack.cache_use import hold_shared

    held: list[int] = []
    try:
        for path in locks:
            held.append(hold_shared(path))
    except OSError:
        _release(held)
        raise
    return held


def _release(held: list[int]) -> None:
    for descriptor in held:
        os.close(descriptor)


def remember(
    key: str,
    argv: list[str],
    command: list[str],
    process_env: dict[str, str],
    files: dict[str, Signature],
    holds: list[tuple[str, str]],
) -> None:
    """Write the plan for ``key`` (best effort: a cache). ``files`` were signed before resolving;
    ``holds`` are (use lock, last-use file) of the node-cache entries the run uses."""
    if not command or argv[len(argv) - len(command) :] != command:
        return  # the runtime puts something after the command: not a prefix plan
    files = dict(files)
    modules = [module.__file__ for name, module in sys.modules.items() if name.split(".")[0] == "hepstack"]
    for path in modules:
        if path and path not in files:
            files[path] = signature(path)
    plan = (PLAN_FORMAT, key, files, holds, argv[: len(argv) - len(command)], dict(process_env))
    path = plan_path(key)
    folder = os.path.dirname(path)
    try:
        # UnsafeState, an error, if another user made or can write the cache or this folder
        private.private_tree(dirs.cache_dir(os.environ), (os.path.basename(folder),), "HEPSTACK_CACHE_DIR")
        private.write_atomically(path, marshal.dumps(plan))  # a reader sees the old plan or the new one
    except OSError:
        return  # no cache here (a read-only home, a full disk): the next run resolves again
    _prune(folder)


def _prune(folder: str, keep: int = KEPT_PLANS) -> None:
    """Keep the ``keep`` newest plans: the rest were written longest ago (resolving again is cheap)."""
    import contextlib

    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        plans = [entry for entry in entries if entry.name.endswith(".plan")]
        if len(plans) <= keep:
            return
        plans.sort(key=lambda entry: entry.stat().st_mtime_ns)
        for entry in plans[: len(plans) - keep]:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
