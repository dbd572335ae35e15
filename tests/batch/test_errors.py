"""Bad site files, unknown scheduler or runtime, a missing scheduler command -> `error:` and
`hint:`, exit 2, no traceback, nothing submitted (no job directory, no row in the state DB)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.batch.conftest import batch_cli

IMAGE = "localhost/lat/release:latest"


def _nothing_submitted(state_env: dict[str, str]) -> None:
    assert not (Path(state_env["HEPSTACK_DATA_DIR"]) / "jobs").exists()
    db = Path(state_env["HEPSTACK_STATE_DB"].removeprefix("sqlite:///"))
    if db.exists():
        import sqlite3

        with sqlite3.connect(db) as connection:
            assert connection.execute("SELECT count(*) FROM batch_jobs").fetchone() == (0,)


def _write_site(state_env: dict[str, str], text: str) -> Path:
    directory = Path(state_env["HEPSTACK_SITES_PATH"])
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "mysite.yaml"
    path.write_text(text)
    return path


CASES = {
    "unknown key in a site file": (
        "name: mysite\nscheduler: slurm\nruntime: podman\nresources:\n  cpu: 2\n",
        ["mysite.yaml:5: resources.cpu: unknown key", "did you mean 'cpus'?"],
    ),
    "bad bind in a site file": (
        "name: mysite\nscheduler: slurm\nruntime: podman\nbinds:\n  - /data:relative\n",
        ["mysite.yaml:5: binds[0]", "the target 'relative' must be an absolute path"],
    ),
    "missing key in a site file": (
        "name: mysite\nruntime: podman\n",
        ["mysite.yaml:1: scheduler: Field required", "add this key"],
    ),
    "YAML syntax error in a site file": (
        "name: mysite\nscheduler: [slurm\n",
        ["mysite.yaml:", "YAML syntax error"],
    ),
    "bad name in a site file": (
        "name: My Site\nscheduler: slurm\nruntime: podman\n",
        ["mysite.yaml:1: name:", "lower-case letters"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_site_file(case: str, state_env: dict[str, str]) -> None:
    text, expected = CASES[case]
    _write_site(state_env, text)
    result = batch_cli("submit", "--site", "laptop", IMAGE, "--", "true", env=state_env, check=False)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: the site files have")
    assert "hint:" in result.stderr
    for fragment in expected:
        assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    _nothing_submitted(state_env)
    listing = batch_cli("sites", env=state_env, check=False)
    assert listing.returncode == 2 and "mysite.yaml" in listing.stderr


@pytest.mark.parametrize(
    ("arguments", "message", "hint"),
    [
        (
            ["--scheduler", "slrum", "--runtime", "podman"],
            "unknown scheduler 'slrum'",
            "did you mean 'slurm'",
        ),
        (["--scheduler", "slurm", "--runtime", "podmn"], "unknown runtime 'podmn'", "did you mean 'podman'"),
        (["--site", "nersk"], "unknown site 'nersk'", "did you mean 'nersc'"),
        (["--runtime", "podman"], "no scheduler or runtime chosen", "--site SITE"),
        (
            ["--scheduler", "slurm", "--runtime", "podman", "--mem", "lots"],
            "bad memory 'lots'",
            "512M, 2G",
        ),
        (["--scheduler", "slurm", "--runtime", "podman", "--time", "1h"], "bad time '1h'", "HH:MM:SS"),
    ],
)
def test_bad_choice(arguments: list[str], message: str, hint: str, state_env: dict[str, str]) -> None:
    result = batch_cli("submit", *arguments, IMAGE, "--", "true", env=state_env, check=False)
    assert result.returncode == 2
    assert f"error: {message}" in result.stderr
    assert "hint:" in result.stderr and hint in result.stderr
    assert "Traceback" not in result.stderr
    _nothing_submitted(state_env)


@pytest.mark.parametrize("scheduler", ["slurm", "sge", "lsf", "htcondor"])
def test_missing_scheduler_command(scheduler: str, state_env: dict[str, str], tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"  # podman (the runtime) is here, the scheduler's commands are not
    bin_dir.mkdir()
    (bin_dir / "podman").symlink_to("/bin/true")
    env = {**state_env, "PATH": str(bin_dir)}
    result = batch_cli(
        "submit", "--scheduler", scheduler, "--runtime", "podman", IMAGE, "--", "true", env=env, check=False
    )
    assert result.returncode == 2, result.stderr
    assert f"the {scheduler} scheduler needs" in result.stderr and "which is not on PATH" in result.stderr
    assert "hint:" in result.stderr
    assert "Traceback" not in result.stderr
    _nothing_submitted(state_env)


def test_unknown_job(state_env: dict[str, str]) -> None:
    for command in (["logs", "7.1"], ["cancel", "7"], ["jobs", "slurm:99"]):
        result = batch_cli(*command, env=state_env, check=False)
        assert result.returncode == 2
        assert "error: no job" in result.stderr and "hint:" in result.stderr


def test_sites_lists_shipped_and_user_sites(state_env: dict[str, str]) -> None:
    _write_site(state_env, "name: mysite\ndescription: my farm\nscheduler: sge\nruntime: podman\n")
    result = batch_cli("sites", env=state_env)
    for name in ("laptop", "slac", "in2p3", "nersc", "nersc-podman-hpc", "grid", "mysite"):
        assert name in result.stdout
    assert "podman (podman-hpc)" in result.stdout


def test_sge_config_minimums_are_read() -> None:
    from hepstack.batch.schedulers.sge import sge_minimum_refusal

    config = "execd_spool_dir /var/spool\nmin_uid                      1000\nmin_gid   500\n"
    assert sge_minimum_refusal(config, 0, 0) == "SGE refuses jobs of uid 0: its min_uid is 1000"
    assert sge_minimum_refusal(config, 1001, 100) == "SGE refuses jobs of gid 100: its min_gid is 500"
    assert sge_minimum_refusal(config, 1001, 1001) is None
    assert sge_minimum_refusal("min_uid x\n", 0, 0) is None  # not a number: nothing is assumed


@pytest.mark.sge
def test_sge_refuses_root_before_anything_is_written(state_env: dict[str, str]) -> None:
    """As root, SGE's qsub answers only "your user id 0 is lower than minimum user id 1000": hepstack says
    it first, in `submit` (nothing written) and in `doctor`."""
    import os

    from hepstack.batch.health import check_schedulers

    if os.geteuid() != 0:
        pytest.skip("root's submission is the refused one")
    result = batch_cli("submit", "--scheduler", "sge", "--runtime", "native", IMAGE, "--", "true",
                       env=state_env, check=False)  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: SGE refuses jobs of uid 0: its min_uid is 1000"), result.stderr
    assert "hint:" in result.stderr and "Traceback" not in result.stderr
    _nothing_submitted(state_env)
    [sge] = [report for report in check_schedulers() if report.name == "sge"]
    assert not sge.answers and sge.detail.startswith("SGE refuses jobs of uid 0"), sge
