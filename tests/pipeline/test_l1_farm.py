"""The example's L1 pipeline on the real farms, as the non-root test user (docs/pipelines.md):
SLURM with rootless podman, SGE with Charliecloud, and one pipeline whose steps span both. Every product
is byte-identical (sha256) to the same delivery processed natively, step by step, by the example's host
driver with the same chunks and crumbs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import tool_works
from tests.pipeline.farm import PIPELINES, Operator, operator_env, products

pytestmark = [pytest.mark.slow, pytest.mark.rootless]


@pytest.fixture
def user_operator(
    test_user: Any, shared_tmp: Path, farm_sites: Path, request: pytest.FixtureRequest
) -> Operator:
    state = shared_tmp / f"state-{request.node.name}"
    state.mkdir(mode=0o700)
    os.chown(state, test_user.pw_uid, test_user.pw_gid)
    return Operator(test_user, operator_env(test_user.pw_dir, test_user.pw_name, state, farm_sites))


def _out(shared_tmp: Path, test_user: Any, name: str) -> Path:
    out = shared_tmp / name
    out.mkdir()
    os.chown(out, test_user.pw_uid, test_user.pw_gid)
    return out


def _run_l1(operator: Operator, pipeline: Path, delivery: Path, out: Path, site: str) -> dict[str, Any]:
    operator.pipeline(
        "create", str(pipeline), "--stream", "d001",
        "--var", f"DELIVERY_DIR={delivery}", "--var", f"OUT_DIR={out}", "--var", f"SITE={site}",
    )  # fmt: skip
    operator.pipeline("run", "--poll", "2")
    import json

    return json.loads(operator.pipeline("status", "lat-l1/d001", "--json").stdout)


def _all_succeeded(status: dict[str, Any]) -> None:
    assert status["streams"] == {
        "(top)": {"SUCCESS": 1},
        "run": {"SUCCESS": 2},
        "run.chunk": {"SUCCESS": 6},
        "run.chunk.crumb": {"SUCCESS": 8},
    }, status
    assert set(status["totals"]) == {"SUCCESS"}, status["totals"]


@pytest.mark.slurm
def test_l1_on_slurm_with_rootless_podman_matches_native(
    user_operator: Operator,
    user_slim_images: dict[str, str],
    delivery: Path,
    native_l1: dict[str, str],
    shared_tmp: Path,
    test_user: Any,
) -> None:
    if not tool_works("sinfo", "--noheader"):
        pytest.skip("SLURM does not answer (scripts/setup-schedulers.sh starts it)")
    out = _out(shared_tmp, test_user, "l1-slurm-podman")
    _all_succeeded(_run_l1(user_operator, PIPELINES / "l1.yaml", delivery, out, "farm-slurm-podman"))
    assert products(out) == native_l1
    shown = user_operator.pipeline("show", "lat-l1/d001/r000001/c002/k01:recon", "--json").stdout
    assert '"runtime": "podman"' in shown and '"scheduler": "slurm"' in shown


@pytest.mark.sge
@pytest.mark.charliecloud
def test_l1_on_sge_with_charliecloud_matches_native(
    user_operator: Operator,
    user_slim_images: dict[str, str],
    delivery: Path,
    native_l1: dict[str, str],
    shared_tmp: Path,
    test_user: Any,
) -> None:
    if not tool_works("qstat", "-g", "c") or shutil.which("ch-run") is None:
        pytest.skip("SGE or ch-run missing (scripts/setup-host.sh sets them up)")
    out = _out(shared_tmp, test_user, "l1-sge-charliecloud")
    _all_succeeded(_run_l1(user_operator, PIPELINES / "l1.yaml", delivery, out, "farm-sge-charliecloud"))
    assert products(out) == native_l1


@pytest.mark.slurm
@pytest.mark.sge
@pytest.mark.charliecloud
def test_one_pipeline_spanning_slurm_and_sge_matches_native(
    user_operator: Operator,
    user_slim_images: dict[str, str],
    delivery: Path,
    native_l1: dict[str, str],
    shared_tmp: Path,
    test_user: Any,
) -> None:
    """Crumbs (recon, merit) on SGE with Charliecloud, everything else on SLURM with podman."""
    if not tool_works("sinfo", "--noheader") or not tool_works("qstat", "-g", "c"):
        pytest.skip("SLURM and SGE must both answer")
    definition = yaml.safe_load((PIPELINES / "l1.yaml").read_text())
    crumb = definition["subpipelines"]["run"]["subpipelines"]["chunk"]["subpipelines"]["crumb"]
    for step in crumb["steps"].values():
        step["site"] = "farm-sge-charliecloud"
    spanning = shared_tmp / "l1-spanning.yaml"
    spanning.write_text(yaml.safe_dump(definition, sort_keys=False))
    spanning.chmod(0o644)
    out = _out(shared_tmp, test_user, "l1-spanning")
    _all_succeeded(_run_l1(user_operator, spanning, delivery, out, "farm-slurm-podman"))
    assert products(out) == native_l1
    import json

    outputs = json.loads(user_operator.pipeline("outputs", "lat-l1/d001", "--json").stdout)
    where = {(row["step"].rsplit(".", 1)[-1], row["site"]) for row in outputs}
    assert ("recon", "farm-sge-charliecloud") in where and ("digi", "farm-slurm-podman") in where
