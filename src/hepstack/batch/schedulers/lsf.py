"""IBM Spectrum LSF: bsub < script with -J "name[1-N]", bjobs -o ... with a delimiter, bkill.

LSF cannot run here; the parsers are tested with the output formats IBM's documentation shows.
"""

from __future__ import annotations

import re
from pathlib import Path

from hepstack.batch.schedulers.base import QueuedJob, Scheduler, not_found
from hepstack.batch.spec import JobSpec, duration_seconds, memory_mb
from hepstack.batch.states import QueueEntry, TaskState, final_from_exit_code, map_state
from hepstack.errors import HepstackError
from hepstack.names import is_decimal
from hepstack.proc import Completed
from hepstack.quoting import lsf_word

# bjobs(1) "Job states", https://www.ibm.com/docs/en/spectrum-lsf/10.1.0?topic=bjobs-description
# DONE/EXIT are final and bjobs -a keeps them for CLEAN_PERIOD (1 hour by default).
LSF_STATES: dict[str, TaskState] = {
    "PEND": TaskState.QUEUED,
    "PROV": TaskState.QUEUED,
    "PSUSP": TaskState.HELD,
    "RUN": TaskState.RUNNING,
    "USUSP": TaskState.HELD,
    "SSUSP": TaskState.HELD,
    "WAIT": TaskState.QUEUED,
    "DONE": TaskState.COMPLETED,
    "EXIT": TaskState.FAILED,
    "UNKWN": TaskState.UNKNOWN,
    "ZOMBI": TaskState.UNKNOWN,
}
# bsub(1): "Job <1234> is submitted to queue <normal>."
_SUBMITTED = re.compile(r"Job <(\d+)> is submitted")
# bjobs -o fields (bjobs -o, https://www.ibm.com/docs/en/SSWRJV_10.1.0/lsf_command_ref/bjobs.o.1.html)
BJOBS_FORMAT = "jobid jobindex stat exit_code delimiter='|'"
BJOBS_USER_FORMAT = "jobid jobindex stat job_name delimiter='|'"
_ELEMENT = re.compile(r"\[\d+\]$")  # bjobs shows an array element's name as NAME[INDEX]


class LsfScheduler(Scheduler):
    name = "lsf"
    tool = "bsub"
    install_hint = "LSF is licensed software: run on a host where the site's LSF client is set up"
    template = "lsf.tmpl"

    directive_prefix = "#BSUB"

    def word(self, value: str, what: str) -> str:
        return lsf_word(value, what)

    def directives(self, spec: JobSpec) -> list[str]:
        # bsub replaces %J and %I in -o (bsub -o) and documents no escape for '%': none in the directory.
        lsf_word(str(spec.jobdir), "the job directory", forbidden="%")
        lines = [
            self.directive("-J", f"{spec.name}[1-{spec.tasks}]"),
            self.directive("-o", f"{spec.jobdir}/scheduler-%J.%I.out"),
        ]
        resources = spec.resources
        if resources.cpus:
            lines.append(self.directive("-n", str(resources.cpus)))
        if resources.memory:
            megabytes = memory_mb(resources.memory)
            lines += [
                self.directive("-M", f"{megabytes}MB"),
                self.directive("-R", f"rusage[mem={megabytes}]"),
            ]
        if resources.time:
            minutes = max(1, (duration_seconds(resources.time) + 59) // 60)
            lines.append(self.directive("-W", f"{minutes // 60}:{minutes % 60:02d}"))  # bsub -W [hour:]minute
        if resources.queue:
            lines.append(self.directive("-q", resources.queue))
        if resources.account:
            lines.append(self.directive("-P", resources.account))
        return lines + [self.site_directive(text) for text in spec.directives]

    def submit_argv(self, script: Path, spec: JobSpec) -> list[str]:
        return [self.binary()]  # the script on stdin, so bsub reads its #BSUB lines (bsub(1))

    def submit_input(self, script: Path) -> str | None:
        return script.read_text(encoding="utf-8")

    def parse_submit(self, stdout: str) -> str:
        match = _SUBMITTED.search(stdout)
        if not match:
            raise HepstackError(f"bsub printed no job id: {stdout!r}", hint="run bsub < job.sh by hand")
        return match[1]

    def queue_argv(self, native_id: str) -> list[str]:
        return ["bjobs", "-a", "-noheader", "-o", BJOBS_FORMAT, native_id]

    def parse_queue(self, result: Completed, native_id: str) -> dict[int, QueueEntry]:
        if not_found(result, "is not found"):
            return {}
        if result.returncode != 0 and not result.stdout.strip():
            raise HepstackError(f"bjobs failed: {result.stderr.strip()}", hint="is LSF reachable?")
        tasks: dict[int, QueueEntry] = {}
        for line in result.stdout.splitlines():
            parts = [part.strip() for part in line.split("|")]
            if len(parts) != 4 or parts[0] != native_id:
                continue
            index = int(parts[1]) if is_decimal(parts[1]) else 1
            native_state = parts[2]
            state = map_state(LSF_STATES, native_state, self.name)
            exit_code: int | None = None
            if native_state == "DONE":
                exit_code = 0
            elif native_state == "EXIT" and is_decimal(parts[3]):
                exit_code = int(parts[3])
            if state.final and exit_code is not None:
                state = final_from_exit_code(exit_code)
            tasks[index] = QueueEntry(state, native_state, exit_code)
        return tasks

    def cancel_argv(self, native_id: str) -> list[str]:
        return ["bkill", native_id]

    def cancel_task_argv(self, native_id: str, task: int) -> list[str]:
        return ["bkill", f"{native_id}[{task}]"]  # bkill(1): "job_ID[index]"

    def user_queue_argv(self, user: str) -> list[str]:
        return ["bjobs", "-u", user, "-noheader", "-o", BJOBS_USER_FORMAT]

    def parse_user_queue(self, result: Completed) -> dict[str, QueuedJob]:
        if not_found(result, "No unfinished job found"):
            return {}
        if result.returncode != 0 and not result.stdout.strip():
            raise HepstackError(f"bjobs failed: {result.stderr.strip()}", hint="is LSF reachable?")
        jobs: dict[str, QueuedJob] = {}
        for line in result.stdout.splitlines():
            parts = [part.strip() for part in line.split("|", 3)]
            if len(parts) != 4 or not parts[0].isdigit():
                continue
            job = jobs.setdefault(parts[0], QueuedJob(_ELEMENT.sub("", parts[3])))
            index = int(parts[1]) if parts[1].isdigit() and parts[1] != "0" else 1
            job.tasks[index] = QueueEntry(map_state(LSF_STATES, parts[2], self.name), parts[2])
        return jobs

    def ping_argv(self) -> list[str]:
        return ["bqueues"]
