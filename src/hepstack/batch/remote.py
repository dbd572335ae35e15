"""A job on a site's login host: its job directory there, the script copied in, one ssh per poll.

The job directory is ``~/.local/share/hepstack/jobs/<stamp>-<hex>`` of the user on the login host
(0700, like a local one), on the file system the farm's nodes share with it. The job script is rendered
here with that path, then written there through ``ssh ... cat``. A status poll is one ssh command: the
scheduler's queue query, then the exit-code files and which task logs exist, read in the same remote
shell. The last states seen are kept locally, so a site that does not answer leaves every task in its
last known state, never failed.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from hepstack import private
from hepstack.batch.states import TaskState, TaskStatus
from hepstack.batch.transport import Transport
from hepstack.context import Context
from hepstack.errors import HepstackError
from hepstack.proc import Completed
from hepstack.quoting import check_text

JOBS_UNDER_HOME = ".local/share/hepstack/jobs"
_MARK = "@hepstack-files@"
# What the remote shell prints after the queue's output: the queue command's exit code, then one line
# per file of the job directory hepstack reads ("3.exitcode:0", "3.log").
_OBSERVE = (
    'd=$1; shift; "$@"; rc=$?; printf "\\n%s %s\\n" "' + _MARK + '" "$rc"; '
    'cd "$d" 2>/dev/null || exit 0; '
    'for f in [0-9]*.exitcode; do [ -f "$f" ] && printf "%s:%s\\n" "$f" "$(head -c 32 "$f")"; done; '
    'for f in [0-9]*.log; do [ -f "$f" ] && printf "%s\\n" "$f"; done; exit 0'
)
_CODE_LINE = re.compile(r"^([0-9]{1,9})\.exitcode:(-?[0-9]{1,9})\s*\Z")
_LOG_LINE = re.compile(r"^([0-9]{1,9})\.log\Z")


def remote_jobdir(transport: Transport) -> Path:
    """A new job directory's path on the login host (not yet made): under the remote $HOME."""
    result = transport.run(["sh", "-c", 'printf "%s" "$HOME"'], check=True, hint="does the login work?")
    home = check_text(result.stdout.strip(), "the login host's $HOME")
    if not home.startswith("/") or "\\" in home or "%" in home:
        raise HepstackError(
            f"the login host's $HOME is {home!r}, not an absolute path hepstack can use",
            hint="set HOME in the remote account, or ask the site",
        )
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Path(PurePosixPath(home) / JOBS_UNDER_HOME / f"{stamp}-{secrets.token_hex(3)}")


def write_remote_jobdir(transport: Transport, jobdir: Path, files: dict[str, tuple[str, str]]) -> None:
    """``mkdir -m 700`` the job directory (a new one: mkdir fails on anything already there), then each
    file as ``name -> (text, octal mode)`` through ``cat`` (umask 077: never readable by others)."""
    transport.run(["mkdir", "-p", "-m", "700", str(jobdir.parent)], check=True)
    transport.run(["mkdir", "-m", "700", str(jobdir)], check=True)
    for name, (text, mode) in files.items():
        transport.run(
            ["sh", "-c", 'umask 077 && cat >"$1" && chmod "$2" "$1"', "sh", str(jobdir / name), mode],
            input_text=text,
            check=True,
            hint=f"could not write {jobdir / name} on the login host",
        )


@dataclass(frozen=True)
class Observation:
    """One poll: the queue command's result, the exit codes written, the tasks whose log exists."""

    queue: Completed
    codes: dict[int, int]
    started: set[int]


def observe(transport: Transport, queue_argv: list[str], jobdir: Path) -> Observation:
    result = transport.run(["sh", "-c", _OBSERVE, "sh", str(jobdir), *queue_argv], timeout=60)
    before, _, after = result.stdout.rpartition(f"\n{_MARK} ")
    if not _:
        raise HepstackError(
            f"the login host's answer to a status query is not hepstack's: {result.stderr.strip()!r}",
            hint="does the login shell print anything on its own (a banner in .bashrc)?",
        )
    lines = after.splitlines()
    code = int(lines[0]) if lines and lines[0].lstrip("-").isdigit() else 1
    codes: dict[int, int] = {}
    started: set[int] = set()
    for line in lines[1:]:
        if found := _CODE_LINE.match(line):
            codes[int(found[1])] = int(found[2])
        elif found := _LOG_LINE.match(line):
            started.add(int(found[1]))
    queue = Completed(queue_argv, code, before, result.stderr)
    return Observation(queue, codes, started)


def read_remote_log(transport: Transport, path: Path) -> str | None:
    result = transport.run(["sh", "-c", '[ -f "$1" ] || exit 3; exec cat "$1"', "sh", str(path)])
    return result.stdout if result.returncode == 0 else None


# --- the last states seen, for a site that does not answer --------------------------------------------


def _last_known_path(context: Context, job_id: int) -> str:
    return str(context.data_path("jobs") / f"last-known-{job_id}.json")


def remember(context: Context, job_id: int, statuses: list[TaskStatus]) -> None:
    data = [[s.index, s.state.value, s.exit_code, s.detail] for s in statuses]
    private.write_atomically(_last_known_path(context, job_id), json.dumps(data).encode())


def saved_states(context: Context, job_id: int) -> dict[int, TaskStatus]:
    try:
        rows = json.loads(private.read_trusted(_last_known_path(context, job_id)))
        return {int(r[0]): TaskStatus(int(r[0]), TaskState(r[1]), r[2], str(r[3])) for r in rows}
    except (OSError, ValueError, TypeError, IndexError):
        return {}


def last_known(context: Context, job_id: int, tasks: int, reason: str) -> list[TaskStatus]:
    """The states saved by :func:`remember`, each marked unreachable; UNKNOWN for a task never seen."""
    saved = saved_states(context, job_id)
    statuses = []
    for index in range(1, tasks + 1):
        status = saved.get(index, TaskStatus(index, TaskState.UNKNOWN, detail="not seen yet"))
        statuses.append(replace(status, detail=f"{reason}; last known: {status.detail}"))
    return statuses
