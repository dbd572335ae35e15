"""The example's pipelines in production conditions on the real SLURM (jobs run natively here, to keep the
suite short; the same pipelines in containers: test_l1_farm.py): crumbs that fail once or always, a job
cancelled through the scheduler, the throttles watched from the scheduler's side, a rollback, kill -9 of
the orchestrator through an L1 run, the L1 on PostgreSQL, and MC production and reprocessing in images.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
import yaml

from tests.conftest import tool_works
from tests.pipeline.crashing import check_exactly_once, run_with_crashes
from tests.pipeline.farm import NATIVE_BIN, PIPELINES, Operator, operator_env, products
from tests.services.polling import poll

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


@pytest.fixture(autouse=True)
def _slurm() -> None:
    if not tool_works("sinfo", "--noheader"):
        pytest.skip("SLURM does not answer (scripts/setup-schedulers.sh starts it)")


@pytest.fixture
def operator(tmp_path: Path, farm_sites: Path, example_images: dict[str, str]) -> Operator:
    """Root's operator; the steps name lat/digi etc., so the session's build of the example is needed."""
    import os

    env = operator_env(os.environ.get("HOME", "/root"), "root", tmp_path / "state", farm_sites)
    if os.environ.get("HEPSTACK_DATA_DIR"):  # the images this test session built are in its catalog
        env["HEPSTACK_CATALOG"] = str(Path(os.environ["HEPSTACK_DATA_DIR"]) / "catalog.sqlite")
    return Operator(None, env)


def _variant(tmp_path: Path, name: str, edit: Any, source: str = "l1.yaml") -> Path:
    """A copy of an example pipeline changed by ``edit(definition)`` (a test variant, version 100)."""
    definition = yaml.safe_load((PIPELINES / source).read_text())
    definition["version"] = 100
    edit(definition)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(definition, sort_keys=False))
    return path


def _crumb(definition: dict[str, Any]) -> dict[str, Any]:
    return definition["subpipelines"]["run"]["subpipelines"]["chunk"]["subpipelines"]["crumb"]


def _create(
    operator: Operator, pipeline: Path, delivery: Path, out: Path, *, site: str = "farm-slurm-native"
) -> None:
    out.mkdir(exist_ok=True)
    operator.pipeline(
        "create", str(pipeline), "--stream", "d001",
        "--var", f"DELIVERY_DIR={delivery}", "--var", f"OUT_DIR={out}", "--var", f"SITE={site}",
    )  # fmt: skip


def _status(operator: Operator, address: str = "lat-l1/d001") -> dict[str, Any]:
    return json.loads(operator.pipeline("status", address, "--json").stdout)


def _show(operator: Operator, instance: str) -> dict[str, Any]:
    return json.loads(operator.pipeline("show", instance, "--json").stdout)


# --- failures: retried, merged without, cancelled -----------------------------------------------------------


def test_a_crumb_failing_once_is_retried_one_failing_always_is_merged_around(
    operator: Operator, small_delivery: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "failed-once"

    def edit(definition: dict[str, Any]) -> None:
        recon = _crumb(definition)["steps"]["recon"]
        guard = (
            f'case "$HEPSTACK_STREAM" in'
            f" */r000001/c001/k00) [ -e {marker} ] || {{ touch {marker}; exit 3; }} ;;"
            f" */r000001/c001/k01) exit 7 ;;"
            f' esac; exec "$$@"'
        )
        recon["command"] = ["sh", "-c", guard, "recon", *recon["command"]]
        recon["retry"] = {"max_attempts": 2, "on_states": ["FAILED", "TERMINATED", "UNKNOWN"]}

    out = tmp_path / "out"
    _create(operator, _variant(tmp_path, "failing", edit), small_delivery, out)
    operator.pipeline("run", "--poll", "1")
    status = _status(operator)
    assert status["steps"]["run.chunk.crumb.recon"] == {"SUCCESS": 2, "FAILED": 1}
    assert status["steps"]["run.chunk.crumb.merit"] == {"SUCCESS": 2, "SKIPPED": 1}
    assert status["steps"]["run.chunk.mergeReconCrumbs"] == {"SUCCESS": 2}  # of the good crumbs
    assert status["streams"]["run.chunk.crumb"] == {"SUCCESS": 2, "FAILED": 1}
    assert status["streams"]["(top)"] == {"FAILED": 1}
    once = _show(operator, "lat-l1/d001/r000001/c001/k00:recon")
    assert once["state"] == "SUCCESS" and [a["exit_code"] for a in once["history"]] == [3, 0]
    always = _show(operator, "lat-l1/d001/r000001/c001/k01:recon")
    assert always["state"] == "FAILED" and [a["exit_code"] for a in always["history"]] == [7, 7]
    merge = _show(operator, "lat-l1/d001/r000001/c001:mergeMeritCrumbs")
    assert merge["state"] == "SUCCESS"
    assert merge["inputs"]["MERIT_MISSING"] == ["k01"] and merge["inputs"]["MERIT_SUCCEEDED"] == ["k00"]
    assert merge["command"][-1].endswith("merit_r000001_c001_k00.root") and len(merge["command"]) == 5
    said = operator.pipeline("status", "lat-l1/d001").stdout
    assert "FAILED" in said and "SKIPPED" in said


def test_a_job_cancelled_through_the_scheduler_is_never_success(
    operator: Operator, small_delivery: Path, tmp_path: Path
) -> None:
    def edit(definition: dict[str, Any]) -> None:
        digi = definition["subpipelines"]["run"]["subpipelines"]["chunk"]["steps"]["digi"]
        digi["command"] = [
            "sh",
            "-c",
            'case "$HEPSTACK_STREAM" in */r000001/c000) exec sleep 300;; esac; exec "$$@"',
            "digi",
            *digi["command"],
        ]
        digi["retry"] = {"max_attempts": 1}

    out = tmp_path / "out"
    _create(operator, _variant(tmp_path, "cancelled", edit), small_delivery, out)
    with subprocess.Popen(
        [*operator_argv(operator), "run", "--poll", "1"],
        env=operator_environ(operator),
        stdout=subprocess.DEVNULL,
    ) as orchestrator:
        task = _wait_for_running_task(operator, "d001/r000001/c000", "run.chunk.digi")
        subprocess.run(["scancel", task], check=True)  # that task only: JOBID_INDEX
        assert orchestrator.wait(timeout=600) == 0
    cancelled = _show(operator, "lat-l1/d001/r000001/c000:digi")
    # the scheduler's word (sacct), not a guess: TERMINATED, with SLURM's reason
    assert cancelled["state"] == "TERMINATED" and "slurm says CANCELLED" in cancelled["reason"], cancelled
    assert _status(operator)["steps"]["run.chunk.digi"] == {"TERMINATED": 1, "SUCCESS": 1}


def operator_argv(operator: Operator) -> list[str]:
    from tests.conftest import HEPSTACK

    return [HEPSTACK, "pipeline"]


def operator_environ(operator: Operator) -> dict[str, str]:
    import os

    return {**os.environ, **operator.env}


def _wait_for_running_task(operator: Operator, stream: str, step: str) -> str:
    """``JOBID_INDEX`` of the SLURM task of ``step`` in ``stream``, once it runs."""
    engine = sqlalchemy.create_engine(operator.env["HEPSTACK_STATE_DB"])
    deadline = time.monotonic() + 300
    query = sqlalchemy.text(
        "SELECT s.native_id, i.task_index FROM pipeline_instances i "
        "JOIN pipeline_submissions s ON s.id = i.submission_id JOIN pipeline_streams t ON t.id = i.stream_id "
        "WHERE i.step = :step AND t.address = :stream AND i.state = 'RUNNING' AND s.native_id IS NOT NULL"
    )
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                row = connection.execute(query, {"step": step, "stream": stream}).first()
            if row is not None:
                return f"{row[0]}_{row[1]}"
            time.sleep(0.5)  # polling the state DB for the condition, with the deadline above
    finally:
        engine.dispose()
    raise AssertionError(f"{stream}:{step} did not run within 300 s")


# --- throttles, as the scheduler sees them ------------------------------------------------------------------


def test_throttles_hold_as_the_scheduler_sees_them(
    operator: Operator, shared_tmp: Path, tmp_path: Path
) -> None:
    three_runs = tmp_path / "d003"
    subprocess.run(
        [
            str(NATIVE_BIN / "lat-delivery"),
            str(three_runs),
            "--chunk-events",
            "1500,1500/1500,1500/1500,1500",
            "--seed",
            "3",
        ],
        check=True,
        capture_output=True,
    )

    def edit(definition: dict[str, Any]) -> None:
        definition["subpipelines"]["run"]["max_in_flight"] = 2

        def limit(node: dict[str, Any]) -> None:
            for step in node["steps"].values():
                if "image" in step:
                    step["max_running"] = 3
            for child in node.get("subpipelines", {}).values():
                limit(child)

        limit(definition)

    _create(operator, _variant(tmp_path, "throttled", edit), three_runs, tmp_path / "out")
    seen: Counter[str] = Counter()
    runs_in_flight = 0
    stop = threading.Event()

    def watch() -> None:
        nonlocal runs_in_flight
        engine = sqlalchemy.create_engine(operator.env["HEPSTACK_STATE_DB"])
        while not stop.is_set():
            queue = subprocess.run(
                ["squeue", "--noheader", "--array", "--user=root", "--format=%j|%T"],
                capture_output=True,
                text=True,
            ).stdout
            per_step = Counter(
                line.split("|")[0].rsplit(".s", 1)[0] for line in queue.splitlines() if "|" in line
            )
            for step, count in per_step.items():
                seen[step] = max(seen[step], count)
            with engine.connect() as connection:
                running = connection.execute(
                    sqlalchemy.text(
                        "SELECT COUNT(*) FROM pipeline_streams WHERE node = 'run' AND state = 'RUNNING'"
                    )
                ).scalar_one()
            runs_in_flight = max(runs_in_flight, int(running))
            time.sleep(0.2)
        engine.dispose()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        operator.pipeline("run", "--poll", "1")
    finally:
        stop.set()
        watcher.join()
    mine = {step: count for step, count in seen.items() if step.startswith("lat-l1.")}
    print(f"most tasks in the queue at once, per step: {mine}; most runs in flight: {runs_in_flight}")
    assert mine and max(mine.values()) <= 3, mine
    assert mine.get("lat-l1.run.chunk.crumb.recon") == 3  # the limit was reached: the check could fail
    assert runs_in_flight == 2
    assert set(_status(operator)["totals"]) == {"SUCCESS"}


# --- rollback -----------------------------------------------------------------------------------------------


def test_rollback_of_one_chunks_recon_reruns_exactly_what_is_downstream(
    operator: Operator, small_delivery: Path, small_native_l1: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    _create(operator, PIPELINES / "l1.yaml", small_delivery, out)
    operator.pipeline("run", "--poll", "1")
    before = {
        path: path.stat().st_mtime_ns
        for path in out.rglob("*")
        if path.is_file() and "timing" not in path.parts
    }
    time.sleep(0.05)
    said = operator.pipeline("rollback", "lat-l1/d001/r000001/c001/*:recon").stdout
    assert "2 chosen, 8 downstream" in said, (
        said
    )  # 2 crumbs' merit, the chunk's 2 merges and FT1, 3 run merges
    operator.pipeline("run", "--poll", "1")
    after = {path: path.stat().st_mtime_ns for path in before}
    changed = sorted(str(path.relative_to(out)) for path in before if after[path] != before[path])
    assert changed == [
        "r000001/ft1/ft1_r000001.fits",
        "r000001/ft1/ft1_r000001_c001.fits",
        "r000001/merit/merit_r000001.root",
        "r000001/merit/merit_r000001_c001.root",
        "r000001/merit/merit_r000001_c001_k00.root",
        "r000001/merit/merit_r000001_c001_k01.root",
        "r000001/recon/recon_r000001.root",
        "r000001/recon/recon_r000001_c001.root",
        "r000001/recon/recon_r000001_c001_k00.root",
        "r000001/recon/recon_r000001_c001_k01.root",
    ]
    engine = sqlalchemy.create_engine(operator.env["HEPSTACK_STATE_DB"])
    with engine.connect() as connection:
        second = connection.execute(
            sqlalchemy.text(
                "SELECT s.address, i.step FROM pipeline_instances i "
                "JOIN pipeline_streams s ON s.id = i.stream_id "
                "WHERE i.is_current AND i.execution = 2 ORDER BY s.address, i.step"
            )
        ).all()
    engine.dispose()
    assert [tuple(row) for row in second] == [
        ("d001/r000001", "run.mergeFT1Chunks"),
        ("d001/r000001", "run.mergeMeritChunks"),
        ("d001/r000001", "run.mergeReconChunks"),
        ("d001/r000001/c001", "run.chunk.makeFT1"),
        ("d001/r000001/c001", "run.chunk.mergeMeritCrumbs"),
        ("d001/r000001/c001", "run.chunk.mergeReconCrumbs"),
        ("d001/r000001/c001/k00", "run.chunk.crumb.merit"),
        ("d001/r000001/c001/k00", "run.chunk.crumb.recon"),
        ("d001/r000001/c001/k01", "run.chunk.crumb.merit"),
        ("d001/r000001/c001/k01", "run.chunk.crumb.recon"),
    ]
    assert products(out) == small_native_l1  # and the same bytes again


# --- kill -9 through an L1 run; the L1 on PostgreSQL --------------------------------------------------------


def test_l1_survives_sigkill_at_every_moment(
    operator: Operator, small_delivery: Path, small_native_l1: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    _create(operator, PIPELINES / "l1.yaml", small_delivery, out)
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    log = run_with_crashes(operator.env, poll="1")
    print(f"L1: kills at {log.kills}; random kills {log.random_kills}")
    assert len(set(log.kills)) >= 10, log.kills
    counts = check_exactly_once(operator.env)
    assert products(out) == small_native_l1
    # the scheduler's own records (slurmdbd): each job name is one job (one array), every task once.
    # slurmctld sends the records to slurmdbd after the tasks end: wait until every task is there.
    jobs: dict[str, set[str]] = {}
    tasks: Counter[str] = Counter()

    def accounted() -> bool:
        jobs.clear()
        tasks.clear()
        rows = subprocess.run(
            ["sacct", "-X", "-n", "-P", "--starttime", started, "--format", "JobID,JobName"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.split()
        for row in rows:
            job_id, _, name = row.partition("|")
            if name.startswith("lat-l1.") and "_[" not in job_id:
                jobs.setdefault(name, set()).add(job_id.split("_")[0])
                tasks[job_id] += 1
        return sum(tasks.values()) >= counts["tasks"]

    poll(accounted, 120, f"slurmdbd's records of {counts['tasks']} tasks")
    assert len(jobs) == counts["submissions"] and all(len(ids) == 1 for ids in jobs.values()), jobs
    assert max(tasks.values()) == 1 and sum(tasks.values()) == counts["tasks"], tasks


def test_l1_on_postgresql(
    operator: Operator,
    small_delivery: Path,
    small_native_l1: dict[str, str],
    tmp_path: Path,
    postgres_database: Any,
) -> None:
    from tests.services import endpoints

    url = sqlalchemy.engine.URL.create(
        postgres_database.drivername,
        username=postgres_database.username,
        host=postgres_database.host,
        port=postgres_database.port,
        database=postgres_database.database,
    ).render_as_string(hide_password=False)
    pg = Operator(
        None,
        {**operator.env, "HEPSTACK_STATE_DB": url, "PGPASSFILE": endpoints.endpoint("postgresql")["pgpass"]},
    )
    out = tmp_path / "out"
    _create(pg, PIPELINES / "l1.yaml", small_delivery, out)
    pg.pipeline("run", "--poll", "1")  # kill -9 on PostgreSQL: test_postgres.py
    check_exactly_once(pg.env)
    assert products(out) == small_native_l1


# --- MC production and reprocessing in images ---------------------------------------------------------------


@pytest.mark.podman
def test_mc_production_and_reprocessing_in_images(
    operator: Operator,
    small_delivery: Path,
    small_native_l1: dict[str, str],
    example_images: dict[str, str],
    shared_tmp: Path,
    tmp_path: Path,
) -> None:
    """20 MC jobs in the release image, and a reprocessing (calibration v2, slim images) of an earlier L1
    output (the native reference's: the same bytes as the pipeline's, see test_l1_farm.py), at once."""
    mc_out = tmp_path / "mc"
    mc_out.mkdir()
    operator.pipeline(
        "create", str(PIPELINES / "mc.yaml"), "--stream", "mc001", "--var", f"OUT_DIR={mc_out}",
        "--var", "JOBS=20", "--var", "FIRST_SEED=1000", "--var", "EVENTS=40",
        "--var", "SITE=farm-slurm-podman",
    )  # fmt: skip
    l1_out = shared_tmp / "native-l1-small"
    v2_out = tmp_path / "l1-v2"
    v2_out.mkdir()
    original = products(l1_out)
    assert original == small_native_l1
    operator.pipeline(
        "create", str(PIPELINES / "reprocess.yaml"), "--stream", "d001-v2",
        "--var", f"DELIVERY_DIR={small_delivery}",
        "--var", f"DIGI_FROM={l1_out}", "--var", f"OUT_DIR={v2_out}", "--var", "SITE=farm-slurm-podman",
    )  # fmt: skip
    operator.pipeline("run", "--poll", "2")
    for address in ("lat-mc/mc001", "lat-reprocess/d001-v2"):
        assert set(_status(operator, address)["totals"]) == {"SUCCESS"}, address
    assert products(l1_out) == original  # reprocessing only read the L1 output
    listed = json.loads(operator.pipeline("outputs", "lat-mc/mc001", "--json").stdout)
    assert len(listed) == 20 * 4
    seeds = {row["variables"]["SEED"] for row in listed}
    assert seeds == {str(seed) for seed in range(1000, 1020)}
    assert {row["image_id"] for row in listed} == {_image_id(example_images["release"])}
    reprocessed = json.loads(operator.pipeline("outputs", "lat-reprocess/d001-v2", "--json").stdout)
    assert {row["variables"]["CALIB"] for row in reprocessed} == {"@lat/calib/calib_v2.yaml"}
    assert {row["image_id"] for row in reprocessed} == {
        _image_id(example_images["recon"]),
        _image_id(example_images["ft1"]),
    }
    v2 = products(v2_out)
    common = set(v2) & set(original)
    assert common and all(
        v2[name] != original[name] for name in common if "/recon/" in name or "/merit/" in name
    )
    table = operator.pipeline("outputs", "lat-reprocess/d001-v2").stdout
    assert "lat-reprocess/d001-v2" in table


def _image_id(reference: str) -> str:
    found = subprocess.run(
        ["podman", "image", "inspect", "--format", "{{.Id}}", reference],
        capture_output=True,
        text=True,
        check=True,
    )
    image_id = found.stdout.strip()
    return image_id if image_id.startswith("sha256:") else f"sha256:{image_id}"
