"""The orchestrator on the local scheduler with native jobs (real processes, real job directories):
data-driven fan-out, retries, a crumb that always fails and the merge of the good ones, throttles,
rollback, cancel, provenance. The same on SLURM and SGE, in containers: tests/pipeline/test_l1_farm.py.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pipeline.conftest import hepstack_pipeline

# A chunk makes crumbs from its CRUMBS variable; crumb `bad` always fails, crumb `flaky` fails on its
# first attempt only; every job records when it ran (for the throttle checks).
CHUNKS = """\
pipeline: chunks
version: 1
variables:
  OUT: {required: true}
  CRUMBS: {default: "a b c"}
defaults:
  scheduler: local
  runtime: native
  env: {PATH: /usr/bin:/bin}
  binds: ["${OUT}"]
max_in_flight: 4
steps:
  plan:
    script:
      - python3
      - -c
      - |
        import json, os, sys
        crumbs = sys.argv[1].split()
        json.dump({"substreams": [{"pipeline": "crumb", "id": c, "variables": {"CRUMB": c}} for c in crumbs]},
                  open(os.environ["HEPSTACK_SUMMARY"], "w"))
      - "${CRUMBS}"
    creates: [crumb]
  merge:
    needs: [{step: crumb.work, when: done, as: GOOD}]
    image: demo/release
    command: [sh, -c, 'cat "$@" > ${OUT}/merged.txt', merge, "${GOOD}"]
    outputs: {merged: "${OUT}/merged.txt"}
  report:
    needs: [merge]
    image: demo/release
    command: [sh, -c, 'wc -l < ${OUT}/merged.txt > ${OUT}/report.txt']
    outputs: {report: "${OUT}/report.txt"}
subpipelines:
  crumb:
    variables:
      CRUMB: {required: true}
    steps:
      work:
        image: demo/release
        max_running: 2
        retry: {max_attempts: 2, on_exit_codes: [3]}
        command:
          - sh
          - -c
          - |
            echo "start $(date +%s.%N) ${CRUMB}" >> ${OUT}/times.log
            sleep 0.3
            if [ ${CRUMB} = bad ]; then exit 3; fi
            if [ ${CRUMB} = flaky ] && [ ! -e ${OUT}/flaky.once ]; then touch ${OUT}/flaky.once; exit 3; fi
            echo "crumb ${CRUMB}" > ${OUT}/crumb-${CRUMB}.txt
            echo "end $(date +%s.%N) ${CRUMB}" >> ${OUT}/times.log
        outputs: {text: "${OUT}/crumb-${CRUMB}.txt"}
