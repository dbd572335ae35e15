"""Scheduler output parsers, fed the formats the vendors document (and, for SLURM/SGE, what this host's
real daemons printed). Table-driven; every unknown state must come out UNKNOWN, loudly."""

from __future__ import annotations

import logging

import pytest

from hepstack.batch import TaskState, get_scheduler
from hepstack.batch.schedulers.base import WHOLE_JOB
from hepstack.batch.states import QueueEntry
from hepstack.errors import HepstackError, UnknownName
from hepstack.proc import Completed


def _done(stdout: str, returncode: int = 0, stderr: str = "") -> Completed:
    return Completed(["x"], returncode, stdout, stderr)


@pytest.mark.parametrize(
    ("scheduler", "stdout", "native_id"),
    [
        ("slurm", "123\n", "123"),
        ("slurm", "123;cluster\n", "123"),  # sbatch --parsable on a multi-cluster setup
        ("sge", "45.1-20:1\n", "45"),  # qsub -terse of an array
        ("sge", "45\n", "45"),
        ("lsf", "Job <6789> is submitted to queue <normal>.\n", "6789"),  # bsub(1)
        ("htcondor", "42.0 - 42.19\n", "42"),  # condor_submit -terse
        ("local", "31337\n", "31337"),
    ],
)
def test_native_id_from_submit_output(scheduler: str, stdout: str, native_id: str) -> None:
    assert get_scheduler(scheduler).parse_submit(stdout) == native_id


@pytest.mark.parametrize("scheduler", ["slurm", "sge", "lsf", "htcondor", "local"])
def test_submit_output_without_an_id_is_an_error(scheduler: str) -> None:
    with pytest.raises(HepstackError):
        get_scheduler(scheduler).parse_submit("sbatch: error: Batch job submission failed\n")


def test_slurm_squeue_per_task() -> None:
    # squeue --array --format '%F|%K|%T' as this host's SLURM 22.05 printed it
    out = "7|3|RUNNING\n7|4|PENDING\n7|5|SUSPENDED\n8|1|RUNNING\n"
    tasks = get_scheduler("slurm").parse_queue(_done(out), "7")
    assert tasks == {
        3: QueueEntry(TaskState.RUNNING, "RUNNING"),
        4: QueueEntry(TaskState.QUEUED, "PENDING"),
        5: QueueEntry(TaskState.HELD, "SUSPENDED"),
    }


def test_slurm_job_gone_from_queue_is_an_empty_queue() -> None:
    result = _done("", 1, "slurm_load_jobs error: Invalid job id specified\n")
    assert get_scheduler("slurm").parse_queue(result, "7") == {}


def test_slurm_sacct_exit_codes_and_disabled_accounting() -> None:
    out = "7_1|COMPLETED|0:0\n7_1.batch|COMPLETED|0:0\n7_2|FAILED|3:0\n7_3|CANCELLED by 1001|0:15\n"
    tasks = get_scheduler("slurm").parse_accounting(_done(out), "7")
    assert tasks[1] == QueueEntry(TaskState.COMPLETED, "COMPLETED", 0)
    assert tasks[2] == QueueEntry(TaskState.FAILED, "FAILED", 3)
    assert tasks[3].state is TaskState.CANCELLED
    disabled = _done("", 1, "sacct: error: Slurm accounting storage is disabled\n")
    assert get_scheduler("slurm").parse_accounting(disabled, "7") == {}


SGE_QSTAT = """<?xml version='1.0'?>
<job_info  xmlns:xsd="http://arc.liv.ac.uk/repos/darcs/sge/source/dist/util/resources/schemas/qstat/qstat.xsd">
  <queue_info>
    <job_list state="running">
      <JB_job_number>2</JB_job_number><state>r</state><tasks>1</tasks>
    </job_list>
    <job_list state="running">
      <JB_job_number>2</JB_job_number><state>t</state><tasks>2</tasks>
    </job_list>
  </queue_info>
  <job_info>
    <job_list state="pending">
      <JB_job_number>2</JB_job_number><state>qw</state><tasks>3-5:1</tasks>
    </job_list>
    <job_list state="pending">
      <JB_job_number>2</JB_job_number><state>Eqw</state><tasks>6</tasks>
    </job_list>
    <job_list state="pending">
      <JB_job_number>9</JB_job_number><state>qw</state><tasks>1</tasks>
    </job_list>
  </job_info>
</job_info>
"""


def test_sge_qstat_xml_per_task() -> None:
    tasks = get_scheduler("sge").parse_queue(_done(SGE_QSTAT), "2")
    assert {index: entry.state for index, entry in tasks.items()} == {
        1: TaskState.RUNNING,
        2: TaskState.RUNNING,
        3: TaskState.QUEUED,
        4: TaskState.QUEUED,
        5: TaskState.QUEUED,
        6: TaskState.HELD,  # error state stays in the queue: not final
    }


