"""Charliecloud job scripts: an engine image is unpacked by the job into the node cache, a site's
image_root tree is run in place (goldens; the runs themselves are in test_charliecloud_jobs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hepstack import proc
from hepstack.batch.executor import Submission, render
from hepstack.registry.cache import JobNodeCache, entry_path
from hepstack.runtimes import Bind
from tests.batch.test_scripts import ALICE, JOBDIR

CACHE = JobNodeCache("/home/alice/.cache/hepstack", 1234, shared=False)
IMAGE_ID = f"sha256:{'fe' * 32}"


@pytest.fixture(autouse=True)
def _fixed_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proc, "which", lambda tool: f"/usr/bin/{Path(tool).name}")
    monkeypatch.setenv("HEPSTACK_DOCKER", "/usr/bin/docker")
    monkeypatch.setattr("hepstack.batch.executor.invoking_user", lambda: ALICE)


def _script(scheduler: str, image: str, engine: str = "podman", image_id: str | None = None) -> str:
    submission = Submission(
        scheduler=scheduler, runtime="charliecloud", image=image, image_id=image_id, engine=engine,
        command=["lat-run", "digi.yaml"], tasks=10, binds=[Bind("/home/alice/out", "/out")],
        workdir="/work", node_cache=CACHE, name="lat-digi",
    )  # fmt: skip
    return render(submission, JOBDIR)[2]


def test_an_engine_image_is_unpacked_into_the_node_cache_by_the_job(golden) -> None:  # type: ignore[no-untyped-def]
    script = _script("slurm", "localhost/lat/release:1.0", image_id=IMAGE_ID)
    golden("jobs/slurm-charliecloud-engine.sh", script)
    entry = entry_path(CACHE.root, "charliecloud", IMAGE_ID)
    assert (
        f"hepstack_cache_entry charliecloud {entry} localhost/lat/release:1.0 1234 0 '' "
        'hepstack_unpack_engine /usr/bin/podman localhost/lat/release:1.0 || hepstack_finish "$?"\n'
        f'hepstack_mount_points {entry} /out /work || hepstack_finish "$?"\n'
    ) in script
    assert f"--cd=/work {entry} -- /bin/sh -l -c" in script
    assert '[ -n "${USER:-}" ] || export USER="$(id -un)"' in script  # root, or a job without $USER


def test_a_docker_image_is_exported_by_docker() -> None:
    script = _script("sge", "localhost/lat/release:1.0", engine="docker", image_id=IMAGE_ID)
    assert "hepstack_unpack_engine /usr/bin/docker localhost/lat/release:1.0 ||" in script


def test_an_image_root_tree_runs_in_place(golden) -> None:  # type: ignore[no-untyped-def]
    tree = "/cvmfs/unpacked.example.org/localhost/lat/release:1.0"
    script = _script("sge", tree)
    golden("jobs/sge-charliecloud-image-root.sh", script)
    assert "hepstack_cache_entry" not in script.split("hepstack_mount_points() {")[1]
    assert f"hepstack_mount_points {tree} /out /work ||" in script
    assert f"--cd=/work {tree} -- /bin/sh" in script


def test_a_squashfs_file_needs_nothing_on_the_node() -> None:
    script = _script("slurm", "/cvmfs/images/lat-release.sqfs")
    assert "# (the image needs no preparation on the node)" in script
    assert "hepstack_cache_entry" not in script
