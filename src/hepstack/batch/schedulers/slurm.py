"""SLURM: sbatch --array, squeue per task, sacct when accounting is on, scancel."""

from __future__ import annotations

from pathlib import Path

from hepstack.batch.schedulers.base import QueuedJob, Scheduler, not_found
from hepstack.batch.spec import JobSpec, duration_seconds, hms, memory_mb
from hepstack.batch.states import QueueEntry, TaskState, map_state
from hepstack.errors import HepstackError
from hepstack.names import is_decimal
from hepstack.proc import Completed
from hepstack.quoting import reject, slurm_word

# squeue(1) "JOB STATE CODES", https://slurm.schedmd.com/squeue.html#SECTION_JOB-STATE-CODES
# (sacct(1) "JOB STATE CODES" uses the same names). Final states still need an exit code to count.
SLURM_STATES: dict[str, TaskState] = {
    "BOOT_FAIL": TaskState.FAILED,
    "CANCELLED": TaskState.CANCELLED,
    "COMPLETED": TaskState.COMPLETED,
    "CONFIGURING": TaskState.QUEUED,
    "COMPLETING": TaskState.RUNNING,
    "DEADLINE": TaskState.FAILED,
    "FAILED": TaskState.FAILED,
    "NODE_FAIL": TaskState.FAILED,
    "OUT_OF_MEMORY": TaskState.FAILED,
    "PENDING": TaskState.QUEUED,
    "PREEMPTED": TaskState.FAILED,
    "RUNNING": TaskState.RUNNING,
    "RESV_DEL_HOLD": TaskState.HELD,
    "REQUEUE_FED": TaskState.QUEUED,
    "REQUEUE_HOLD": TaskState.HELD,
    "REQUEUED": TaskState.QUEUED,
    "RESIZING": TaskState.RUNNING,
    "REVOKED": TaskState.CANCELLED,
    "SIGNALING": TaskState.RUNNING,
    "SPECIAL_EXIT": TaskState.FAILED,
    "STAGE_OUT": TaskState.RUNNING,
    "STOPPED": TaskState.HELD,
    "SUSPENDED": TaskState.HELD,
    "TIMEOUT": TaskState.FAILED,
}


