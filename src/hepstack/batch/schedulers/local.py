"""Local: the tasks run on this host, at most one per CPU, in a detached session that outlives hepstack.

The native id is the session id of the driver (``seq | xargs -P``); `ps -s` tells whether it still runs,
`kill -- -SID` cancels it. Exit codes come only from the job's <task>.exitcode files.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from hepstack.batch.schedulers.base import WHOLE_JOB, QueuedJob, Scheduler
from hepstack.batch.spec import JobSpec
from hepstack.batch.states import QueueEntry, TaskState
from hepstack.errors import HepstackError
from hepstack.names import is_decimal
from hepstack.proc import Completed


class LocalScheduler(Scheduler):
    name = "local"
    tool = "setsid"
    install_hint = "apt-get install util-linux procps"
    template = "local.tmpl"

    def directives(self, spec: JobSpec) -> list[str]:
        return []

    def submit_argv(self, script: Path, spec: JobSpec) -> list[str]:
        parallel = max(1, (os.cpu_count() or 1) // (spec.resources.cpus or 1))
        # The driver first closes every descriptor it inherited beyond stdio (a lock the submitter holds
        # on the job directory must end with this launcher, not with the job).
        closing = 'for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"; done; '
        driver = closing + f"seq 1 {spec.tasks} | xargs -P {parallel} -n 1 bash {shlex.quote(str(script))}"
        # setsid (not a process-group leader here) execs in place: $! is the new session's id, also kept in
        # the job directory so that it is known even if the submitter dies before it reads it.
        native_file = shlex.quote(str(script.parent / "native.id"))
        launcher = (
            f"setsid bash -c {shlex.quote(driver)} </dev/null >/dev/null 2>&1 & "
            f"(umask 077; echo $! >{native_file}.tmp) && mv -f {native_file}.tmp {native_file}; echo $!"
        )
        return ["bash", "-c", launcher]

    def parse_submit(self, stdout: str) -> str:
        native = stdout.strip()
        if not is_decimal(native):
            raise HepstackError(f"the local launcher printed no session id: {stdout!r}")
        return native

    def queue_argv(self, native_id: str) -> list[str]:
        return ["ps", "-o", "pid=", "-s", native_id]

    def parse_queue(self, result: Completed, native_id: str) -> dict[int, QueueEntry]:
        if result.stdout.strip():
            return {WHOLE_JOB: QueueEntry(TaskState.RUNNING, "session alive")}
        return {}

    def cancel_argv(self, native_id: str) -> list[str]:
        return ["kill", "-TERM", "--", f"-{native_id}"]

    def user_queue_argv(self, user: str) -> list[str]:
        # every live session of the user; a local job is alive while its session is (no names here:
        # the launcher writes the session id into the job directory instead)
        return ["ps", "-o", "sid=", "-U", user]

    def parse_user_queue(self, result: Completed) -> dict[str, QueuedJob]:
        sessions = {word for word in result.stdout.split() if word.isdigit()}
        return {
            sid: QueuedJob("", {WHOLE_JOB: QueueEntry(TaskState.RUNNING, "session alive")})
            for sid in sessions
        }

    def ping_argv(self) -> list[str]:
        return ["true"]
