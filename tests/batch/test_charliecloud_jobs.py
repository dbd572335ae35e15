"""`hepstack submit --runtime charliecloud` on the real SLURM and SGE, as the non-root test user, with
nothing exported by hand: the job script unpacks the image from the user's podman store into the node
cache itself (batch/templates/node_cache.sh). Ten concurrent tasks on a cold cache convert once and
leave one intact entry that hepstack's own cache code reads back."""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from hepstack.registry.cache import NodeCache
from tests.batch.conftest import BATCH_CLI, batch_cli
from tests.batch.small_image import ENVIRONMENT, import_small_image, write_rootfs
from tests.conftest import tool_works

pytestmark = [pytest.mark.charliecloud, pytest.mark.rootless]
SCHEDULERS = {"slurm": ("sinfo", "--noheader"), "sge": ("qstat", "-g", "c")}
# SLURM's partition `scale` is oversubscribed 128x (scripts/setup-schedulers.sh): ten tasks at once on
# two CPUs. SGE has 4 slots: ten tasks run four at a time there.
QUEUES = {"slurm": "scale", "sge": None}


def _cold_env(user_env: dict[str, str], shared_tmp: Path, name: str) -> dict[str, str]:
    state = shared_tmp / "user-state"
    return {
        **user_env,
        "HEPSTACK_CACHE_DIR": str(state / f"cache-{name}"),
        "HEPSTACK_STATE_DB": f"sqlite:///{state}/{name}.sqlite",
    }


def _wait_for_exit_codes(jobdir: Path, tasks: int, seconds: float) -> dict[int, str]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        codes = {n: (jobdir / f"{n}.exitcode") for n in range(1, tasks + 1)}
        if all(path.exists() for path in codes.values()):
            return {n: path.read_text().strip() for n, path in codes.items()}
        time.sleep(0.5)  # between two looks at the job directory
    logs = {p.name: p.read_text()[-400:] for p in sorted(jobdir.glob("*.log")) + sorted(jobdir.glob("*.out"))}
    raise AssertionError(f"not all {tasks} tasks finished within {seconds} s: {logs}")


@pytest.mark.slurm
@pytest.mark.sge
def test_submit_charliecloud_converts_once_per_node_and_runs(
    test_user: pwd.struct_passwd,
    small_image: tuple[str, str],
    shared_tmp: Path,
    user_env: dict[str, str],
) -> None:
    reference, image_id = small_image
    user = test_user.pw_name
    ready = [name for name, ping in SCHEDULERS.items() if tool_works(*ping)]
    if not ready:
        pytest.skip("neither SLURM nor SGE answers here (scripts/setup-schedulers.sh)")
    tasks = 10
    submitted = {}
    for scheduler in ready:  # all submitted before any is waited for
        env = _cold_env(user_env, shared_tmp, f"ch-{scheduler}")
        queue = ["--queue", QUEUES[scheduler]] if QUEUES[scheduler] else []
        payload = (
            'echo "task $HEPSTACK_TASK_INDEX: $SMALL_IMAGE"; cat /proc/uptime; sleep 3; cat /proc/uptime'
        )
        result = batch_cli(
            "submit", "--scheduler", scheduler, "--runtime", "charliecloud", "--tasks", str(tasks), *queue,
            reference, "--", "sh", "-c", payload, env=env, user=user,
        )  # fmt: skip
        job = result.stdout.split()[2]
        jobdir = Path(re.search(r"script (\S+)/job\.sh", result.stdout)[1])  # type: ignore[index]
        submitted[scheduler] = (job, jobdir, env)

    for scheduler, (job, jobdir, env) in submitted.items():
        codes = _wait_for_exit_codes(jobdir, tasks, 240)
        logs = {n: (jobdir / f"{n}.log").read_text() for n in codes}
        assert set(codes.values()) == {"0"}, (scheduler, codes, logs)
        for number, log in logs.items():
            assert f"task {number}: {ENVIRONMENT['SMALL_IMAGE']}" in log, (scheduler, log)
        cache = Path(env["HEPSTACK_CACHE_DIR"])
        conversions = (cache / "conversions.log").read_text().splitlines()
        print(f"{scheduler}: {tasks} tasks, {len(conversions)} conversion(s): {conversions}")
        assert len(conversions) == 1, conversions
        assert f"charliecloud/{image_id.removeprefix('sha256:')}\t{reference}\t" in conversions[0]
        # intact: one complete entry, no scratch left, readable by hepstack's own cache code
        names = sorted(path.name for path in (cache / "charliecloud").iterdir())
        entry_name = image_id.removeprefix("sha256:")
        assert names == sorted(f"{entry_name}{end}" for end in ("", ".build.lock", ".meta", ".use.lock"))
        entries = NodeCache(cache, owner=test_user.pw_uid).entries()
        assert [(e.kind, e.image_id) for e in entries] == [("charliecloud", entry_name)]
        assert entries[0].size > 1_000_000
        tree = cache / "charliecloud" / entry_name
        assert "SMALL_IMAGE=it's small" in (tree / "ch" / "environment").read_text()
        assert (tree / ".hepstack-unpacked").read_text() == f"{reference}\n"
        assert tree.stat().st_uid == test_user.pw_uid and not tree.stat().st_mode & 0o022
        shown = json.loads(batch_cli("jobs", job, "--json", env=env, user=user).stdout)
        assert {t["state"] for t in shown[0]["tasks"]} == {"COMPLETED"}, shown
        if scheduler == "slurm":  # all ten ran at once: their payloads share an instant
            uptimes = [re.findall(r"^([0-9.]+) [0-9.]+$", log, re.MULTILINE) for log in logs.values()]
            spans = [(float(start), float(end)) for start, end in uptimes]
            assert max(start for start, _ in spans) < min(end for _, end in spans), spans


