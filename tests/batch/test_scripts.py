"""Job scripts of every scheduler x runtime the shipped sites use: goldens, and no Python in any job."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hepstack import proc
from hepstack.batch import SCHEDULERS, Resources, get_scheduler
from hepstack.batch.executor import Submission, render
from hepstack.batch.script import fill
from hepstack.errors import HepstackError
from hepstack.identity import Invoker
from hepstack.registry.cache import JobNodeCache
from hepstack.runtimes import RUNTIMES, Bind
from hepstack.sites import load_sites, shipped_site_files

ALICE = Invoker(uid=1234, gid=5678, name="alice", home="/home/alice", privileged=False)
JOBDIR = Path("/home/alice/.local/share/hepstack/jobs/20261122-120000-abcdef")
SHIPPED = sorted(load_sites({"HEPSTACK_SITES_PATH": "/nonexistent"}).items())
ALICE_CACHE = JobNodeCache("/home/alice/.cache/hepstack", 1234, shared=False)
IMAGE_ID = f"sha256:{'fe' * 32}"
PYTHON = re.compile(r"\bpython[0-9.]*\b|\.py\b|hepstack\.", re.IGNORECASE)


def _python_in(script: str) -> list[str]:
    """Mentions of Python in what the job executes (comment lines "# ..." do not run; directives count)."""
    executed = [line for line in script.splitlines() if not line.startswith("# ")]
    return [line for line in executed if PYTHON.search(line)]


@pytest.fixture(autouse=True)
def _fixed_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """Render as alice, with every tool at /usr/bin/TOOL, whatever this host has installed."""
    monkeypatch.setattr(proc, "which", lambda tool: f"/usr/bin/{Path(tool).name}")
    monkeypatch.setenv("HEPSTACK_DOCKER", "/usr/bin/docker")
    monkeypatch.setattr("hepstack.batch.executor.invoking_user", lambda: ALICE)


def _submission(site_name: str) -> Submission:
    site = dict(SHIPPED)[site_name]
    profile = site.profile
    image = "localhost/lat/release:1.0"
    if profile.delivery == "image_root" and profile.image_root:
        image = f"{profile.image_root}/{image}"
    elif profile.delivery == "registry":  # what plan_submission gives after a push (catalog digest)
        image = f"registry.example.org/hep/lat/release@sha256:{'0123456789abcdef' * 4}"
    return Submission(
        scheduler=profile.scheduler,
        runtime=profile.runtime,
        image=image,
        command=["lat-run", "digi.yaml", "--seed", "$HEPSTACK_TASK_INDEX"],
        tasks=20,
        binds=[*site.job_binds(), Bind("/home/alice/out", "/out")],
        env={**profile.env, "LAT_RUN": "it's 7"},
        resources=Resources(
            cpus=profile.resources.cpus or 1,
            memory=profile.resources.memory or "2G",
            time=profile.resources.time or "01:00:00",
            queue=profile.resources.queue,
            account=profile.resources.account,
        ),
        directives=profile.directives,
        site=profile.name,
        runtime_tool=profile.runtime_tool,
        name="lat-digi",
        image_id=IMAGE_ID if image.startswith("localhost/") else None,
        node_cache=ALICE_CACHE,
    )


def _require_runtime(name: str) -> None:
    if name not in RUNTIMES:
        pytest.skip(f"runtime {name} not registered yet")


def test_the_python_check_can_fail() -> None:
    assert _python_in("#!/bin/bash\n# no Python here\nexec python3 -m lat\n") == ["exec python3 -m lat"]


def test_every_shipped_site_file_loads() -> None:
    assert {path.stem for path in shipped_site_files()} == {name for name, _ in SHIPPED}
    assert {name for name, _ in SHIPPED} >= {"laptop", "slac", "in2p3", "nersc", "nersc-podman-hpc", "grid"}


@pytest.mark.parametrize("site_name", [name for name, _ in SHIPPED])
def test_site_job_script_matches_golden(site_name: str, golden) -> None:  # type: ignore[no-untyped-def]
    submission = _submission(site_name)
    _require_runtime(submission.runtime)
    scheduler, spec, script = render(submission, JOBDIR)
    golden(f"jobs/{site_name}-{scheduler.name}-{submission.runtime}.sh", script)
    for name, text in scheduler.extra_files(spec, JOBDIR / "job.sh").items():
        golden(f"jobs/{site_name}-{scheduler.name}-{submission.runtime}.{name}", text)


@pytest.mark.parametrize("site_name", [name for name, _ in SHIPPED])
def test_site_job_script_runs_no_python(site_name: str) -> None:
    submission = _submission(site_name)
    _require_runtime(submission.runtime)
    _scheduler, _spec, script = render(submission, JOBDIR)
    assert script.startswith("#!/bin/bash\n")
    assert not _python_in(script), f"{site_name}: the job script mentions Python"
    # the runtime is exec'd directly, and the task index reaches the container as --env semantics
    assert 'HEPSTACK_TASK_INDEX="${HEPSTACK_TASK_INDEX}"' in script
    assert "exitcode" in script


@pytest.mark.parametrize("scheduler_name", sorted(SCHEDULERS))
@pytest.mark.parametrize("runtime_name", sorted(RUNTIMES))
def test_no_combination_of_registered_backends_runs_python(scheduler_name: str, runtime_name: str) -> None:
    submission = Submission(
        scheduler=scheduler_name,
        runtime=runtime_name,
        # a path where the runtime runs one: no engine store is asked for an image id (any user, any host)
        image="/images/lat-release"
        if runtime_name in ("charliecloud", "apptainer")
        else "localhost/lat/release:1.0",
        command=["lat-run", "digi.yaml"],
        tasks=3,
    )
    _scheduler, _spec, script = render(submission, JOBDIR)
    assert not _python_in(script)


def test_task_index_is_one_based_on_every_scheduler() -> None:
    for name in SCHEDULERS:
        text = fill(get_scheduler(name).template, _template_values())
        assert "HEPSTACK_TASK_INDEX=" in text, name
    htcondor = fill("htcondor.tmpl", _template_values())
    assert "HEPSTACK_TASK_INDEX=$(( ${1:-0} + 1 ))" in htcondor  # $(Process) is 0-based


def test_a_template_key_hepstack_does_not_provide_is_an_error() -> None:
    with pytest.raises(HepstackError, match=r"uses \{\{jobdir\}\}"):
        fill("task.tmpl", {"tasks": "1", "task_input": "", "setup": "", "image": "", "command": "true"})


def test_site_variables_in_binds_expand_in_the_job_not_at_submit() -> None:
    submission = _submission("nersc-podman-hpc")
    _scheduler, _spec, script = render(submission, JOBDIR)
    assert 'source="${SCRATCH}",target=/scratch' in script.replace("'", "")
    assert "\n  *) podman-hpc run " in script  # after the job-time check of $SCRATCH


def _template_values() -> dict[str, str]:
    return {"directives": "", "name": "n", "tasks": "2", "jobdir": "/j", "body": "true"}


@pytest.mark.parametrize(("scheduler", "runtime"), [("sge", "charliecloud"), ("local", "docker")])
def test_cancel_paths_match_golden(scheduler: str, runtime: str, golden) -> None:  # type: ignore[no-untyped-def]
    """The scheduler x runtime pairs whose stop differs from the shipped sites': Charliecloud's plain
    signal (no named container, USER from the uid) and docker's --init (docs/cancel.md)."""
    image = "/images/lat-release" if runtime == "charliecloud" else "localhost/lat/release:1.0"
    submission = Submission(
        scheduler=scheduler, runtime=runtime, image=image, command=["sleep", "300"], tasks=2
    )
    golden(f"jobs/cancel-{scheduler}-{runtime}.sh", render(submission, JOBDIR)[2])
