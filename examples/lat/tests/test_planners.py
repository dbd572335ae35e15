"""The planners: pipeline summaries of runs, chunks, crumbs, reprocessing and MC; bad input; stdlib only."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CRUMB_ARGS, run_cli

from lat.proc.crumbs import CrumbRules
from lat.proc.layout import STREAM_ID
from lat.proc.steps import L1_STEPS, MC_STEP

VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)\}")


def plan(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> dict[str, object]:
    result = run_cli(["plan", *args], cwd, module="lat.l1") if env is None else _run_with(args, cwd, env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def _run_with(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **env, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    return subprocess.run(
        [sys.executable, "-m", "lat.l1", "plan", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
    )


def _substreams(summary: dict[str, object]) -> list[dict[str, object]]:
    return summary["substreams"]  # type: ignore[return-value]


def test_runs_chunks_crumbs(delivery: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    runs = plan(["runs", str(delivery), "--out", out, *CRUMB_ARGS], tmp_path)
    assert runs["variables"] == {
        "DELIVERY_ID": "dl7",
        "RUN_TAGS": "r000001 r000002",
        "DELIVERY_EVENTS": "210",
    }
    assert [(s["pipeline"], s["id"]) for s in _substreams(runs)] == [("run", "r000001"), ("run", "r000002")]
    run1 = _substreams(runs)[0]["variables"]
    assert run1["MERIT_RUN_FILE"] == f"{out}/r000001/merit/merit_r000001.root"  # type: ignore[index]
    assert run1["RUN_EVENTS"] == "160" and run1["CRUMB_MIN_AVERAGE"] == "40"  # type: ignore[index]

    chunks = plan(["chunks", str(delivery), "--out", out, "--run", "1", *CRUMB_ARGS], tmp_path)
    assert chunks["variables"] == {"CHUNK_TAGS": "c000 c001"}
    chunk0 = _substreams(chunks)[0]["variables"]
    assert chunk0["RAW_FILE"] == f"{delivery}/raw/raw_r000001_c000.ldf"  # type: ignore[index]
    assert chunk0["DIGI_FILE"] == f"{out}/r000001/digi/digi_r000001_c000.root"  # type: ignore[index]
    assert chunk0["CHUNK_EVENTS"] == "120"  # type: ignore[index]

    crumbs = plan(
        ["crumbs", str(delivery), "--out", out, "--run", "1", "--chunk", "0", *CRUMB_ARGS], tmp_path
    )
    ranges = [
        (int(s["variables"]["FIRST_ENTRY"]), int(s["variables"]["LAST_ENTRY"])) for s in _substreams(crumbs)
    ]  # type: ignore[index]
    assert ranges == CrumbRules(min_events=40).ranges(120) and len(ranges) == 3
    assert crumbs["variables"]["CRUMB_TAGS"] == "k00 k01 k02"  # type: ignore[index]
    k01 = _substreams(crumbs)[1]["variables"]
    assert k01["RECON_CRUMB_FILE"] == f"{out}/r000001/recon/recon_r000001_c000_k01.root"  # type: ignore[index]


def test_every_step_finds_its_variables_in_its_stream(delivery: Path, tmp_path: Path) -> None:
    """Each substream carries everything its steps' command lines name (no look-up in a parent)."""
    out = str(tmp_path / "out")
    levels = {
        "run": plan(["runs", str(delivery), "--out", out], tmp_path),
        "chunk": plan(["chunks", str(delivery), "--out", out, "--run", "1"], tmp_path),
        "crumb": plan(["crumbs", str(delivery), "--out", out, "--run", "1", "--chunk", "0"], tmp_path),
    }
    for step in L1_STEPS:
        for substream in _substreams(levels[step.level]):
            variables: dict[str, str] = substream["variables"]  # type: ignore[assignment]
            assert STREAM_ID.match(str(substream["id"]))
            assert all(isinstance(v, str) for v in variables.values())
            missing = {n for arg in step.argv for n in VARIABLE.findall(arg)} - variables.keys()
            assert not missing, f"{step.level}.{step.name} needs {missing}"
        if step.gathers:
            level, name = step.gathers.split(".")
            output = next(s.output for s in L1_STEPS if s.name == name)
            assert all(output in s["variables"] for s in _substreams(levels[level]))  # type: ignore[operator]
    mc = plan(["mc", "--jobs", "2", "--events", "10", "--out", out], tmp_path)
    for substream in _substreams(mc):
        assert not {n for arg in MC_STEP.argv for n in VARIABLE.findall(arg)} - substream["variables"].keys()  # type: ignore[attr-defined]


