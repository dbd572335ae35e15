"""The example's pipelines with site services, at the `laptop` site (local tasks in podman): L1 with recon's
calibration from the calibration DB (MariaDB, v1) and digi, merit and FT1 staged out to xrootd, then a
reprocessing that stages that digi back in from xrootd and uses v2 from the DB. The files at the URLs are
compared with the local products by `hepstack verify`; provenance names the calibration and the URLs.
A stage-in that fails (exit 75) is retried by the pipeline's retry policy once the file is there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import HEPSTACK
from tests.pipeline.conftest import hepstack_pipeline
from tests.pipeline.farm import NATIVE_BIN
from tests.services.calib_jobs import Calibrations, calibrations, private_copy, recon_ref  # noqa: F401
from tests.services.endpoints import MariaDB, Xrootd

PIPELINES = Path(__file__).resolve().parents[2] / "examples" / "lat" / "pipelines"


@pytest.fixture
def store(xrootd: Xrootd) -> Iterator[tuple[Xrootd, str]]:
    """A directory of this test's own on the shared xrootd server, removed afterwards."""
    prefix = f"hepstack-tests/services-pipeline-{uuid.uuid4().hex[:10]}"
    try:
        yield xrootd, prefix
    finally:
        shutil.rmtree(xrootd.data_dir / prefix, ignore_errors=True)


@pytest.fixture
def services_env(tmp_path: Path, mariadb: MariaDB, example_images: dict[str, str]) -> dict[str, str]:
    from hepstack.context import Context

    catalog = Context.from_environment().catalog_path  # where example_images recorded the images
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    reader = private_copy(mariadb.reader_option_file, secrets, os.geteuid(), os.getegid())
    return {
        "HEPSTACK_DATA_DIR": str(tmp_path / "data"),
        "HEPSTACK_STATE_DB": f"sqlite:///{tmp_path / 'state.sqlite'}",
        "HEPSTACK_CATALOG": str(catalog),
        "PATH": f"{NATIVE_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",  # the planner, lat-l1
        "XRD_CONNECTIONRETRY": "1",
        "READER_SECRET": str(reader),
    }


def _totals(env: dict[str, str], address: str) -> set[str]:
    return set(json.loads(hepstack_pipeline("status", address, "--json", env=env).stdout)["totals"])


def _provenance(env: dict[str, str], target: str) -> list[dict[str, Any]]:
    return json.loads(hepstack_pipeline("provenance", target, "--json", env=env).stdout)  # type: ignore[no-any-return]


