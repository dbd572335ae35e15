"""Apptainer and Shifter: neither runs on these machines, so their command lines and job-script lines are
golden-tested against the documented syntax (sources cited in the runtime modules)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hepstack.batch.schedulers import get_scheduler
from hepstack.context import Context
from hepstack.doctor import check_runtimes
from hepstack.identity import Invoker
from hepstack.runtimes import Bind, RunRequest, Runtime, get_runtime

ALICE = Invoker(uid=1234, gid=5678, name="alice", home="/home/alice", privileged=False)


def _request(image: str) -> RunRequest:
    return RunRequest(
        image=image,
        command=["lat-run", "digi.yaml", "-n", "10"],
        user=ALICE,
        binds=[Bind("/scratch/data", "/data"), Bind("/cal", "/cal", read_only=True)],
        env={"LAT_RUN": "7", "EMPTY": ""},
        workdir="/data",
    )


def _normalised(argv: list[str]) -> str:
    return json.dumps([Path(argv[0]).name, *argv[1:]], indent=1) + "\n"


APPTAINER_CASES = {
    "apptainer-sif": "/cvmfs/lat.example.org/images/release-1.0.sif",
    "apptainer-docker": "registry.example.org:5000/lat/lat/release:1.0",
    "apptainer-oras": "oras://registry.example.org/lat/release-sif:1.0",
}


@pytest.mark.parametrize("case", list(APPTAINER_CASES))
def test_apptainer_argv_matches_golden(case: str, golden) -> None:  # type: ignore[no-untyped-def]
    argv = get_runtime("apptainer").argv(_request(APPTAINER_CASES[case]))
    golden(f"argv/{case}.json", _normalised(argv))


def test_apptainer_is_contained_and_clean() -> None:
    argv = get_runtime("apptainer").argv(_request("/img.sif"))
    assert argv[1:4] == ["exec", "--containall", "--cleanenv"]
    assert "--writable" not in argv and "--fakeroot" not in argv
    assert argv[argv.index("--pwd") + 1] == "/data"
    assert "/cal:/cal:ro" in argv and "/scratch/data:/data:rw" in argv


def test_shifter_argv_matches_golden(golden) -> None:  # type: ignore[no-untyped-def]
    argv = get_runtime("shifter").argv(_request("registry.example.org/lat/release:1.0"))
    golden("argv/shifter.json", _normalised(argv))


def _directive_lines(runtime: Runtime, request: RunRequest, scheduler: str) -> list[str]:
    """The directive lines the runtime adds to a job script of ``scheduler``, as the scheduler writes them."""
    writer = get_scheduler(scheduler)
    return [writer.directive(*pair) for pair in runtime.job_directives(request, scheduler)]


def test_shifter_job_script_lines_match_golden(golden) -> None:  # type: ignore[no-untyped-def]
    runtime = get_runtime("shifter")
    request = _request("docker:registry.example.org/lat/release:1.0")
    lines = {
        scheduler: {
            "preamble": _directive_lines(runtime, request, scheduler),
            "setup": runtime.job_setup(request),
        }
        for scheduler in ("slurm", "lsf", "sge", "htcondor", "local")
    }
    golden("argv/shifter-job.json", json.dumps(lines, indent=1) + "\n")
    assert lines["slurm"]["preamble"] == ["#SBATCH --image=docker:registry.example.org/lat/release:1.0"]
    assert lines["lsf"]["preamble"] == []


def test_apptainer_job_script_needs_no_extra_lines(golden) -> None:  # type: ignore[no-untyped-def]
    runtime = get_runtime("apptainer")
    request = _request("/cvmfs/lat.example.org/images/release-1.0.sif")
    lines = {"preamble": _directive_lines(runtime, request, "slurm"), "setup": runtime.job_setup(request)}
    golden("argv/apptainer-job.json", json.dumps(lines, indent=1) + "\n")


def test_doctor_says_apptainer_and_shifter_are_unavailable(tmp_path: Path) -> None:
    context = Context(data_dir=tmp_path, cache_dir=tmp_path / "cache", catalog_path=tmp_path / "c.sqlite")
    reports = {report.name: report for report in check_runtimes(None, context, repeats=1)}
    for name in ("apptainer", "shifter"):
        assert not reports[name].works
        assert "not installed" in reports[name].detail


def test_apptainer_run_without_apptainer_gives_the_install_hint(tmp_path: Path) -> None:
    from hepstack.errors import ToolMissing

    context = Context(data_dir=tmp_path, cache_dir=tmp_path / "cache", catalog_path=tmp_path / "c.sqlite")
    runtime = get_runtime("apptainer")
    # A local engine image would be converted to SIF first: not without apptainer to run it.
    with pytest.raises(ToolMissing) as caught:
        runtime.prepare(_request("localhost/lat/release:0123456789ab"), context)
    assert caught.value.hint is not None and "apptainer.org" in caught.value.hint
    # A SIF file or a registry reference needs no preparation (so `hepstack run --print` works anywhere).
    for image in ("/img.sif", "registry.example.org/lat/release:1.0"):
        assert runtime.prepare(_request(image), context).image == image