# qacct -j as this host's Grid Engine 8.1.9 printed it (trimmed to the keys hepstack reads)
SGE_QACCT = """==============================================================
qname        all.q
jobnumber    4
taskid       1
failed       0
exit_status  0
==============================================================
qname        all.q
jobnumber    4
taskid       2
failed       0
exit_status  3
==============================================================
qname        all.q
jobnumber    4
taskid       3
failed       100 : assumedly after job
exit_status  137                 (Killed)
"""


def test_sge_qacct_exit_codes() -> None:
    tasks = get_scheduler("sge").parse_accounting(_done(SGE_QACCT), "4")
    assert tasks[1] == QueueEntry(TaskState.COMPLETED, "finished", 0)
    assert tasks[2] == QueueEntry(TaskState.FAILED, "finished", 3)
    assert tasks[3].state is TaskState.FAILED and tasks[3].exit_code == 137
    missing = _done("", 1, "error: job id 4 not found\n")
    assert get_scheduler("sge").parse_accounting(missing, "4") == {}


def test_lsf_bjobs_custom_format() -> None:
    # bjobs -a -noheader -o "jobid jobindex stat exit_code delimiter='|'" (bjobs -o, IBM LSF 10.1 docs;
    # empty fields print as "-")
    out = "6789|1|DONE|-\n6789|2|EXIT|3\n6789|3|RUN|-\n6789|4|PEND|-\n6789|5|PSUSP|-\n"
    tasks = get_scheduler("lsf").parse_queue(_done(out), "6789")
    assert tasks[1] == QueueEntry(TaskState.COMPLETED, "DONE", 0)
    assert tasks[2] == QueueEntry(TaskState.FAILED, "EXIT", 3)
    assert tasks[3].state is TaskState.RUNNING
    assert tasks[4].state is TaskState.QUEUED
    assert tasks[5].state is TaskState.HELD
    gone = _done("", 255, "Job <6789> is not found\n")  # LSB_BJOBS_CONSISTENT_EXIT_CODE docs
    assert get_scheduler("lsf").parse_queue(gone, "6789") == {}


# condor_q -json / condor_history -json print a JSON array of job ClassAds (HTCondor manual,
# condor_q "-json": "Display ClassAd attributes in JSON format")
CONDOR_Q = """[
{
  "ClusterId": 42,
  "JobStatus": 2,
  "ProcId": 0
}
,
{
  "ClusterId": 42,
  "JobStatus": 1,
  "ProcId": 1
}
,
{
  "ClusterId": 42,
  "JobStatus": 5,
  "ProcId": 2
}
]
"""
CONDOR_HISTORY = """[
{
  "ClusterId": 42,
  "ExitCode": 0,
  "JobStatus": 4,
  "ProcId": 3
}
,
{
  "ClusterId": 42,
  "ExitCode": 3,
  "JobStatus": 4,
  "ProcId": 4
}
,
{
  "ClusterId": 42,
  "JobStatus": 3,
  "ProcId": 5
}
]
"""


def test_htcondor_queue_and_history() -> None:
    condor = get_scheduler("htcondor")
    queue = condor.parse_queue(_done(CONDOR_Q), "42")
    assert {i: e.state for i, e in queue.items()} == {
        1: TaskState.RUNNING,  # ProcId 0 is hepstack's task 1
        2: TaskState.QUEUED,
        3: TaskState.HELD,
    }
    history = condor.parse_accounting(_done(CONDOR_HISTORY), "42")
    assert history[4] == QueueEntry(TaskState.COMPLETED, "4", 0)
    assert history[5] == QueueEntry(TaskState.FAILED, "4", 3)
    assert history[6].state is TaskState.CANCELLED
    assert condor.parse_queue(_done(""), "42") == {}  # condor_q prints nothing when nothing matches


def test_local_session_alive_means_running() -> None:
    local = get_scheduler("local")
    assert local.parse_queue(_done("  123\n  124\n"), "123") == {
        WHOLE_JOB: QueueEntry(TaskState.RUNNING, "session alive")
    }
    assert local.parse_queue(_done("", 1), "123") == {}


@pytest.mark.parametrize(
    ("scheduler", "stdout"),
    [
        ("slurm", "7|1|WEIRD_NEW_STATE\n"),
        ("lsf", "7|1|WEIRD|-\n"),
        ("htcondor", '[{"ClusterId": 7, "ProcId": 0, "JobStatus": 99}]'),
        (
            "sge",
            "<job_info><job_list><JB_job_number>7</JB_job_number><state>zz</state>"
            "<tasks>1</tasks></job_list></job_info>",
        ),
    ],
)
def test_unknown_native_state_is_unknown_and_logged(
    scheduler: str, stdout: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="hepstack.batch"):
        tasks = get_scheduler(scheduler).parse_queue(_done(stdout), "7")
    assert tasks[1].state is TaskState.UNKNOWN
    assert "does not know" in caplog.text


def test_unknown_scheduler_lists_the_known_ones() -> None:
    with pytest.raises(UnknownName) as caught:
        get_scheduler("slrum")
    assert caught.value.hint is not None and "did you mean 'slurm'" in caught.value.hint
    assert get_scheduler("uge").name == "sge"
