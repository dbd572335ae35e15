"""SGE / UGE (Son of Grid Engine 8.1 here): qsub -terse -t, qstat -xml -g d, qacct -j, qdel."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

from hepstack import proc
from hepstack.batch.schedulers.base import QueuedJob, Scheduler, not_found
from hepstack.batch.spec import JobSpec, duration_seconds, hms, memory_mb
from hepstack.batch.states import QueueEntry, TaskState, final_from_exit_code, map_state
from hepstack.errors import HepstackError
from hepstack.names import is_decimal
from hepstack.proc import Completed
from hepstack.quoting import sge_word

# qstat(1) of Grid Engine 8.1 / Univa GE, "state" column: d(eletion), E(rror), h(old), r(unning),
# R(estarted), s(uspended), S(uspended by the queue), t(ransferring), T(hreshold), w(aiting), q(ueued).
# http://gridscheduler.sourceforge.net/htmlman/htmlman1/qstat.html  (the combinations qstat shows)
SGE_STATES: dict[str, TaskState] = {
    "qw": TaskState.QUEUED,
    "hqw": TaskState.HELD,
    "hRwq": TaskState.HELD,
    "Rq": TaskState.QUEUED,
    "r": TaskState.RUNNING,
    "t": TaskState.RUNNING,
    "Rr": TaskState.RUNNING,
    "Rt": TaskState.RUNNING,
    "s": TaskState.HELD,
    "ts": TaskState.HELD,
    "S": TaskState.HELD,
    "tS": TaskState.HELD,
    "T": TaskState.HELD,
    "tT": TaskState.HELD,
    "Rs": TaskState.HELD,
    "Rts": TaskState.HELD,
    "RS": TaskState.HELD,
    "RtS": TaskState.HELD,
    "RT": TaskState.HELD,
    "RtT": TaskState.HELD,
    "Eqw": TaskState.HELD,  # error state: stays in the queue until `qmod -cj`, so not final
    "Ehqw": TaskState.HELD,
    "EhRqw": TaskState.HELD,
    "dr": TaskState.RUNNING,  # being deleted; final once it leaves the queue
    "dt": TaskState.RUNNING,
    "dRr": TaskState.RUNNING,
    "dRt": TaskState.RUNNING,
    "ds": TaskState.HELD,
    "dS": TaskState.HELD,
    "dT": TaskState.HELD,
    "dRs": TaskState.HELD,
    "dRS": TaskState.HELD,
    "dRT": TaskState.HELD,
    "dqw": TaskState.QUEUED,
    "dhqw": TaskState.HELD,
}


class SgeScheduler(Scheduler):
    name = "sge"
    tool = "qsub"
    install_hint = (
        "apt-get install gridengine-client (with a qmaster; a single-host one: scripts/setup-schedulers.sh); "
        "SGE_ROOT must be set, e.g. /var/lib/gridengine"
    )
    template = "sge.tmpl"

    directive_prefix = "#$"

    def word(self, value: str, what: str) -> str:
        return sge_word(value, what)

    def directives(self, spec: JobSpec) -> list[str]:
        # -o is a path list, [[host]:]path[,...]: ':' and ',' in the job directory would change it, and
        # '$' would be expanded by SGE, which replaces $JOB_ID/$TASK_ID there (qsub(1), -o).
        jobdir = sge_word(str(spec.jobdir), "the job directory", forbidden=",:$")
        lines = [
            self.directive("-N", spec.name),
            self.directive("-t", f"1-{spec.tasks}"),
            self.directive("-S", "/bin/bash"),
            f"{self.directive_prefix} -o {jobdir}/scheduler-$JOB_ID.$TASK_ID.out",
            self.directive("-j", "y"),
            # qdel SIGKILLs every process of the job, found by its additional group id (SoGE's
            # ENABLE_ADDGRP_KILL): no trap and no watcher survives it. -notify makes SGE send SIGUSR2
            # first and wait the queue's `notify` time (qsub(1), queue_conf(5)), so that the job's trap
            # stops its container (docs/cancel.md).
            f"{self.directive_prefix} -notify",
        ]
        resources = spec.resources
        if resources.cpus and resources.cpus > 1:
            lines.append(self.directive("-pe", "smp", str(resources.cpus)))
        if resources.memory:
            lines.append(self.directive("-l", f"h_vmem={memory_mb(resources.memory)}M"))
        if resources.time:
            lines.append(self.directive("-l", f"h_rt={hms(duration_seconds(resources.time))}"))
        if resources.queue:
            lines.append(self.directive("-q", resources.queue))
        if resources.account:
            lines.append(self.directive("-A", resources.account))
        return lines + [self.site_directive(text) for text in spec.directives]

    def submit_argv(self, script: Path, spec: JobSpec) -> list[str]:
        return [self.binary(), "-terse", str(script)]

    def parse_submit(self, stdout: str) -> str:
        # -terse prints "ID" or, for an array, "ID.FIRST-LAST:STEP" (qsub(1))
        text = stdout.strip().splitlines()[-1] if stdout.strip() else ""
        native = text.split(".")[0]
        if not is_decimal(native):
            raise HepstackError(f"qsub printed no job id: {stdout!r}", hint="run the qsub line by hand")
        return native

    def queue_argv(self, native_id: str) -> list[str]:
        # -g d: one entry per array task; -u '*': whoever submitted it; XML, not columns that shift.
        return ["qstat", "-u", "*", "-g", "d", "-xml"]

    def parse_queue(self, result: Completed, native_id: str) -> dict[int, QueueEntry]:
        if result.returncode != 0:
            raise HepstackError(f"qstat failed: {result.stderr.strip()}", hint="is sge_qmaster running?")
        tasks: dict[int, QueueEntry] = {}
        root = ElementTree.fromstring(result.stdout)
        for entry in root.iter("job_list"):
            if (entry.findtext("JB_job_number") or "").strip() != native_id:
                continue
            native_state = (entry.findtext("state") or "").strip()
            state = map_state(SGE_STATES, native_state, self.name)
            for index in _task_range((entry.findtext("tasks") or "1").strip()):
                tasks[index] = QueueEntry(state, native_state)
        return tasks

    def accounting_argv(self, native_id: str) -> list[str] | None:
        return ["qacct", "-j", native_id]

    def parse_accounting(self, result: Completed, native_id: str) -> dict[int, QueueEntry]:
        """qacct(1) -j: one block of "key value" lines per task, blocks separated by '=====' lines."""
        if result.returncode != 0:
            if not_found(result, "not found"):
                return {}
            raise HepstackError(f"qacct failed: {result.stderr.strip()}", hint="is accounting on?")
        tasks: dict[int, QueueEntry] = {}
        for block in result.stdout.split("=" * 20):
            fields: dict[str, str] = {}
            for line in block.splitlines():
                key, _, value = line.strip().partition(" ")
                if key:
                    fields[key] = value.strip()
            if fields.get("jobnumber") != native_id or "exit_status" not in fields:
                continue
            task = fields.get("taskid", "undefined")
            index = int(task) if is_decimal(task) else 1
            status = (fields["exit_status"].split() or [""])[0]
            if not is_decimal(status):
                continue  # not a finished task's record
            exit_code = int(status)
            failed = fields.get("failed", "0").split()[0]
            if failed != "0":
                # "failed" != 0: the job could not run or was killed by the execd (qacct(1), accounting(5))
                tasks[index] = QueueEntry(TaskState.FAILED, f"failed {fields['failed']}", exit_code)
            else:
                tasks[index] = QueueEntry(final_from_exit_code(exit_code), "finished", exit_code)
        return tasks

    def cancel_argv(self, native_id: str) -> list[str]:
        return ["qdel", native_id]

    def cancel_task_argv(self, native_id: str, task: int) -> list[str]:
        return ["qdel", native_id, "-t", str(task)]  # qdel(1): -t task_id_range

    def user_queue_argv(self, user: str) -> list[str]:
        return ["qstat", "-u", user, "-g", "d", "-xml"]

    def parse_user_queue(self, result: Completed) -> dict[str, QueuedJob]:
        if result.returncode != 0:
            raise HepstackError(f"qstat failed: {result.stderr.strip()}", hint="is sge_qmaster running?")
        jobs: dict[str, QueuedJob] = {}
        for entry in ElementTree.fromstring(result.stdout).iter("job_list"):
            native = (entry.findtext("JB_job_number") or "").strip()
            if not native.isdigit():
                continue
            job = jobs.setdefault(native, QueuedJob((entry.findtext("JB_name") or "").strip()))
            native_state = (entry.findtext("state") or "").strip()
            state = map_state(SGE_STATES, native_state, self.name)
            for index in _task_range((entry.findtext("tasks") or "1").strip()):
                job.tasks[index] = QueueEntry(state, native_state)
        return jobs

    def ping_argv(self) -> list[str]:
        return ["qstat", "-g", "c"]

    def refuses(self, uid: int, gid: int) -> str | None:
        """SGE refuses jobs below ``min_uid``/``min_gid`` of its global configuration (1000 by default,
        so root's), answering qsub with only "your user id 0 is lower than minimum user id 1000"."""
        result = proc.run(["qconf", "-sconf", "global"], check=False, timeout=20)
        if result.returncode != 0:
            return None  # no answer: the submission itself will say what is wrong
        return sge_minimum_refusal(result.stdout, uid, gid)


def sge_minimum_refusal(config: str, uid: int, gid: int) -> str | None:
    """The refusal ``qconf -sconf`` output ``config`` implies for ``uid``/``gid``, or None."""
    minimum = {}
    for line in config.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] in ("min_uid", "min_gid") and is_decimal(words[1]):
            minimum[words[0]] = int(words[1])
    if uid < minimum.get("min_uid", 0):
        return f"SGE refuses jobs of uid {uid}: its min_uid is {minimum['min_uid']}"
    if gid < minimum.get("min_gid", 0):
        return f"SGE refuses jobs of gid {gid}: its min_gid is {minimum['min_gid']}"
    return None


def _task_range(text: str) -> list[int]:
    """``3`` or ``3-20:1`` (pending tasks may be shown as one range) -> task indices."""
    if is_decimal(text):
        return [int(text)]
    span, _, step = text.partition(":")
    first, _, last = span.partition("-")
    if is_decimal(first) and is_decimal(last):
        return list(range(int(first), int(last) + 1, int(step) if is_decimal(step) and int(step) else 1))
    return [1]
