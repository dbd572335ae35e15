"""The one place hepstack runs other programs.

Every call takes an argv list (never a shell string), is logged, and raises :class:`ProcessError` with
the exit code and the tail of stderr when the program fails.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from hepstack.errors import ProcessError, ToolMissing
from hepstack.private import open_log

# logging and subprocess are imported where a program is run: `hepstack run` only finds and execs its
# runtime, and every millisecond of its start-up is overhead on each job step (benchmarks/run_overhead.py).

# Debian's docker.io ships its client as /usr/bin/docker. Hosts may have another, newer client first
# on PATH (here /usr/local/bin/docker 28.x) whose `build` needs the buildx plugin the Debian engine
# lacks, so the engine's own client comes first. HEPSTACK_DOCKER overrides.
_DOCKER_CLIENTS = ("/usr/bin/docker",)
DOCKER_INSTALL_HINT = "apt-get install docker.io and start dockerd (or run scripts/setup-host.sh)"


@dataclass(frozen=True)
class Completed:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str


def which(tool: str) -> str | None:
    """Absolute path of ``tool`` on PATH, or None."""
    return shutil.which(tool)


def require(tool: str, purpose: str, install_hint: str) -> str:
    """Path of ``tool`` or :class:`ToolMissing` naming what needed it and how to install it."""
    path = which(tool)
    if path is None:
        raise ToolMissing(tool, purpose, install_hint)
    return path


class Tool:
    """A program hepstack drives through its CLI: an engine, a runtime or a scheduler.

    ``binary()`` finds it or raises :class:`ToolMissing` naming it ("the podman engine") and the hint.
    """

    name: str
    tool: str  # the executable looked up on PATH
    install_hint: str
    role: ClassVar[str] = "tool"  # what an error calls it: engine, runtime, scheduler

    def binary(self) -> str:
        return require(self.tool, f"the {self.name} {self.role}", self.install_hint)


class DockerClient(Tool):
    """Docker's engine and runtime: the same client, found by :func:`docker_binary`."""

    tool = "docker"
    install_hint = DOCKER_INSTALL_HINT

    def binary(self) -> str:
        return docker_binary()


def docker_binary(environment: Mapping[str, str] | None = None) -> str:
    """The docker client to use: HEPSTACK_DOCKER, else Debian's /usr/bin/docker, else docker on PATH."""
    environment = os.environ if environment is None else environment
    override = environment.get("HEPSTACK_DOCKER")
    if override:
        return override
    for candidate in _DOCKER_CLIENTS:
        if Path(candidate).is_file():
            return candidate
    return require("docker", "the docker engine", DOCKER_INSTALL_HINT)


def _log_debug(message: str, argv: list[str]) -> None:
    import logging

    logging.getLogger("hepstack.proc").debug(message, " ".join(argv))


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    input_text: str | None = None,
    timeout: float | None = None,
    hint: str | None = None,
    pass_fds: Sequence[int] = (),
) -> Completed:
    """Run ``argv`` to completion, capturing stdout and stderr as text.

    ``pass_fds`` stay open in the child: a lock held on one of them is held until the child exits, even if
    this process dies first (how a pipeline submission stays atomic across ``kill -9``).
    """
    import subprocess

    argv = [str(a) for a in argv]
    _log_debug("run: %s", argv)
    try:
        result = subprocess.run(  # noqa: S603 - argv list, never a shell
            argv,
            capture_output=True,
            text=True,
            env=_merged_env(env),
            cwd=cwd,
            input=input_text,
            timeout=timeout,
            check=False,
            pass_fds=tuple(pass_fds),
        )
    except FileNotFoundError as exc:
        raise ProcessError(argv, 127, f"{argv[0]}: not found", hint=hint) from exc
    except subprocess.TimeoutExpired as exc:
        raise ProcessError(argv, -1, f"timed out after {timeout} s", hint=hint) from exc
    if check and result.returncode != 0:
        raise ProcessError(argv, result.returncode, result.stderr or result.stdout, hint=hint)
    return Completed(argv, result.returncode, result.stdout, result.stderr)


def stream(
    argv: Sequence[str],
    *,
    on_line: Callable[[str], None],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    log_file: Path | None = None,
    hint: str | None = None,
) -> None:
    """Run ``argv``, passing each output line (stdout and stderr merged) to ``on_line`` as it appears.

    The full output also goes to ``log_file`` when given; a failure shows its tail.
    """
    import subprocess

    argv = [str(a) for a in argv]
    _log_debug("stream: %s", argv)
    tail: list[str] = []
    # a build log: 0600, in the private DATA_DIR/logs, never written through a planted symlink
    sink = open(open_log(str(log_file), "HEPSTACK_DATA_DIR"), "w", encoding="utf-8") if log_file else None  # noqa: SIM115
    try:
        with subprocess.Popen(  # noqa: S603 - argv list, never a shell
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            env=_merged_env(env),
            cwd=cwd,
        ) as child:
            assert child.stdout is not None
            for line in child.stdout:
                line = line.rstrip("\n")
                if sink:
                    sink.write(line + "\n")
                tail.append(line)
                del tail[:-40]
                on_line(line)
            returncode = child.wait()
    except FileNotFoundError as exc:
        raise ProcessError(argv, 127, f"{argv[0]}: not found", hint=hint) from exc
    finally:
        if sink:
            sink.close()
    if returncode != 0:
        more = f"full log: {log_file}" if log_file else None
        raise ProcessError(argv, returncode, "\n".join(tail), hint=hint or more)


def _merged_env(extra: Mapping[str, str] | None) -> dict[str, str] | None:
    if extra is None:
        return None
    merged = dict(os.environ)
    merged.update(extra)
    return merged