"""


@pytest.fixture
def chunks(tmp_path: Path) -> Path:
    path = tmp_path / "chunks.yaml"
    path.write_text(CHUNKS)
    return path


def _db(env: dict[str, str]) -> sqlite3.Connection:
    return sqlite3.connect(env["HEPSTACK_STATE_DB"].removeprefix("sqlite:///"))


def _run(env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return hepstack_pipeline("run", "--poll", "0.5", *extra, env=env, timeout=240)


def test_fan_out_retry_failure_and_merge_of_the_good_crumbs(
    chunks: Path, tmp_path: Path, pipeline_env: dict[str, str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    hepstack_pipeline(
        "create",
        str(chunks),
        "--stream",
        "c1",
        "--var",
        f"OUT={out}",
        "--var",
        "CRUMBS=a flaky bad b",
        env=pipeline_env,
    )
    _run(pipeline_env)
    status = json.loads(hepstack_pipeline("status", "chunks/c1", "--json", env=pipeline_env).stdout)
    assert status["steps"]["crumb.work"] == {"SUCCESS": 3, "FAILED": 1}
    assert status["steps"]["merge"] == {"SUCCESS": 1} and status["steps"]["report"] == {"SUCCESS": 1}
    assert status["streams"] == {"(top)": {"FAILED": 1}, "crumb": {"SUCCESS": 3, "FAILED": 1}}
    assert (
        out / "merged.txt"
    ).read_text() == "crumb a\ncrumb flaky\ncrumb b\n"  # creation order, bad left out
    merge = json.loads(hepstack_pipeline("show", "chunks/c1:merge", "--json", env=pipeline_env).stdout)
    assert merge["inputs"]["GOOD_MISSING"] == ["bad"] and merge["inputs"]["GOOD_SUCCEEDED"] == [
        "a",
        "flaky",
        "b",
    ]
    bad = json.loads(hepstack_pipeline("show", "chunks/c1/bad:work", "--json", env=pipeline_env).stdout)
    assert bad["state"] == "FAILED" and [a["exit_code"] for a in bad["history"]] == [3, 3]
    flaky = json.loads(hepstack_pipeline("show", "chunks/c1/flaky:work", "--json", env=pipeline_env).stdout)
    assert flaky["state"] == "SUCCESS" and [a["state"] for a in flaky["history"]] == ["FAILED", "SUCCESS"]
    assert flaky["outputs"][0]["sha256"] == __import__("hashlib").sha256(b"crumb flaky\n").hexdigest()
    log = hepstack_pipeline("logs", "chunks/c1/bad:work", env=pipeline_env)
    assert log.returncode == 0


def test_max_running_per_step_holds(chunks: Path, tmp_path: Path, pipeline_env: dict[str, str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    crumbs = " ".join(f"k{i}" for i in range(7))
    hepstack_pipeline(
        "create",
        str(chunks),
        "--stream",
        "c1",
        "--var",
        f"OUT={out}",
        "--var",
        f"CRUMBS={crumbs}",
        env=pipeline_env,
    )
    _run(pipeline_env)
    events = []
    for line in (out / "times.log").read_text().splitlines():
        kind, when, _crumb = line.split()
        events.append((float(when), 1 if kind == "start" else -1))
    running = peak = 0
    for _when, change in sorted(events):
        running += change
        peak = max(peak, running)
    assert len(events) == 14 and peak <= 2  # max_running: 2


def test_max_in_flight_streams_holds(tmp_path: Path, pipeline_env: dict[str, str]) -> None:
    text = CHUNKS.replace("max_in_flight: 4", "max_in_flight: 1").replace("max_running: 2", "max_running: 5")
    path = tmp_path / "chunks.yaml"
    path.write_text(text)
    for name in ("c1", "c2", "c3"):
        (tmp_path / name).mkdir()
        hepstack_pipeline(
            "create", str(path), "--stream", name, "--var", f"OUT={tmp_path / name}", env=pipeline_env
        )
    _run(pipeline_env)
    spans = []
    for name in ("c1", "c2", "c3"):
        times = [float(line.split()[1]) for line in (tmp_path / name / "times.log").read_text().splitlines()]
        spans.append((min(times), max(times)))
    spans.sort()
    assert all(spans[i][1] < spans[i + 1][0] for i in range(2)), spans  # one stream in flight at a time


def test_rollback_reruns_the_instance_and_what_is_downstream_only(
    chunks: Path, tmp_path: Path, pipeline_env: dict[str, str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    hepstack_pipeline("create", str(chunks), "--stream", "c1", "--var", f"OUT={out}", env=pipeline_env)
    _run(pipeline_env)
    mtimes = {path.name: path.stat().st_mtime_ns for path in out.glob("*.txt")}
    time.sleep(0.01)  # distinct mtimes on filesystems with coarse timestamps
    dry = hepstack_pipeline("rollback", "--dry-run", "chunks/c1/b:work", env=pipeline_env)
    assert "1 chosen, 2 downstream" in dry.stdout
    hepstack_pipeline("rollback", "chunks/c1/b:work", env=pipeline_env)
    with _db(pipeline_env) as connection:
        waiting = connection.execute(
            "SELECT step, execution FROM pipeline_instances "
            "WHERE is_current AND state = 'WAITING' ORDER BY step"
        ).fetchall()
    assert waiting == [("crumb.work", 2), ("merge", 2), ("report", 2)]
    _run(pipeline_env)
    after = {path.name: path.stat().st_mtime_ns for path in out.glob("*.txt")}
    changed = {name for name in mtimes if after[name] != mtimes[name]}
    assert changed == {"crumb-b.txt", "merged.txt", "report.txt"}
    with _db(pipeline_env) as connection:
        rows = connection.execute(
            "SELECT s.address, i.step, i.execution, i.state FROM pipeline_instances i "
            "JOIN pipeline_streams s ON s.id = i.stream_id WHERE i.is_current ORDER BY s.address, i.step"
        ).fetchall()
    executions = {(address, step): execution for address, step, execution, _ in rows}
    assert executions == {
        ("c1", "merge"): 2,
        ("c1", "plan"): 1,
        ("c1", "report"): 2,
        ("c1/a", "crumb.work"): 1,
        ("c1/b", "crumb.work"): 2,
        ("c1/c", "crumb.work"): 1,
    }
    assert all(state == "SUCCESS" for *_, state in rows)
    refused = hepstack_pipeline("rollback", "chunks/c1/zz:work", env=pipeline_env, check=False)
    assert refused.returncode == 2 and "no process instance matches" in refused.stderr


def test_cancel_stops_the_job_and_it_is_never_success(tmp_path: Path, pipeline_env: dict[str, str]) -> None:
    text = """\
pipeline: sleeper
version: 1
variables: {OUT: {required: true}}
defaults: {scheduler: local, runtime: native, env: {PATH: /usr/bin:/bin}}
steps:
  nap:
    image: demo/release
    command: [sh, -c, 'echo $$$$ > ${OUT}/pid.tmp && mv ${OUT}/pid.tmp ${OUT}/pid; exec sleep 300']