class SlurmScheduler(Scheduler):
    name = "slurm"
    tool = "sbatch"
    install_hint = "apt-get install slurm-wlm munge (a single-host test cluster: scripts/setup-schedulers.sh)"
    template = "slurm.tmpl"

    directive_prefix = "#SBATCH"

    def word(self, value: str, what: str) -> str:
        return slurm_word(value, what)

    def directives(self, spec: JobSpec) -> list[str]:
        resources = spec.resources
        lines = [
            self.directive("--job-name", spec.name),
            self.directive("--array", f"1-{spec.tasks}"),
            # The task's own output goes to <task>.log (the task body redirects); this file only
            # catches what happens before that line, e.g. a script that cannot start.
            f"{self.directive_prefix} --output={output_directory(spec.jobdir)}/scheduler-%A_%a.out",
        ]
        if resources.cpus:
            lines.append(self.directive("--cpus-per-task", str(resources.cpus)))
        if resources.memory:
            lines.append(self.directive("--mem", f"{memory_mb(resources.memory)}M"))
        if resources.time:
            lines.append(self.directive("--time", hms(duration_seconds(resources.time))))
        if resources.queue:
            lines.append(self.directive("--partition", resources.queue))
        if resources.account:
            lines.append(self.directive("--account", resources.account))
        return lines + [self.site_directive(text) for text in spec.directives]

    def submit_argv(self, script: Path, spec: JobSpec) -> list[str]:
        return [self.binary(), "--parsable", str(script)]

    def parse_submit(self, stdout: str) -> str:
        # --parsable: "jobid[;cluster]" (sbatch(1))
        text = stdout.strip().splitlines()[-1] if stdout.strip() else ""
        native = text.split(";")[0]
        if not is_decimal(native):
            raise HepstackError(f"sbatch printed no job id: {stdout!r}", hint="run the sbatch line by hand")
        return native

    def queue_argv(self, native_id: str) -> list[str]:
        # --array: one line per task, pending ranges expanded; %F array job id, %K task index, %T state
        # (squeue(1) -o; %A and %a are NOT the array ids).
        return ["squeue", "--noheader", "--array", "--jobs", native_id, "--format", "%F|%K|%T"]

    def parse_queue(self, result: Completed, native_id: str) -> dict[int, QueueEntry]:
        if result.returncode != 0:
            if not_found(result, "Invalid job id"):
                return {}
            raise HepstackError(f"squeue failed: {result.stderr.strip()}", hint="is slurmctld running?")
        tasks: dict[int, QueueEntry] = {}
        for line in result.stdout.splitlines():
            parts = line.strip().split("|")
            if len(parts) != 3 or parts[0] != native_id:
                continue
            index = int(parts[1]) if is_decimal(parts[1]) else 1
            tasks[index] = QueueEntry(map_state(SLURM_STATES, parts[2], self.name), parts[2])
        return tasks

    def accounting_argv(self, native_id: str) -> list[str] | None:
        return ["sacct", "--noheader", "--parsable2", "--jobs", native_id, "--format", "JobID,State,ExitCode"]

    def parse_accounting(self, result: Completed, native_id: str) -> dict[int, QueueEntry]:
        # Without slurmdbd sacct fails ("accounting storage is disabled"): exit codes then come only
        # from the <task>.exitcode files the job script writes.
        if result.returncode != 0:
            return {}
        tasks: dict[int, QueueEntry] = {}
        for line in result.stdout.splitlines():
            parts = line.split("|")
            if len(parts) != 3 or "." in parts[0]:
                continue  # job steps (ID_3.batch) repeat the task
            job, _, task = parts[0].partition("_")
            if job != native_id or not is_decimal(task):
                continue
            state = parts[1].split()[0]  # "CANCELLED by 1001"
            tasks[int(task)] = QueueEntry(
                map_state(SLURM_STATES, state, self.name), state, _task_exit_code(state, parts[2])
            )
        return tasks

    def cancel_argv(self, native_id: str) -> list[str]:
        return ["scancel", native_id]

    def cancel_task_argv(self, native_id: str, task: int) -> list[str]:
        return ["scancel", f"{native_id}_{task}"]  # scancel(1): JOBID_ARRAYID

    def user_queue_argv(self, user: str) -> list[str]:
        # %j (the name) last: hepstack's names never hold '|', anyone else's are cut at the first one
        return ["squeue", "--noheader", "--array", f"--user={user}", "--format=%F|%K|%T|%j"]

    def parse_user_queue(self, result: Completed) -> dict[str, QueuedJob]:
        if result.returncode != 0:
            raise HepstackError(f"squeue failed: {result.stderr.strip()}", hint="is slurmctld running?")
        jobs: dict[str, QueuedJob] = {}
        for line in result.stdout.splitlines():
            parts = line.strip().split("|", 3)
            if len(parts) != 4 or not is_decimal(parts[0]):
                continue
            job = jobs.setdefault(parts[0], QueuedJob(parts[3]))
            index = int(parts[1]) if is_decimal(parts[1]) else 1
            job.tasks[index] = QueueEntry(map_state(SLURM_STATES, parts[2], self.name), parts[2])
        return jobs

    def ping_argv(self) -> list[str]:
        return ["sinfo", "--noheader", "--format", "%P %a %D %T"]


def _task_exit_code(state: str, exit_field: str) -> int | None:
    """sacct's ExitCode ("code:signal", sacct(1)) as a shell would report it: the code, or 128 + the
    signal that killed the task. Only a task that ended by itself (COMPLETED, FAILED) has one: for one
    that SLURM ended, sacct says 0:0 (seen here with slurmdbd: "CANCELLED by 1001|0:0", "TIMEOUT|0:0").
    """
    code, _, signal = exit_field.partition(":")
    if state not in ("COMPLETED", "FAILED") or not is_decimal(code):
        return None
    return 128 + int(signal) if is_decimal(signal) and int(signal) else int(code)


def output_directory(jobdir: Path) -> str:
    """The job directory as the start of an --output file pattern: ``%`` doubled, since sbatch
    replaces ``%A``, ``%a``, ... there; a ``\\`` would turn every replacement off (sbatch(1),
    "filename pattern"), so all tasks would write one file."""
    text = str(jobdir)
    if "\\" in text:
        reject(text, "the job directory", "contains '\\'", "set HEPSTACK_DATA_DIR to a path without '\\'")
    return slurm_word(text.replace("%", "%%"), "the job directory")
