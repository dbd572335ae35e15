"""The directives hepstack writes, read by the real sbatch and qsub (SLURM and SGE run here).

A job directory that needs quoting (spaces, quotes, '#', '%') and a site option whose value needs it
go through the scheduler's own directive parser: the job is submitted on hold, its options are read
back, then it is released and runs (native runtime, `true`); its scheduler output file and its exit
code file must land in that very directory. LSF and HTCondor cannot run here: their rules follow their
documentation (hepstack.quoting).
"""

from __future__ import annotations

import os
import pwd
import shlex
import subprocess
import time
from pathlib import Path

import pytest

from hepstack.batch.executor import Submission, render
from tests.conftest import tool_works

IMAGE = "localhost/lat/release:1.0"
NAME = "hepstack-quoting-test"  # only jobs of this name are ever cancelled here


def _job(scheduler: str, jobdir: Path, directive: str) -> Path:
    submission = Submission(
        scheduler=scheduler,
        runtime="native",
        image=IMAGE,
        command=["true"],
        directives=[directive],
        name=NAME,
    )
    _scheduler, _spec, script = render(submission, jobdir)
    jobdir.mkdir(parents=True)
    path = jobdir / "job.sh"
    path.write_text(script, encoding="utf-8")
    path.chmod(0o755)
    return path


def _wait_for(path: Path, seconds: float = 90) -> str:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear in {seconds} s"
        time.sleep(0.2)
    return path.read_text()


def _run(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60).stdout


@pytest.mark.slurm
def test_sbatch_reads_quoted_output_directory_and_site_option(shared_tmp: Path) -> None:
    if not tool_works("sinfo", "--noheader"):
        pytest.skip("SLURM does not answer here (run scripts/setup-schedulers.sh as root)")
    jobdir = shared_tmp / "slurm dir 'q' #1 %x" / "jobs" / "1"
    comment = "a b#c'd\"e\\f"
    script = _job("slurm", jobdir, f"--comment={shlex.quote(comment)}")  # as on a command line
    native = _run("sbatch", "--parsable", "--hold", str(script)).strip().split(";")[0]
    try:
        assert _run("squeue", "-h", "-j", native, "-o", "%k|%j").strip() == f"{comment}|{NAME}"
        _run("scontrol", "release", native)
        assert _wait_for(jobdir / "1.exitcode") == "0\n"
        assert (jobdir / f"scheduler-{native}_1.out").exists()
    finally:
        subprocess.run(["scancel", "--name", NAME, native], capture_output=True, check=False)


@pytest.mark.sge
def test_qsub_reads_quoted_output_directory_and_site_option(
    shared_tmp: Path, test_user: pwd.struct_passwd
) -> None:
    if not tool_works("qstat", "-g", "c"):
        pytest.skip("SGE does not answer here (run scripts/setup-schedulers.sh as root)")
    top = shared_tmp / "sge dir"
    jobdir = top / "jobs" / "1"
    script = _job("sge", jobdir, '-ac "note=a b"')
    for path in (top, top / "jobs", jobdir):
        os.chown(path, test_user.pw_uid, test_user.pw_gid)  # SGE runs no root jobs (min_uid)
    as_user = ["runuser", "-u", test_user.pw_name, "--"]
    native = _run(*as_user, "qsub", "-terse", "-h", str(script)).strip().split(".")[0]
    try:
        details = _run("qstat", "-j", native)
        assert f"stdout_path_list:           NONE:NONE:{jobdir}/scheduler-$JOB_ID.$TASK_ID.out" in details
        assert "context:                    note=a b" in details
        _run(*as_user, "qrls", native)
        assert _wait_for(jobdir / "1.exitcode") == "0\n"
        assert (jobdir / f"scheduler-{native}.1.out").exists()
    finally:
        subprocess.run([*as_user, "qdel", native], capture_output=True, check=False)