def test_summary_destinations(delivery: Path, tmp_path: Path) -> None:
    args = ["runs", str(delivery), "--out", str(tmp_path / "out")]
    expected = plan(args, tmp_path)
    result = run_cli(["plan", *args, "--summary", str(tmp_path / "s.json")], tmp_path, module="lat.l1")
    assert result.returncode == 0 and result.stdout == ""
    assert json.loads((tmp_path / "s.json").read_text()) == expected
    result = _run_with(args, tmp_path, {"HEPSTACK_SUMMARY": str(tmp_path / "env.json")})
    assert result.returncode == 0 and result.stdout == ""
    assert json.loads((tmp_path / "env.json").read_text()) == expected
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left


def test_reprocessing_plan_reads_the_digi_there_is(delivery: Path, l1_out: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    shutil.copytree(l1_out, old)
    (old / "r000001" / "digi" / "digi_r000001_c001.root").unlink()
    args = [
        str(delivery),
        "--out",
        str(tmp_path / "new"),
        "--digi-from",
        str(old),
        "--calib",
        "@lat/calib/calib_v2.yaml",
    ]
    runs = plan(["reprocess", *args], tmp_path)
    assert runs["variables"]["MISSING_DIGI"] == "r000001/c001"  # type: ignore[index]
    assert [s["variables"]["RUN_CHUNKS"] for s in _substreams(runs)] == ["1", "1"]  # type: ignore[index]
    chunks = plan(["chunks", *args, "--run", "1"], tmp_path)
    assert [s["id"] for s in _substreams(chunks)] == ["c000"]
    variables = _substreams(chunks)[0]["variables"]
    assert variables["DIGI_FILE"] == f"{old}/r000001/digi/digi_r000001_c000.root"  # type: ignore[index]
    assert variables["RECON_CHUNK_FILE"].startswith(str(tmp_path / "new"))  # type: ignore[index]
    assert variables["CALIB"] == "@lat/calib/calib_v2.yaml"  # type: ignore[index]


def _fails(args: list[str], cwd: Path) -> str:
    result = run_cli(args, cwd, module="lat.l1")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


def test_planner_errors(delivery: Path, tmp_path: Path) -> None:
    out = ["--out", str(tmp_path / "out")]
    err = _fails(["plan", "chunks", str(delivery), *out, "--run", "3"], tmp_path)
    assert "delivery.json: no run 3 in delivery dl7" in err and "hint: its runs: 1, 2" in err
    err = _fails(["plan", "crumbs", str(delivery), *out, "--run", "2", "--chunk", "1"], tmp_path)
    assert "run 2 has no chunk 1" in err
    err = _fails(["plan", "reprocess", str(delivery), *out], tmp_path)
    assert "plan reprocess needs --digi-from DIR" in err
    err = _fails(["plan", "reprocess", str(delivery), *out, "--digi-from", str(tmp_path / "none")], tmp_path)
    assert "no digi file of delivery dl7 under" in err
    err = _fails(["plan", "runs", str(delivery), "--out", "bad\nname"], tmp_path)
    assert "--out 'bad\\nname': not usable here" in err
    err = _fails(["plan", "mc", "--jobs", "1", "--events", "1", *out, "--calib", "a\nb"], tmp_path)
    assert "--calib 'a\\nb': not usable here" in err
    err = _fails(
        ["plan", "crumbs", str(delivery), *out, "--run", "1", "--chunk", "0", "--crumb-max-count", "120"],
        tmp_path,
    )
    assert "max crumbs 120: must be 1 to 99" in err
    err = _fails(["delivery", str(delivery), *out, "--jobs", "0"], tmp_path)
    assert "--jobs 0: at least one step must run at a time" in err
    err = _fails(["plan", "runs", str(tmp_path), *out], tmp_path)
    assert "cannot read the delivery manifest" in err and "hint: give the directory lat-delivery wrote" in err


def _broken_delivery(delivery: Path, tmp_path: Path, edit: object) -> Path:
    copy = tmp_path / "broken"
    shutil.copytree(delivery, copy)
    data = json.loads((copy / "delivery.json").read_text())
    edit(data)  # type: ignore[operator]
    (copy / "delivery.json").write_text(json.dumps(data))
    return copy


MANIFEST_CASES = [
    (lambda d: d.update(format="other"), "format: expected 'lat-delivery/1', got \"other\""),
    (lambda d: d["runs"][0].pop("seed"), "runs[0].seed: missing"),
    (
        lambda d: d["runs"][0]["chunks"][1].update(events="40"),
        'runs[0].chunks[1].events: expected int, got "40"',
    ),
    (
        lambda d: d["runs"][0]["chunks"][0].update(file="../../etc/passwd"),
        "runs[0].chunks[0].file: '../../etc/passwd' is not 'raw/raw_r000001_c000.ldf'",
    ),
    (lambda d: d["runs"].append(d["runs"][0]), "runs: run ids repeat"),
    (lambda d: d["runs"][0].update(events=7), "runs[0].events: 7, but its chunks hold 160"),
    (lambda d: d.update(delivery_id="a b"), "delivery_id: 'a b' is not"),
]


@pytest.mark.parametrize(("edit", "message"), MANIFEST_CASES)
def test_bad_manifest(delivery: Path, tmp_path: Path, edit: object, message: str) -> None:
    broken = _broken_delivery(delivery, tmp_path, edit)
    err = _fails(["plan", "runs", str(broken), "--out", str(tmp_path / "out")], tmp_path)
    assert f"lat-l1: error: {broken}/delivery.json: {message}" in err
    assert "lat-l1: hint: make the delivery again with lat-delivery" in err


def test_raw_header_must_match_the_manifest(delivery: Path, tmp_path: Path) -> None:
    def swap(data: dict[str, list[dict[str, list[dict[str, object]]]]]) -> None:
        chunks = data["runs"][0]["chunks"]
        chunks[0]["events"], chunks[0]["last_event"] = 121, 120
        data["runs"][0]["events"] = 161  # type: ignore[index]

    broken = _broken_delivery(delivery, tmp_path, swap)
    err = _fails(["plan", "chunks", str(broken), "--out", str(tmp_path / "o"), "--run", "1"], tmp_path)
    assert "raw_r000001_c000.ldf: the header says run 1, chunk 0, 120 events;" in err
    assert "says run 1, chunk 0, 121 events" in err


def test_mc_plan_distinct_seeds(tmp_path: Path) -> None:
    summary = plan(
        ["mc", "--jobs", "3", "--first-seed", "41", "--events", "500", "--out", str(tmp_path)], tmp_path
    )
    assert summary["variables"] == {"MC_JOBS": "3", "MC_EVENTS": "1500"}
    jobs = _substreams(summary)
    assert [s["id"] for s in jobs] == ["s000041", "s000042", "s000043"]
    assert [s["variables"]["SEED"] for s in jobs] == ["41", "42", "43"]  # type: ignore[index]
    assert jobs[0]["variables"]["MERIT_FILE"] == f"{tmp_path}/merit_s000041.root"  # type: ignore[index]


def test_host_side_code_imports_only_the_standard_library() -> None:
    root = Path(__file__).resolve().parent.parent
    code = (
        "import sys, lat.l1, lat.proc.cli, lat.proc.native, lat.proc.planners, lat.proc.steps;"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", code],  # -S: no site hooks (sitecustomize), which are not lat's
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(root)},
        check=True,
    )
    foreign = set(result.stdout.split()) - set(sys.stdlib_module_names) - {"lat", "__main__"}
    assert not foreign, f"lat-l1 imports {foreign}"


def test_steps_table_is_printed(tmp_path: Path) -> None:
    result = run_cli(["steps"], tmp_path, module="lat.l1")
    assert result.returncode == 0
    assert "crumb.recon (lat/recon):" in result.stdout
    assert "physics.producers.cal.calibFile=${CALIB}" in result.stdout
    rows = json.loads(run_cli(["steps", "--json"], tmp_path, module="lat.l1").stdout)
    assert [r["step"] for r in rows if r["pipeline"] == "l1" and not r["reprocess"]] == ["digi"]
    assert {r["image"] for r in rows} == {"lat/digi", "lat/recon", "lat/ft1", "lat/release"}
