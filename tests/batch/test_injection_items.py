"""Each reported injection, item by item, as the tester ran it, is refused or made harmless.

Every case here failed before the fix (the tester's commands printed a job script with a `touch` line,
ran it, expanded @@HOME@@, injected a mount option, or gave a traceback).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hepstack import proc
from hepstack.batch.executor import Submission, render
from hepstack.batch.spec import Resources, duration_seconds, memory_mb
from hepstack.errors import HepstackError
from hepstack.identity import Invoker
from tests.batch.conftest import batch_cli
from tests.cli_in_process import run_cli

IMAGE = "localhost/lat/release:1.0"
ALICE = Invoker(uid=1234, gid=5678, name="alice", home="/home/alice", privileged=False)
INJECTED = "q\ntouch /tmp/PWNED #"


@pytest.fixture(autouse=True)
def _fixed_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proc, "which", lambda tool: f"/usr/bin/{Path(tool).name}")
    monkeypatch.setenv("HEPSTACK_DOCKER", "/usr/bin/docker")
    monkeypatch.setattr("hepstack.batch.executor.invoking_user", lambda: ALICE)


def _refused(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    assert err.startswith("error: ") and "\nhint: " in err and "Traceback" not in err, err
    for word in words:
        assert word in err, err


@pytest.mark.parametrize("scheduler", ["slurm", "sge", "lsf", "htcondor"])
@pytest.mark.parametrize("option", ["--queue", "--account"])
def test_a_line_break_in_queue_or_account_is_refused(
    scheduler: str, option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = ["--scheduler", scheduler, "--runtime", "podman", "--print", option, INJECTED]
    code, out, err = run_cli(capsys, "submit", *arguments, IMAGE, "--", "true")
    _refused(code, err, option, "is not a queue or account name")
    assert "touch" not in out


@pytest.mark.parametrize(
    ("scheduler", "directive"),
    [
        ("sge", '#$ -o "/data dir/jobs/1"/scheduler-$JOB_ID.$TASK_ID.out'),
        ("lsf", '#BSUB -o "/data dir/jobs/1/scheduler-%J.%I.out"'),
        ("slurm", '#SBATCH --output="/data dir/jobs/1"/scheduler-%A_%a.out'),
    ],
)
def test_a_job_directory_with_a_space_is_quoted_in_the_output_directive(
    scheduler: str, directive: str
) -> None:
    submission = Submission(scheduler=scheduler, runtime="podman", image=IMAGE, command=["true"])
    _scheduler, _spec, script = render(submission, Path("/data dir/jobs/1"))
    assert directive in script.splitlines()


@pytest.mark.parametrize(
    ("scheduler", "jobdir", "refusal"),
    [
        ("sge", "/data/a#b", "qsub cannot carry"),
        ("sge", "/data/a:b", "qsub cannot carry"),
        ("lsf", "/data/100%", "bsub cannot carry"),
        ("slurm", "/data/a\\b", "contains '\\\\'"),
        ("htcondor", "/data/$(x)", "HTCondor expands"),
    ],
)
def test_a_job_directory_a_directive_cannot_carry_is_refused(
    scheduler: str, jobdir: str, refusal: str
) -> None:
    submission = Submission(scheduler=scheduler, runtime="podman", image=IMAGE, command=["true"])
    with pytest.raises(HepstackError, match=refusal) as refused:
        scheduler_, spec, _script = render(submission, Path(jobdir))
        scheduler_.extra_files(spec, Path(jobdir) / "job.sh")
    assert refused.value.hint


def test_a_line_break_in_htcondor_account_cannot_override_executable() -> None:
    submission = Submission(
        scheduler="htcondor",
        runtime="podman",
        image=IMAGE,
        command=["true"],
        resources=Resources(account="group\nexecutable = /bin/evil"),
    )
    with pytest.raises(HepstackError, match="is not a queue or account name"):
        render(submission, Path("/jobs/1"))


def test_a_site_env_name_that_is_an_env_option_is_refused_and_runs_nothing(
    state_env: dict[str, str], tmp_path: Path
) -> None:
    marker = tmp_path / "PWNED"
    sites = Path(state_env["HEPSTACK_SITES_PATH"])
    sites.mkdir()
    site = {
        "name": "evil",
        "scheduler": "local",
        "runtime": "native",
        "env": {"--split-string": f"touch {marker}"},
    }
    (sites / "evil.yaml").write_text(json.dumps(site))
    result = batch_cli("submit", "--site", "evil", "lat/release", "--", "true", env=state_env, check=False)
    _refused(result.returncode, result.stderr, "evil.yaml", "env", "'--split-string' is not a variable name")
    assert not marker.exists() and not (Path(state_env["HEPSTACK_DATA_DIR"]) / "jobs").exists()


def test_the_job_variable_marker_is_not_expanded_in_user_values(capsys: pytest.CaptureFixture[str]) -> None:
    arguments = ["--scheduler", "local", "--runtime", "podman", "--print", "--env", "A=@@HOME@@"]
    code, out, err = run_cli(
        capsys, "submit", *arguments, "--env", "B=${HOME}", IMAGE, "--", "echo", "@@HOME@@"
    )
    assert code == 0, err
    command = next(line for line in out.splitlines() if line.startswith("/usr/bin/podman run "))
    command = command.removesuffix(" &")  # the job runs it in the background, to stop it on a signal
    assert " A=@@HOME@@ " in command and " 'B=${HOME}' " in command and command.endswith(" echo @@HOME@@")
    assert '"${HOME}"' not in out


def test_a_comma_in_a_bind_cannot_add_a_mount_option(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(
        capsys, "run", "--print", "--runtime", "podman", "--bind", "/tmp:/d,source=/etc", IMAGE, "--", "true"
    )
    _refused(code, err, "contains ','", "mount option")
    assert out == ""


@pytest.mark.parametrize("option", ["--bind", "--workdir"])
def test_dot_dot_cannot_make_charliecloud_create_directories_outside_the_image(
    option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = tmp_path / "image"
    (image / "opt").mkdir(parents=True)
    value = f"{tmp_path}:/opt/../../escaped" if option == "--bind" else "/opt/../../escaped"
    code, _out, err = run_cli(
        capsys, "run", "--print", "--runtime", "charliecloud", option, value, str(image), "--", "true"
    )
    _refused(code, err, "contains '..'")
    assert not (tmp_path / "escaped").exists()


def test_a_symlink_in_the_image_cannot_make_charliecloud_create_directories_outside(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image, outside = tmp_path / "image", tmp_path / "outside"
    image.mkdir()
    outside.mkdir()
    (image / "link").symlink_to(outside)  # an absolute symlink in the image: outside on the host
    code, _out, err = run_cli(
        capsys,
        "run",
        "--print",
        "--runtime",
        "charliecloud",
        "--bind",
        f"{tmp_path}:/link/sub",
        str(image),
        "--",
        "true",
    )
    _refused(code, err, "leaves the image tree")
    assert not (outside / "sub").exists()


@pytest.mark.parametrize(
    "text",
    ["²", "1²:00", "٣", "1-٣", "0", "-5", "99:61", "1-24:00:00", "366-00:00:00", "9" * 400, "1:2:3:4"],
)
def test_a_bad_time_is_an_error_never_a_traceback(text: str) -> None:
    with pytest.raises(HepstackError) as refused:
        duration_seconds(text)
    assert refused.value.hint and "HH:MM:SS" in refused.value.hint


@pytest.mark.parametrize("text", ["9" * 400, "9" * 5000, "٣G", "2\u212a", "0", "0M", "2048T", "1.5G"])
def test_a_bad_memory_is_an_error_never_a_traceback(text: str) -> None:
    with pytest.raises(HepstackError) as refused:
        memory_mb(text)
    assert refused.value.hint


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 5400),
        ("01:30", 5400),
        ("01:30:15", 5415),
        ("2-12", 216000),
        ("1-00:00:01", 86401),
        ("24:00:00", 86400),
    ],
)
def test_good_times_still_read_as_before(text: str, seconds: int) -> None:
    assert duration_seconds(text) == seconds


def test_superscript_time_and_huge_memory_from_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["submit", "--scheduler", "slurm", "--runtime", "podman", "--print"]
    code, _out, err = run_cli(capsys, *base, "--time", "²", IMAGE, "--", "true")
    _refused(code, err, "bad time")
    code, _out, err = run_cli(capsys, *base, "--mem", "9" * 400, IMAGE, "--", "true")
    _refused(code, err, "bad memory")
