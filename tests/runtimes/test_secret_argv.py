"""--secret NAME=FILE in every runtime's command line (goldens), the checks on FILE and NAME, and the
job script: only the path of a secret travels, never its content."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from hepstack.errors import HepstackError
from hepstack.identity import Invoker
from hepstack.runtimes import RUNTIMES, RunRequest, get_runtime
from hepstack.runtimes.secret_files import Secret, check_secret_file
from tests.conftest import HEPSTACK

ALICE = Invoker(uid=1234, gid=5678, name="alice", home="/home/alice", privileged=False)
SECRET = Secret("calibdb", "/home/alice/.config/lat/calibdb.cnf")
IMAGES = {
    "charliecloud": "/cache/charliecloud/0123abcd",
    "apptainer": "/images/lat-release.sif",
    "shifter": "registry.example.org/lat/release:1.0",
    "native": "lat/release",
}


def _request(runtime: str) -> RunRequest:
    return RunRequest(
        image=IMAGES.get(runtime, "localhost/lat/release:0123456789ab"),
        command=["lat-run", "recon.yaml"],
        user=ALICE,
        env={"LAT_RUN": "7"},
        secrets=[SECRET],
    )


@pytest.mark.parametrize("runtime", list(RUNTIMES))
def test_every_runtime_binds_the_secret_and_names_its_path(runtime: str, golden) -> None:  # type: ignore[no-untyped-def]
    argv = get_runtime(runtime).argv(_request(runtime))
    golden(f"argv/secret-{runtime}.json", json.dumps([Path(argv[0]).name, *argv[1:]], indent=1) + "\n")
    inside = SECRET.source if runtime == "native" else "/run/secrets/calibdb"
    assert f"HEPSTACK_SECRET_CALIBDB={inside}" in argv
    assert argv[-2:] == ["lat-run", "recon.yaml"]  # the command is still last, after the variables


def _owned_file(tmp_path: Path, mode: int, text: str = "s3cret-value\n") -> Path:
    path = tmp_path / "calibdb.cnf"
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_a_private_file_of_ones_own_is_accepted(tmp_path: Path, mode: int) -> None:
    path = _owned_file(tmp_path, mode)
    assert Secret.parse(f"calibdb={path}", uid=os.geteuid()) == Secret("calibdb", str(path.resolve()))


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_a_file_others_may_read_or_change_is_refused_with_the_chmod(tmp_path: Path, mode: int) -> None:
    path = _owned_file(tmp_path, mode)
    with pytest.raises(HepstackError) as refused:
        check_secret_file(str(path), uid=os.geteuid())
    assert f"{path} has mode {mode:04o}" in refused.value.message
    assert refused.value.hint == f"chmod 600 {path}"


def test_another_users_file_a_directory_and_a_missing_file_are_refused(tmp_path: Path) -> None:
    path = _owned_file(tmp_path, 0o600)
    with pytest.raises(HepstackError, match=f"belongs to uid {os.geteuid()}, not to you"):
        check_secret_file(str(path), uid=os.geteuid() + 1)
    with pytest.raises(HepstackError, match="is not a regular file"):
        check_secret_file(str(tmp_path), uid=os.geteuid())
    with pytest.raises(HepstackError, match="No such file"):
        check_secret_file(str(tmp_path / "absent"), uid=os.geteuid())


@pytest.mark.parametrize(
    "text", ["calibdb", "=/x", "CalibDB=/x", "calib-db=/x", "1db=/x", "../x=/x", "db=", "a b=/x"]
)
def test_bad_secret_arguments(text: str) -> None:
    with pytest.raises(HepstackError):
        Secret.parse(text, uid=os.geteuid())


def test_a_secret_name_given_twice_is_refused() -> None:
    with pytest.raises(HepstackError, match="given twice"):
        RunRequest(image="img", command=["true"], user=ALICE, secrets=[SECRET, SECRET])


def test_the_cli_refuses_a_0644_secret_with_the_hint_and_exit_2(tmp_path: Path) -> None:
    path = _owned_file(tmp_path, 0o644)
    for command in (["run", "--print"], ["submit", "--print", "--scheduler", "local", "--runtime", "podman"]):
        result = subprocess.run(
            [HEPSTACK, *command, "--secret", f"calibdb={path}", "localhost/x/y:1", "--", "true"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 2, result.stderr
        assert result.stderr == (
            f"error: the secret file {path} has mode 0644: group or others may read or change it\n"
            f"hint: chmod 600 {path}\n"
        )


def test_the_job_script_names_the_path_and_checks_the_file_again_on_the_node(tmp_path: Path) -> None:
    path = _owned_file(tmp_path, 0o600)
    result = subprocess.run(
        [HEPSTACK, "submit", "--print", "--scheduler", "slurm", "--runtime", "podman",
         "--secret", f"calibdb={path}", "localhost/x/y:1", "--", "true"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    script = result.stdout
    assert "s3cret-value" not in script
    assert f"source={path},target=/run/secrets/calibdb,readonly" in script
    check = next(line for line in script.splitlines() if line.startswith(f"[ -f {path} ]"))
    assert subprocess.run(["bash", "-c", check], check=False).returncode == 0
    path.chmod(0o644)  # changed between submission and the job's start: the task stops before running
    changed = subprocess.run(["bash", "-c", check], capture_output=True, text=True, check=False)
    assert changed.returncode == 2
    assert changed.stderr == (
        f"error: the secret file {path} must be yours with mode 0600\nhint: chmod 600 {path}\n"
    )


def test_a_sites_secrets_reach_its_jobs_and_a_secret_option_overrides_them(tmp_path: Path) -> None:
    site_file, other = _owned_file(tmp_path, 0o600), tmp_path / "other.cnf"
    other.write_text("other\n")
    other.chmod(0o600)
    sites = tmp_path / "sites"
    sites.mkdir()
    (sites / "lab.yaml").write_text(
        f"name: lab\nscheduler: slurm\nruntime: podman\nsecrets:\n  calibdb: {site_file}\n  extra: {other}\n"
    )
    env = {**os.environ, "HEPSTACK_SITES_PATH": str(sites)}
    argv = [HEPSTACK, "submit", "--print", "--site", "lab", "localhost/x/y:1", "--", "true"]
    script = subprocess.run(argv, capture_output=True, text=True, check=True, env=env).stdout
    assert f"source={site_file},target=/run/secrets/calibdb,readonly" in script
    assert f"source={other},target=/run/secrets/extra,readonly" in script
    overridden = [*argv[:5], "--secret", f"calibdb={other}", *argv[5:]]
    script = subprocess.run(overridden, capture_output=True, text=True, check=True, env=env).stdout
    assert f"source={other},target=/run/secrets/calibdb,readonly" in script
    assert str(site_file) not in script
    (sites / "lab.yaml").write_text("name: lab\nscheduler: slurm\nruntime: podman\nsecrets:\n  Calib-DB: x\n")
    broken = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    assert broken.returncode == 2 and "lab.yaml:4: secrets: secret name" in broken.stderr


def test_a_run_with_a_secret_checks_the_file_every_time(tmp_path: Path) -> None:
    """A run with --secret is never remembered (hepstack.run.plan): a file made readable later is refused."""
    path = _owned_file(tmp_path, 0o600)
    env = {**os.environ, "HEPSTACK_CACHE_DIR": str(tmp_path / "cache"), "HEPSTACK_DATA_DIR": str(tmp_path)}
    argv = [HEPSTACK, "run", "-r", "native", "--secret", f"db={path}", "localhost/x/y:1", "--", "sh", "-c",
            'cat "$HEPSTACK_SECRET_DB"']  # fmt: skip
    for _ in range(2):
        assert (
            subprocess.run(argv, capture_output=True, text=True, env=env, check=True).stdout
            == "s3cret-value\n"
        )
    path.chmod(0o644)
    refused = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    assert refused.returncode == 2 and f"hint: chmod 600 {path}" in refused.stderr


@pytest.mark.parametrize(
    ("file_name", "message"),
    [("a,target=etc", "contains ','"), ("a:b", "contains ':'"), ("line\nbreak", "control character")],
)
def test_a_secret_path_no_mount_syntax_can_carry_is_refused(
    tmp_path: Path, file_name: str, message: str
) -> None:
    """``source=FILE,target=...`` and ``SRC:DST`` fields: a ',' or ':' in FILE would add mount options."""
    path = tmp_path / file_name
    path.write_text("x\n")
    path.chmod(0o600)
    with pytest.raises(HepstackError) as refused:
        Secret.parse(f"calibdb={path}", uid=os.geteuid())
    assert message in refused.value.message
