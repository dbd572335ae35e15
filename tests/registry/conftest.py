"""A real registry for the session: Debian's docker-registry (distribution 2.8) on 127.0.0.1 with
htpasswd auth."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import tool_works

USER = "release-manager"
PASSWORD = "s3cret-Pa55-not-for-logs"
CLI = [sys.executable, "-m", "hepstack"]  # this interpreter's hepstack, whatever PATH holds


def cli(
    *args: str, env: dict[str, str] | None = None, check: bool = True, input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **(env or {})}
    result = subprocess.run(
        [*CLI, *args], capture_output=True, text=True, env=environment, input=input_text, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"hepstack {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RegistryServer:
    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.root / "registry.log"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                ["docker-registry", "serve", str(self.root / "config.yml")], stdout=sink, stderr=sink
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1)
            except urllib.error.HTTPError as exc:
                if exc.code == 401:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"docker-registry did not start:\n{self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def blob_uploads(self) -> int:
        """Blobs uploaded in full (the closing ``PUT .../blobs/uploads/...&digest=`` of each upload)."""
        lines = self.log.read_text(errors="replace").splitlines()
        return sum(1 for line in lines if '"PUT /v2/' in line and "/blobs/uploads/" in line)

    def blob_uploads_started(self) -> int:
        """Blob uploads started (POST .../blobs/uploads/ without a cross-repository mount)."""
        lines = self.log.read_text(errors="replace").splitlines()
        return sum(
            1 for line in lines if '"POST /v2/' in line and "/blobs/uploads/" in line and "mount=" not in line
        )


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    if not (shutil.which("docker-registry") and shutil.which("htpasswd") and shutil.which("skopeo")):
        pytest.skip("needs docker-registry, htpasswd (apache2-utils) and skopeo (scripts/setup-host.sh)")
    root = tmp_path_factory.mktemp("registry")
    htpasswd = subprocess.run(
        ["htpasswd", "-Bbn", USER, PASSWORD], capture_output=True, text=True, check=True
    )
    (root / "htpasswd").write_text(htpasswd.stdout)
    server = RegistryServer(root, free_port())
    (root / "config.yml").write_text(
        "version: 0.1\n"
        "log: {level: info, formatter: text}\n"
        f"storage: {{filesystem: {{rootdirectory: {root / 'data'}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: '127.0.0.1:{server.port}'}}\n"
        f"auth: {{htpasswd: {{realm: hepstack-tests, path: {root / 'htpasswd'}}}}}\n"
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def credentials() -> dict[str, str]:
    return {"HEPSTACK_REGISTRY_USER": USER, "HEPSTACK_REGISTRY_PASSWORD": PASSWORD}


@pytest.fixture
def clean_store(tmp_path: Path) -> dict[str, str]:
    """An empty podman/skopeo image store of its own (CONTAINERS_STORAGE_CONF), as on another site."""
    conf = tmp_path / "storage.conf"
    conf.write_text(
        f'[storage]\ndriver = "overlay"\ngraphroot = "{tmp_path / "graph"}"\nrunroot = "{tmp_path / "run"}"\n'
    )
    return {"CONTAINERS_STORAGE_CONF": str(conf)}


def podman_in(store: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        ["podman", *args], capture_output=True, text=True, env={**os.environ, **store}, check=True
    )
    return result.stdout


def needs_podman() -> None:
    if not tool_works("podman", "info"):
        pytest.skip("podman does not work here")