def _verify(url: str, local: str) -> None:
    result = subprocess.run([HEPSTACK, "verify", url, local], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and result.stdout.startswith("equal:"), result.stdout + result.stderr


@pytest.mark.slow
def test_l1_with_db_calibration_and_xrootd_then_reprocessing_from_xrootd(
    services_env: dict[str, str],
    store: tuple[Xrootd, str],
    calibrations: Calibrations,  # noqa: F811
    small_delivery: Path,
    tmp_path: Path,
) -> None:
    xrootd, prefix = store
    env = services_env
    l1_store, v2_store = xrootd.url(f"{prefix}/l1"), xrootd.url(f"{prefix}/v2")
    l1_out, v2_out = tmp_path / "l1", tmp_path / "l1-v2"
    l1_out.mkdir()
    v2_out.mkdir()
    common = [
        "--var", f"DELIVERY_DIR={small_delivery}", "--var", "SITE=laptop",
        "--var", f"CALIB_SECRET={env['READER_SECRET']}", "--var", f"CALIB_DB={calibrations.url}",
    ]  # fmt: skip
    hepstack_pipeline(
        "create", str(PIPELINES / "l1-services.yaml"), "--stream", "d002", *common,
        "--var", f"OUT_DIR={l1_out}", "--var", f"STORE={l1_store}", "--var", f"CALIB_TAG={calibrations.v1}",
        env=env,
    )  # fmt: skip
    start = time.monotonic()
    hepstack_pipeline("run", "--poll", "2", env=env, timeout=600)
    l1_seconds = time.monotonic() - start
    assert _totals(env, "lat-l1-services/d002") == {"SUCCESS"}

    outputs = json.loads(hepstack_pipeline("outputs", "lat-l1-services/d002", "--json", env=env).stdout)
    staged = {row["path"]: row for row in outputs if row["path"].startswith("root://")}
    run = "r000001"
    expected = {
        f"{l1_store}/{run}/digi/digi_{run}_c000.root": l1_out / run / "digi" / f"digi_{run}_c000.root",
        f"{l1_store}/{run}/digi/digi_{run}_c001.root": l1_out / run / "digi" / f"digi_{run}_c001.root",
        f"{l1_store}/{run}/merit/merit_{run}.root": l1_out / run / "merit" / f"merit_{run}.root",
        f"{l1_store}/{run}/ft1/ft1_{run}.fits": l1_out / run / "ft1" / f"ft1_{run}.fits",
    }
    assert set(staged) == set(expected)
    for url, local in expected.items():
        _verify(url, str(local))  # the server's file is the local product (copied with adler32, compared)
        assert staged[url]["sha256"] == next(r["sha256"] for r in outputs if r["path"] == str(local))
    merit_url = f"{l1_store}/{run}/merit/merit_{run}.root"
    chain = _provenance(env, merit_url)
    assert chain[0]["staged_out"] == [{"path": str(expected[merit_url]), "url": merit_url}]
    assert chain[0]["metadata"]["merit:calibration"].startswith("calib_v1 1.1.0 sha256:")
    recons = [record for record in chain if record["step"] == "run.chunk.crumb.recon"]
    assert len(recons) == 3
    assert {r["metadata"]["recon:calibration"] for r in recons} == {chain[0]["metadata"]["merit:calibration"]}
    assert all(f"physics.producers.cal.calibTag={calibrations.v1}" in r["command"] for r in recons)
    table = hepstack_pipeline("provenance", merit_url, env=env).stdout
    assert f"staged out {expected[merit_url]} -> {merit_url}" in table
    assert "metadata   merit:calibration: calib_v1 1.1.0" in table

    hepstack_pipeline(
        "create", str(PIPELINES / "reprocess-services.yaml"), "--stream", "d002-v2", *common,
        "--var", f"OUT_DIR={v2_out}", "--var", f"DIGI_STORE={l1_store}", "--var", f"STORE={v2_store}",
        "--var", f"CALIB_TAG={calibrations.v2}", env=env,
    )  # fmt: skip
    shutil.rmtree(l1_out / run / "digi")  # the reprocessing must read the digi from xrootd
    hepstack_pipeline("run", "--poll", "2", env=env, timeout=600)
    assert _totals(env, "lat-reprocess-services/d002-v2") == {"SUCCESS"}
    for chunk in ("c000", "c001"):
        digi = v2_out / run / "digi" / f"digi_{run}_{chunk}.root"
        record = _provenance(env, str(digi))
        assert record[0]["staged_in"] == [
            {"path": str(digi), "url": f"{l1_store}/{run}/digi/digi_{run}_{chunk}.root"}
        ]
        assert record[1]["instance"] == f"lat-l1-services/d002/{run}/{chunk}:digi"  # through the URL
    v2_merit, v2_ft1 = f"{v2_store}/{run}/merit/merit_{run}.root", f"{v2_store}/{run}/ft1/ft1_{run}.fits"
    _verify(v2_merit, str(v2_out / run / "merit" / f"merit_{run}.root"))
    _verify(v2_ft1, str(v2_out / run / "ft1" / f"ft1_{run}.fits"))
    v2_chain = _provenance(env, v2_merit)
    assert v2_chain[0]["metadata"]["merit:calibration"].startswith("calib_v2 1.2.0 sha256:")
    v2_rows = json.loads(hepstack_pipeline("outputs", "lat-reprocess-services", "--json", env=env).stdout)
    v2_sha = next(row["sha256"] for row in v2_rows if row["path"] == v2_merit)
    assert v2_sha != staged[merit_url]["sha256"]  # other constants, other merit
    print(f"L1 with services: {l1_seconds:.1f} s")


@pytest.mark.slow
def test_a_failed_stage_in_exits_75_and_is_retried(
    services_env: dict[str, str], store: tuple[Xrootd, str], tmp_path: Path
) -> None:
    """The file is not on the server at the first attempt (exit 75, FAILED, retried after the backoff);
    it is put there meanwhile, and the second attempt stages it in and succeeds."""
    xrootd, prefix = store
    env = services_env
    url = xrootd.url(f"{prefix}/late/input.dat")
    out = tmp_path / "out"
    out.mkdir()
    definition = tmp_path / "late.yaml"
    definition.write_text(
        "pipeline: late-input\nversion: 1\n"
        "variables:\n  URL: {required: true}\n  OUT: {required: true}\n"
        "defaults:\n  site: laptop\n  binds: ['${OUT}']\n"
        "  retry: {max_attempts: 3, on_states: [FAILED], on_exit_codes: [75], backoff: 6}\n"
        "steps:\n  copy:\n    image: lat/recon\n"
        "    stage_in: ['${URL}=${OUT}/input.dat']\n"
        "    command: [cp, '${OUT}/input.dat', '${OUT}/copy.dat']\n"
        "    outputs: {copy: '${OUT}/copy.dat'}\n"
    )
    hepstack_pipeline(
        "create", str(definition), "--stream", "s1", "--var", f"URL={url}", "--var", f"OUT={out}", env=env
    )
    orchestrator_log = tmp_path / "orchestrator.log"
    with orchestrator_log.open("wb") as log:
        orchestrator = subprocess.Popen(
            [HEPSTACK, "pipeline", "run", "--poll", "1"], env={**os.environ, **env}, stdout=log, stderr=log
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            shown = json.loads(hepstack_pipeline("show", "late-input/s1:copy", "--json", env=env).stdout)
            if shown["history"] and shown["history"][0]["exit_code"] is not None:
                break
            assert time.monotonic() < deadline, shown
            assert orchestrator.poll() is None, orchestrator_log.read_text()
            time.sleep(0.5)
        assert shown["history"][0]["exit_code"] == 75 and shown["history"][0]["state"] == "FAILED"
        source = tmp_path / "input.dat"
        source.write_bytes(os.urandom(100_000))
        subprocess.run(["xrdcp", "--nopbar", str(source), url], check=True, capture_output=True)
        orchestrator.wait(timeout=180)
    finally:
        if orchestrator.poll() is None:
            orchestrator.kill()
            orchestrator.wait()
    shown = json.loads(hepstack_pipeline("show", "late-input/s1:copy", "--json", env=env).stdout)
    assert shown["state"] == "SUCCESS" and [a["exit_code"] for a in shown["history"]] == [75, 0]
    assert (out / "copy.dat").read_bytes() == source.read_bytes()
    assert shown["staged_in"] == [{"path": f"{out}/input.dat", "url": url}]
    log = hepstack_pipeline("logs", "late-input/s1:copy", "--attempt", "1", env=env).stdout
    assert "staging failed: stage-in of" in log


def test_check_refuses_bad_staging_and_secrets(tmp_path: Path, pipeline_env: dict[str, str]) -> None:
    """Hostile or wrong service entries are reported by `pipeline check`, located, all at once."""
    definition = tmp_path / "bad.yaml"
    definition.write_text(
        "pipeline: bad-services\nversion: 1\nvariables: {OUT: {default: /tmp/o}}\n"
        "defaults: {scheduler: local, runtime: native}\n"
        "steps:\n"
        "  a:\n    image: lat/recon\n    command: ['true']\n"
        "    stage_in: ['root://127.0.0.1:1094//a/../b=/tmp/x']\n"
        "    stage_out: ['${OUT}/undeclared.root=root://127.0.0.1:1094//o/u.root', 'x=root://-oProxy//a']\n"
        "    secrets: {Calib-DB: /tmp/secret}\n"
    )
    result = hepstack_pipeline("check", str(definition), env=pipeline_env, check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    text = result.stderr
    assert "bad.yaml:9: steps.a.stage_in[0]" in text and "has a '.' or '..' component" in text
    assert "stages out a file that is not a declared output" in text
    assert "is not an xrootd URL" in text
    assert "secret name 'Calib-DB' is not a secret name" in text
    assert "Traceback" not in text
    script = tmp_path / "script.yaml"
    script.write_text(
        "pipeline: bad-script\nversion: 1\nsteps:\n  b:\n    script: [echo]\n"
        "    stage_in: ['root://127.0.0.1:1094//a=/tmp/a']\n    secrets: {calibdb: /tmp/secret}\n"
    )
    result = hepstack_pipeline("check", str(script), env=pipeline_env, check=False)
    assert result.returncode == 2
    assert "a script step runs on the orchestrator's host: drop secrets, stage_in" in result.stderr
