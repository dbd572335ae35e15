"""HTCondor: a submit description with `queue N`, condor_q / condor_history -json, condor_rm.

HTCondor cannot run here (no Debian package); the parsers are tested with the JSON the manual shows.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from hepstack.batch.schedulers.base import QueuedJob, Scheduler
from hepstack.batch.spec import JobSpec, duration_seconds, memory_mb
from hepstack.batch.states import QueueEntry, TaskState, final_from_exit_code, map_state
from hepstack.errors import HepstackError
from hepstack.names import HTCONDOR_KEY
from hepstack.proc import Completed
from hepstack.quoting import check_text, classad_string, htcondor_value, reject

# JobStatus, "Job ClassAd Attributes" of the HTCondor manual,
# https://htcondor.readthedocs.io/en/latest/classad-attributes/job-classad-attributes.html
HTCONDOR_STATES: dict[str, TaskState] = {
    "1": TaskState.QUEUED,  # Idle
    "2": TaskState.RUNNING,  # Running
    "3": TaskState.CANCELLED,  # Removed
    "4": TaskState.COMPLETED,  # Completed (ExitCode tells success)
    "5": TaskState.HELD,  # Held
    "6": TaskState.RUNNING,  # Transferring Output
    "7": TaskState.HELD,  # Suspended
}
ATTRIBUTES = "ClusterId,ProcId,JobStatus,ExitCode"
USER_ATTRIBUTES = "ClusterId,ProcId,JobStatus,JobBatchName"
# condor_submit -terse: "first - last" job ids, e.g. "42.0 - 42.19" (condor_submit(1))
_TERSE = re.compile(r"^([0-9]+)\.[0-9]+\s*-\s*[0-9]+\.[0-9]+")
# Keys hepstack writes in job.sub (lower-case: HTCondor's keys are case-insensitive).
OWN_KEYS = frozenset(
    {
        "universe",
        "executable",
        "arguments",
        "batch_name",
        "output",
        "error",
        "log",
        "getenv",
        "should_transfer_files",
        "queue",
    }
)


class HTCondorScheduler(Scheduler):
    name = "htcondor"
    tool = "condor_submit"
    install_hint = "install HTCondor (https://htcondor.readthedocs.io), with a schedd this host can reach"
    template = "htcondor.tmpl"

    def directives(self, spec: JobSpec) -> list[str]:
        return []  # HTCondor has no in-script directives: everything is in job.sub (extra_files)

    def directive(self, option: str, *values: str) -> str:
        """One ``key = value`` line of job.sub, the value checked by :func:`quoting.htcondor_value`."""
        if not HTCONDOR_KEY.match(option) or len(values) != 1:
            reject(
                option, "job.sub key", "is not a submit command", "write KEY = VALUE, e.g. request_disk = 2G"
            )
        return f"{option} = {htcondor_value(values[0], f'the value of {option}')}"

    def site_directive(self, text: str) -> str:
        """A site's ``key = value`` line for job.sub; it may not set what hepstack writes itself."""
        check_text(text, "site directive")
        key, equals, value = text.partition("=")
        key, value = key.strip(), value.strip()
        if not equals:
            reject(
                text, "site directive", "is not KEY = VALUE", "write e.g. requirements = (OpSysMajorVer == 9)"
            )
        if key.lower() in OWN_KEYS:
            reject(text, "site directive", f"sets {key}, which hepstack writes itself", "remove it")
        return self.directive(key, value)

    def submit_description(self, spec: JobSpec, script: Path) -> str:
        jobdir = htcondor_value(str(spec.jobdir), "the job directory")
        lines = [
            "# written by hepstack: one cluster, one proc per task; the script adds 1 to $(Process)",
            "universe = vanilla",
            self.directive("executable", str(script)),
            "arguments = $(Process)",
            self.directive("batch_name", spec.name),
            f"output = {jobdir}/scheduler-$(Cluster).$(Process).out",
            f"error = {jobdir}/scheduler-$(Cluster).$(Process).out",
            f"log = {jobdir}/condor.log",
            "getenv = false",
            "should_transfer_files = NO",
        ]
        resources = spec.resources
        if resources.cpus:
            lines.append(f"request_cpus = {resources.cpus}")
        if resources.memory:
            lines.append(f"request_memory = {memory_mb(resources.memory)}")
        if resources.time:
            lines.append(f"+MaxRuntime = {duration_seconds(resources.time)}")
        if resources.queue:
            lines.append(f"+JobFlavour = {classad_string(resources.queue, '--queue')}")
        if resources.account:
            lines.append(self.directive("accounting_group", resources.account))
        lines += [self.site_directive(text) for text in spec.directives]
        lines.append(f"queue {spec.tasks}")
        return "\n".join(lines) + "\n"

    def extra_files(self, spec: JobSpec, script: Path) -> dict[str, str]:
        return {"job.sub": self.submit_description(spec, script)}

    def submit_argv(self, script: Path, spec: JobSpec) -> list[str]:
        return [self.binary(), "-terse", str(script.parent / "job.sub")]

    def parse_submit(self, stdout: str) -> str:
        match = _TERSE.match(stdout.strip())
        if not match:
            raise HepstackError(f"condor_submit printed no job id: {stdout!r}", hint="submit job.sub by hand")
        return match[1]

    def queue_argv(self, native_id: str) -> list[str]:
        return ["condor_q", "-json", "-attributes", ATTRIBUTES, native_id]

    def parse_queue(self, result: Completed, native_id: str) -> dict[int, QueueEntry]:
        if result.returncode != 0:
            raise HepstackError(f"condor_q failed: {result.stderr.strip()}", hint="is the schedd reachable?")
        return self._parse_ads(result.stdout, native_id)

    def accounting_argv(self, native_id: str) -> list[str] | None:
        return ["condor_history", "-json", "-attributes", ATTRIBUTES, native_id]

    def parse_accounting(self, result: Completed, native_id: str) -> dict[int, QueueEntry]:
        if result.returncode != 0:
            return {}
        return self._parse_ads(result.stdout, native_id)

    def _parse_ads(self, text: str, native_id: str) -> dict[int, QueueEntry]:
        """A JSON list of job ClassAds (empty output when none match, as condor_q prints nothing)."""
        if not text.strip():
            return {}
        try:
            ads = json.loads(text)
        except json.JSONDecodeError as exc:
            raise HepstackError(
                f"HTCondor printed invalid JSON: {exc}", hint="check the HTCondor version"
            ) from None
        tasks: dict[int, QueueEntry] = {}
        for ad in ads:
            if str(ad.get("ClusterId")) != native_id:
                continue
            native_state = str(ad.get("JobStatus"))
            state = map_state(HTCONDOR_STATES, native_state, self.name)
            exit_code = ad.get("ExitCode")
            if state is TaskState.COMPLETED:
                state = final_from_exit_code(exit_code) if isinstance(exit_code, int) else TaskState.UNKNOWN
            tasks[int(ad.get("ProcId", 0)) + 1] = QueueEntry(
                state, native_state, exit_code if isinstance(exit_code, int) else None
            )
        return tasks

    def cancel_argv(self, native_id: str) -> list[str]:
        return ["condor_rm", native_id]

    def cancel_task_argv(self, native_id: str, task: int) -> list[str]:
        return ["condor_rm", f"{native_id}.{task - 1}"]  # condor_rm(1): cluster.proc; ProcId is 0-based

    def user_queue_argv(self, user: str) -> list[str]:
        return ["condor_q", user, "-json", "-attributes", USER_ATTRIBUTES]

    def parse_user_queue(self, result: Completed) -> dict[str, QueuedJob]:
        if result.returncode != 0:
            raise HepstackError(f"condor_q failed: {result.stderr.strip()}", hint="is the schedd reachable?")
        if not result.stdout.strip():
            return {}
        try:
            ads = json.loads(result.stdout)
        except json.JSONDecodeError as exc:
            raise HepstackError(
                f"HTCondor printed invalid JSON: {exc}", hint="check the HTCondor version"
            ) from None
        jobs: dict[str, QueuedJob] = {}
        for ad in ads:
            cluster = str(ad.get("ClusterId", ""))
            if not cluster.isdigit():
                continue
            job = jobs.setdefault(cluster, QueuedJob(str(ad.get("JobBatchName", ""))))
            native_state = str(ad.get("JobStatus"))
            job.tasks[int(ad.get("ProcId", 0)) + 1] = QueueEntry(
                map_state(HTCONDOR_STATES, native_state, self.name), native_state
            )
        return jobs

    def ping_argv(self) -> list[str]:
        return ["condor_status", "-schedd", "-af", "Name"]