"""
    path = tmp_path / "sleeper.yaml"
    path.write_text(text)
    out = tmp_path / "out"
    out.mkdir()
    hepstack_pipeline("create", str(path), "--stream", "s1", "--var", f"OUT={out}", env=pipeline_env)
    orchestrator = subprocess.Popen(
        [str(Path(sys.executable).parent / "hepstack"), "pipeline", "run", "--poll", "0.5"],
        env={**os.environ, **pipeline_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (out / "pid").exists():
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.1)
    pid = int((out / "pid").read_text())
    said = hepstack_pipeline("cancel", "sleeper/s1", env=pipeline_env)
    assert "1 instance(s) and 1 stream(s) cancelled; 1 job task(s) stopped" in said.stdout
    said_by_run, _ = orchestrator.communicate(timeout=60)
    assert orchestrator.returncode == 0, said_by_run
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    status = json.loads(hepstack_pipeline("status", "sleeper/s1", "--json", env=pipeline_env).stdout)
    assert status["steps"] == {"nap": {"CANCELED": 1}} and status["streams"] == {"(top)": {"CANCELED": 1}}


def test_outputs_and_provenance_trace_a_file_to_everything_it_came_from(
    chunks: Path, tmp_path: Path, pipeline_env: dict[str, str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    hepstack_pipeline("create", str(chunks), "--stream", "c1", "--var", f"OUT={out}", env=pipeline_env)
    _run(pipeline_env)
    listed = json.loads(hepstack_pipeline("outputs", "chunks", "--json", env=pipeline_env).stdout)
    assert sorted(Path(row["path"]).name for row in listed) == [
        "crumb-a.txt",
        "crumb-b.txt",
        "crumb-c.txt",
        "merged.txt",
        "report.txt",
    ]
    chain = json.loads(
        hepstack_pipeline("provenance", str(out / "report.txt"), "--json", env=pipeline_env).stdout
    )
    assert [record["instance"] for record in chain] == [
        "chunks/c1:report",
        "chunks/c1:merge",
        "chunks/c1/a:work",
        "chunks/c1/b:work",
        "chunks/c1/c:work",
    ]
    first = chain[0]
    assert first["scheduler"] == "local" and first["runtime"] == "native" and first["host"]
    assert first["history"][0]["job"] and first["history"][0]["log"].endswith("/1.log")
    assert first["command"][:2] == ["sh", "-c"] and first["variables"]["OUT"] == str(out)


def test_state_files_are_private(chunks: Path, tmp_path: Path, pipeline_env: dict[str, str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    hepstack_pipeline("create", str(chunks), "--stream", "c1", "--var", f"OUT={out}", env=pipeline_env)
    _run(pipeline_env)
    jobs = Path(pipeline_env["HEPSTACK_DATA_DIR"]) / "pipelines" / "chunks" / "jobs"
    for path in jobs.rglob("*"):
        mode = path.stat().st_mode & 0o777
        assert mode & 0o077 == 0, (path, oct(mode))


HOSTILE = [
    "$(touch PWNED)",
    "`touch PWNED`",
    "a; touch PWNED",
    "a && touch PWNED #",
    "'\"; touch PWNED; echo \"'",
    "${HOME}",
    "@@HOME@@",
    "-rf",
    "a  b c",
    "*",
]


def test_hostile_values_reach_the_command_as_they_are(tmp_path: Path, pipeline_env: dict[str, str]) -> None:
    """Variables from `create` reach the job's argv literally: nothing runs, nothing expands."""
    values = {f"V{index}": value for index, value in enumerate(HOSTILE)}
    declared = "\n".join(f"  {name}: {{required: true}}" for name in values)
    listed = "\n      ".join(f'- "${{{name}}}"' for name in values)
    text = f"""\
pipeline: hostile
version: 1
variables:
  OUT: {{required: true}}
{declared}
defaults: {{scheduler: local, runtime: native, env: {{PATH: /usr/bin:/bin}}}}
steps:
  echo:
    image: demo/release
    workdir: ${{OUT}}
    command:
      - python3
      - -c
      - "import json, sys; json.dump(sys.argv[1:], open(sys.argv[1], 'w'))"
      - "${{OUT}}/argv.json"
      {listed}
    outputs: {{argv: "${{OUT}}/argv.json"}}
"""
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    out = tmp_path / "out"
    out.mkdir()
    given = [item for name, value in values.items() for item in ("--var", f"{name}={value}")]
    hepstack_pipeline("create", str(path), "--stream", "s1", "--var", f"OUT={out}", *given, env=pipeline_env)
    _run(pipeline_env)
    received = json.loads((out / "argv.json").read_text())
    assert received == [str(out / "argv.json"), *HOSTILE]
    assert not list(tmp_path.rglob("PWNED")) and not list(Path.cwd().glob("PWNED"))
    job_scripts = list((Path(pipeline_env["HEPSTACK_DATA_DIR"]) / "pipelines").rglob("task-1.sh"))
    assert job_scripts and all(
        "touch PWNED" in script.read_text() for script in job_scripts
    )  # there, but quoted


def test_status_watch_returns_when_nothing_is_left_to_run(
    chunks: Path, tmp_path: Path, pipeline_env: dict[str, str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    hepstack_pipeline("create", str(chunks), "--stream", "c1", "--var", f"OUT={out}", env=pipeline_env)
    _run(pipeline_env)
    watched = hepstack_pipeline(
        "status", "chunks/c1", "--watch", "--interval", "0.2", env=pipeline_env, timeout=60
    )
    assert "crumb.work" in watched.stdout and "3/3" in watched.stdout