def test_root_without_user_runs_a_charliecloud_job(tmp_path: Path) -> None:
    """ch-run refuses to start without $USER; a job of root's (or of a site whose job environment has no
    $USER) takes it from the uid. The local executor, as root, with USER and LOGNAME unset."""
    if os.geteuid() != 0:
        pytest.skip("shows root's job environment")
    if not tool_works("podman", "--version") or shutil.which("ch-run") is None:
        pytest.skip("podman and ch-run are needed (scripts/setup-host.sh)")
    archive = tmp_path / "rootfs.tar"
    write_rootfs(archive)
    reference = f"localhost/hepstack-tests/root-small:{os.getpid()}"
    import_small_image(archive, reference, [])
    env = {k: v for k, v in os.environ.items() if k not in ("USER", "LOGNAME")}
    env.update(
        HEPSTACK_DATA_DIR=str(tmp_path / "data"),
        HEPSTACK_CACHE_DIR=str(tmp_path / "cache"),
        HEPSTACK_STATE_DB=f"sqlite:///{tmp_path / 'state.sqlite'}",
        HEPSTACK_SITES_PATH=str(tmp_path / "sites"),
    )
    try:
        result = subprocess.run(
            [*BATCH_CLI, "submit", "--scheduler", "local", "--runtime", "charliecloud", reference,
             "--", "sh", "-c", "echo ran as uid $(id -u)"],
            capture_output=True, text=True, env=env, check=True,
        )  # fmt: skip
        jobdir = Path(re.search(r"script (\S+)/job\.sh", result.stdout)[1])  # type: ignore[index]
        codes = _wait_for_exit_codes(jobdir, 1, 120)
        log = (jobdir / "1.log").read_text()
        assert codes == {1: "0"}, log
        assert "ran as uid 0" in log and "USER not set" not in log
    finally:
        subprocess.run(["podman", "rmi", "--force", reference], capture_output=True, check=False)


@pytest.mark.slurm
def test_an_image_root_site_runs_the_shared_tree_in_place(
    test_user: pwd.struct_passwd,
    small_image: tuple[str, str],
    shared_tmp: Path,
    user_env: dict[str, str],
) -> None:
    """`image_delivery: image_root`: the tree `hepstack export --format dir` left on the shared file system
    is run where it is (its bind's mount point made by the job), and nothing is converted on the node."""
    if not tool_works("sinfo", "--noheader"):
        pytest.skip("SLURM does not answer here (scripts/setup-schedulers.sh)")
    reference, _ = small_image
    user = test_user.pw_name
    env = _cold_env(user_env, shared_tmp, "ch-image-root")
    root = shared_tmp / "user-state" / "images"
    tree = root / reference
    export_env = {**env, "HEPSTACK_CACHE_DIR": str(shared_tmp / "user-state" / "cache-export")}
    batch_cli("export", reference, "--format", "dir", "--output", str(tree), env=export_env, user=user)
    sites = shared_tmp / "user-state" / "sites-image-root"
    out = shared_tmp / "user-state" / "out-image-root"
    for folder in (sites, out):
        folder.mkdir()
        os.chown(folder, test_user.pw_uid, test_user.pw_gid)
    (sites / "farm.yaml").write_text(
        "name: farm\nscheduler: slurm\nruntime: charliecloud\nimage_delivery: image_root\n"
        f"image_root: {root}\nbinds:\n  - {out}:/results\n"
    )
    env["HEPSTACK_SITES_PATH"] = str(sites)
    payload = 'echo "task $HEPSTACK_TASK_INDEX: $SMALL_IMAGE" >/results/$HEPSTACK_TASK_INDEX.txt'
    result = batch_cli(
        "submit", "--site", "farm", "--tasks", "2", reference, "--", "sh", "-c", payload, env=env, user=user,
    )  # fmt: skip
    jobdir = Path(re.search(r"script (\S+)/job\.sh", result.stdout)[1])  # type: ignore[index]
    script = (jobdir / "job.sh").read_text()
    assert (
        f" {tree} -- " in script and "hepstack_cache_entry charliecloud" not in script.split("\n#SBATCH")[-1]
    )
    codes = _wait_for_exit_codes(jobdir, 2, 180)
    assert codes == {1: "0", 2: "0"}, [(jobdir / f"{n}.log").read_text() for n in codes]
    assert [(out / f"{n}.txt").read_text() for n in (1, 2)] == [f"task {n}: it's small\n" for n in (1, 2)]
    assert (tree / "results").is_dir()
    assert not Path(env["HEPSTACK_CACHE_DIR"], "conversions.log").exists()
