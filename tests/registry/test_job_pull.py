"""Podman jobs of a registry image on a cold node: the first task pulls it into the store under a lock,
the others wait and find it there (batch/templates/node_cache.sh, ``hepstack_store_image``). Six tasks
start together through the local scheduler, in an empty store of their own (CONTAINERS_STORAGE_CONF),
against the session's registry; a reference the registry does not hold fails each task with 75."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.batch.small_image import write_rootfs
from tests.conftest import hepstack
from tests.registry.conftest import PASSWORD, USER, RegistryServer, needs_podman

pytestmark = [pytest.mark.registry, pytest.mark.podman]
TASKS = 6


@pytest.fixture
def cold_node(tmp_path: Path, registry: RegistryServer) -> dict[str, str]:
    """The environment of a node whose store is empty, that trusts the plain-HTTP test registry
    (registries.conf, as a site sets it on its nodes) and holds the user's registry login."""
    needs_podman()
    conf = tmp_path / "storage.conf"
    conf.write_text(
        f'[storage]\ndriver = "overlay"\ngraphroot = "{tmp_path / "graph"}"\nrunroot = "{tmp_path / "run"}"\n'
    )
    registries = tmp_path / "registries.conf"
    registries.write_text(
        f'unqualified-search-registries = []\n[[registry]]\nlocation = "{registry.host}"\ninsecure = true\n'
    )
    runtime_dir = tmp_path / "xdg"
    runtime_dir.mkdir(mode=0o700)
    env = {
        "CONTAINERS_STORAGE_CONF": str(conf),
        "CONTAINERS_REGISTRIES_CONF": str(registries),
        "REGISTRY_AUTH_FILE": str(tmp_path / "auth.json"),
        "XDG_RUNTIME_DIR": str(runtime_dir),
        "HEPSTACK_DATA_DIR": str(tmp_path / "data"),
        "HEPSTACK_STATE_DB": f"sqlite:///{tmp_path / 'state.sqlite'}",
    }
    subprocess.run(
        ["podman", "login", "--tls-verify=false", "--username", USER, "--password-stdin", registry.host],
        input=PASSWORD, text=True, capture_output=True, check=True, env={**os.environ, **env},
    )  # fmt: skip
    return env


@pytest.fixture
def pushed(tmp_path: Path, registry: RegistryServer) -> str:
    """A few-MB image in the registry only (imported into root's store, copied, removed again)."""
    archive = tmp_path / "rootfs.tar"
    write_rootfs(archive)
    local = f"localhost/hepstack-tests/job-pull:{os.getpid()}"
    remote = f"{registry.host}/jobpull/small:{os.getpid()}"
    subprocess.run(["podman", "import", "--change", "ENV PATH=/usr/bin:/bin", str(archive), local],
                   check=True, capture_output=True)  # fmt: skip
    try:
        subprocess.run(
            ["skopeo", "copy", "--dest-tls-verify=false", "--dest-creds", f"{USER}:{PASSWORD}",
             f"containers-storage:{local}", f"docker://{remote}"],
            check=True, capture_output=True,
        )  # fmt: skip
    finally:
        subprocess.run(["podman", "rmi", "--force", local], capture_output=True, check=False)
    return remote


def _submit(reference: str, env: dict[str, str], tasks: int) -> Path:
    result = hepstack(
        "submit", "--scheduler", "local", "--runtime", "podman", "--tasks", str(tasks), reference,
        "--", "sh", "-c", 'echo "task $HEPSTACK_TASK_INDEX ran"', env=env,
    )  # fmt: skip
    return Path(re.search(r"script (\S+)/job\.sh", result.stdout)[1])  # type: ignore[index]


def _exit_codes(jobdir: Path, tasks: int, seconds: float = 240) -> dict[int, str]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        paths = {n: jobdir / f"{n}.exitcode" for n in range(1, tasks + 1)}
        if all(path.exists() for path in paths.values()):
            return {n: path.read_text().strip() for n, path in paths.items()}
        time.sleep(0.5)  # between two looks at the job directory
    logs = {p.name: p.read_text()[-400:] for p in sorted(jobdir.glob("*.log"))}
    raise AssertionError(f"not all {tasks} tasks ended within {seconds} s: {logs}")


def _store_images(env: dict[str, str]) -> list[str]:
    listing = subprocess.run(
        ["podman", "images", "--format", "{{.Repository}}:{{.Tag}}"],
        capture_output=True, text=True, check=True, env={**os.environ, **env},
    )  # fmt: skip
    return listing.stdout.split()


def test_tasks_starting_together_on_a_cold_node_pull_once(cold_node: dict[str, str], pushed: str) -> None:
    assert _store_images(cold_node) == []

    jobdir = _submit(pushed, cold_node, TASKS)

    codes = _exit_codes(jobdir, TASKS)
    logs = {n: (jobdir / f"{n}.log").read_text() for n in codes}
    assert codes == {n: "0" for n in range(1, TASKS + 1)}, logs
    assert all(f"task {n} ran" in logs[n] for n in logs)
    pulls = (Path(cold_node["XDG_RUNTIME_DIR"]) / "hepstack-pulls" / "pulls.log").read_text().splitlines()
    assert len(pulls) == 1 and pulls[0].split("\t")[1] == pushed, pulls
    assert _store_images(cold_node) == [pushed]
    script = (jobdir / "job.sh").read_text()
    assert f"hepstack_store_image /usr/bin/podman {pushed}" in script and "--pull=never" in script


def test_an_image_the_registry_does_not_hold_fails_each_task_with_75(
    cold_node: dict[str, str], registry: RegistryServer
) -> None:
    jobdir = _submit(f"{registry.host}/jobpull/absent:1", cold_node, 2)

    codes = _exit_codes(jobdir, 2)
    assert codes == {1: "75", 2: "75"}
    log = (jobdir / "1.log").read_text()
    assert f"hepstack: pulling {registry.host}/jobpull/absent:1 into the" in log
    assert not (Path(cold_node["XDG_RUNTIME_DIR"]) / "hepstack-pulls" / "pulls.log").exists()
    assert _store_images(cold_node) == []
