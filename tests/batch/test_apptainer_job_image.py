"""Apptainer jobs build their SIF into the node cache, once per node (Apptainer is not installed here:
the job-script text is held to its documented CLI, and the build step runs against a stand-in that
checks each call the way apptainer-build(1) defines it).

``apptainer build [build options...] <image path> <build spec>``; build specs include
``docker://REPO@DIGEST`` and ``docker-archive:PATH`` (a ``docker save`` tar), per
https://apptainer.org/docs/user/main/cli/apptainer_build.html and .../build_a_container.html.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from hepstack import proc
from hepstack.batch.executor import Submission, render
from hepstack.batch.script import template_text
from hepstack.registry.cache import JobNodeCache, NodeCache, entry_path
from tests.batch.small_image import import_small_image, write_rootfs
from tests.batch.test_scripts import ALICE, JOBDIR
from tests.conftest import tool_works

CACHE = JobNodeCache("/home/alice/.cache/hepstack", 1234, shared=False)
IMAGE_ID = f"sha256:{'fe' * 32}"
DIGEST = f"sha256:{'01' * 32}"
# A stand-in for apptainer: refuses any call apptainer-build(1) would not take, records the valid ones.
FAKE_APPTAINER = r"""#!/bin/bash
[ "$1" = build ] || { echo "fake apptainer: only build, not $1" >&2; exit 64; }
[ "$#" = 3 ] || { echo "fake apptainer: build IMAGE_PATH BUILD_SPEC, got $*" >&2; exit 64; }
case $2 in *.sif) ;; *) echo "fake apptainer: not a SIF path: $2" >&2; exit 64 ;; esac
[ -d "$(dirname "$2")" ] && [ ! -e "$2" ] || { echo "fake apptainer: bad target $2" >&2; exit 64; }
case $3 in
    docker-archive:*) tar -xOf "${3#docker-archive:}" manifest.json >/dev/null || exit 65 ;;
    docker://*@sha256:*) ;;
    *) echo "fake apptainer: build spec $3" >&2; exit 64 ;;
esac
printf '%s\n' "$*" >>"$FAKE_APPTAINER_LOG"
printf 'SIF' >"$2"
"""


@pytest.fixture
def _fixed_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proc, "which", lambda tool: f"/usr/bin/{Path(tool).name}")
    monkeypatch.setattr("hepstack.batch.executor.invoking_user", lambda: ALICE)


def _script(image: str, image_id: str | None = None, scheduler: str = "slurm") -> str:
    submission = Submission(
        scheduler=scheduler, runtime="apptainer", image=image, image_id=image_id,
        command=["lat-run", "digi.yaml"], tasks=4, node_cache=CACHE, name="lat-digi",
    )  # fmt: skip
    return render(submission, JOBDIR)[2]


@pytest.mark.usefixtures("_fixed_host")
def test_an_engine_image_is_built_from_a_docker_archive_into_the_node_cache(golden) -> None:  # type: ignore[no-untyped-def]
    script = _script("localhost/lat/release:1.0", IMAGE_ID)
    golden("jobs/slurm-apptainer-engine.sh", script)
    entry = entry_path(CACHE.root, "sif", IMAGE_ID)
    assert (
        f"hepstack_cache_entry sif {entry} localhost/lat/release:1.0 1234 0 '' "
        "hepstack_sif_from_engine /usr/bin/apptainer /usr/bin/podman localhost/lat/release:1.0 "
        '|| hepstack_finish "$?"'
    ) in script
    assert f"/usr/bin/apptainer exec --containall --cleanenv {entry}/image.sif /bin/sh -l -c" in script


@pytest.mark.usefixtures("_fixed_host")
def test_a_registry_image_is_built_from_its_digest() -> None:
    source = f"docker://registry.example.org/hep/lat/release@{DIGEST}"
    script = _script(f"registry.example.org/hep/lat/release@{DIGEST}")
    entry = entry_path(CACHE.root, "sif", DIGEST)
    assert f"hepstack_sif_from_source /usr/bin/apptainer {source} " in script
    assert f" {entry}/image.sif /bin/sh -l -c" in script


@pytest.mark.usefixtures("_fixed_host")
@pytest.mark.parametrize("image", ["/cvmfs/unpacked/lat/release.sif", "oras://ghcr.io/hep/lat:1.0"])
def test_a_sif_path_or_another_uri_is_given_to_apptainer_as_it_is(image: str) -> None:
    script = _script(image)
    assert "hepstack_cache_entry" not in script and f" {image} /bin/sh -l -c" in script


@pytest.mark.podman
def test_the_jobs_build_step_calls_apptainer_as_documented_once(tmp_path: Path) -> None:
    """Three tasks at once on a cold cache, the image from this host's podman store: one build."""
    if not tool_works("podman", "--version"):
        pytest.skip("podman is needed (scripts/setup-host.sh)")
    fake = tmp_path / "apptainer"
    fake.write_text(FAKE_APPTAINER)
    fake.chmod(0o755)
    log = tmp_path / "calls.log"
    archive = tmp_path / "rootfs.tar"
    write_rootfs(archive)
    reference = f"localhost/hepstack-tests/sif:{os.getpid()}"
    image_id = import_small_image(archive, reference, [])
    root = tmp_path / "cache"
    entry = entry_path(root, "sif", image_id)
    library = tmp_path / "lib.sh"
    library.write_text(template_text("node_cache.sh"))
    call = (
        f"source {library}; hepstack_cache_entry sif {entry} {reference} {os.geteuid()} 0 '' "
        f"hepstack_sif_from_engine {fake} {shutil.which('podman')} {reference}"
    )
    try:
        tasks = [
            subprocess.Popen(["bash", "-c", call], env={**os.environ, "FAKE_APPTAINER_LOG": str(log)},
                             stderr=subprocess.PIPE, text=True)
            for _ in range(3)
        ]  # fmt: skip
        outcomes = [(task.wait(120), task.communicate()[1]) for task in tasks]
    finally:
        subprocess.run(["podman", "rmi", "--force", reference], capture_output=True, check=False)
    assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
    calls = log.read_text().splitlines()
    scratch = f"{entry.parent}/.tmp-{entry.name}-"
    assert len(calls) == 1 and calls[0].startswith(f"build {scratch}"), calls
    assert calls[0].endswith(".tar") and " docker-archive:" + scratch in calls[0]
    assert (entry / "image.sif").read_bytes() == b"SIF"
    assert sorted(p.name for p in entry.parent.iterdir()) == sorted(
        f"{entry.name}{end}" for end in ("", ".build.lock", ".meta", ".use.lock")
    )
    meta = json.loads((entry.parent / f"{entry.name}.meta").read_text())
    assert meta["image"] == reference
    assert [e.kind for e in NodeCache(root).entries()] == ["sif"]
    assert len((root / "conversions.log").read_text().splitlines()) == 1
    with tarfile.open(archive) as rootfs:
        assert "bin/sh" in rootfs.getnames()
