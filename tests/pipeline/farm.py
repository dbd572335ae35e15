"""Shared by the pipeline tests on the real farms: a delivery, its native step-by-step reference, the slim
images in the test user's rootless store, site files, and `hepstack pipeline` as the test user."""

from __future__ import annotations

import hashlib
import os
import pwd
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import HEPSTACK

REPO = Path(__file__).resolve().parents[2]
PIPELINES = REPO / "examples" / "lat" / "pipelines"
NATIVE_BIN = Path(os.environ.get("LAT_NATIVE", "/opt/lat-native")) / "bin"
# 2 runs x 3 chunks; the 3200- and 3000-event chunks get two crumbs of different sizes (L1Proc's sizing)
CHUNK_EVENTS = "1600,1500,3200/1500,3000,900"
# what differs between two runs of the same job by nature: timing DBs (durations) and the driver's logs
NOT_PRODUCTS = ("timing/", "logs/", "l1_summary.json")

SITES = {
    "farm-slurm-podman": "scheduler: slurm\nruntime: podman\n",
    "farm-sge-charliecloud": "scheduler: sge\nruntime: charliecloud\n",
    "farm-slurm-native": f"scheduler: slurm\nruntime: native\nenv:\n  PATH: {NATIVE_BIN}:/usr/bin:/bin\n",
    "farm-local-native": f"scheduler: local\nruntime: native\nenv:\n  PATH: {NATIVE_BIN}:/usr/bin:/bin\n",
}


def products(directory: Path) -> dict[str, str]:
    """sha256 of every data product under ``directory`` (relative path -> digest)."""
    sums = {}
    for path in sorted(directory.rglob("*")):
        relative = str(path.relative_to(directory))
        if path.is_file() and not any(part in relative for part in NOT_PRODUCTS):
            with path.open("rb") as handle:
                sums[relative] = hashlib.file_digest(handle, "sha256").hexdigest()
    return sums


def write_sites(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, body in SITES.items():
        (directory / f"{name}.yaml").write_text(f"name: {name}\ndescription: a test site\n{body}")
    directory.chmod(0o755)
    for path in directory.iterdir():
        path.chmod(0o644)
    return directory


@dataclass(frozen=True)
class Operator:
    """`hepstack pipeline` as one user, with that user's own state (data dir, state DB, caches)."""

    user: pwd.struct_passwd | None
    env: dict[str, str]

    def pipeline(
        self, *args: str, check: bool = True, timeout: float = 1200
    ) -> subprocess.CompletedProcess[str]:
        argv = [HEPSTACK, "pipeline", *args]
        if self.user is not None:
            argv = [
                "runuser",
                "-u",
                self.user.pw_name,
                "--",
                "env",
                *(f"{k}={v}" for k, v in self.env.items()),
                *argv,
            ]
            environment = None
        else:
            environment = {**os.environ, **self.env}
        result = subprocess.run(
            argv, capture_output=True, text=True, env=environment, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"pipeline {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
            )
        return result


def operator_env(home: str, user: str, state: Path, sites: Path) -> dict[str, str]:
    return {
        "HOME": home,
        "USER": user,
        "PATH": f"{NATIVE_BIN}:/usr/local/bin:/usr/bin:/bin",
        "HEPSTACK_DATA_DIR": str(state / "data"),
        "HEPSTACK_CACHE_DIR": str(state / "cache"),
        "HEPSTACK_STATE_DB": f"sqlite:///{state}/state.sqlite",
        "HEPSTACK_SITES_PATH": str(sites),
    }
