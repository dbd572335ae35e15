"""Bad pipeline files and bad `create` variables: `error:` with file:line, key path and a hint, exit 2, and
nothing written to the state DB. Table-driven: each row is one kind of mistake an operator makes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.pipeline.conftest import hepstack_pipeline

GOOD = """\
pipeline: demo
version: 1
variables:
  OUT: {required: true}
  RUN: {default: "1", pattern: "[0-9]+"}
defaults:
  scheduler: local
  runtime: native
steps:
  plan:
    script: [echo, plan]
    creates: [part]
  merge:
    needs: [{step: part.work, when: done, as: PARTS}]
    image: demo/release
    command: [cat, "${PARTS}"]
subpipelines:
  part:
    variables:
      N: {required: true}
    steps:
      work:
        image: demo/release
        command: [sh, -c, "echo ${N} > ${OUT}/part${N}.txt"]
        outputs: {text: "${OUT}/part${N}.txt"}
        retry: {max_attempts: 2}
"""

# (name, text replaced, replacement, expected line, pieces of the message, a piece of the hint)
BAD_FILES = [
    (
        "unknown key",
        "        retry: {max_attempts: 2}",
        "        retyr: {max_attempts: 2}",
        26,
        ["unknown key", "retyr"],
        "did you mean 'retry'",
    ),
    (
        "unknown step in needs",
        "step: part.work, when",
        "step: part.wrok, when",
        14,
        ["unknown step", "part.wrok"],
        "did you mean 'work'",
    ),
    (
        "unknown sub-pipeline in needs",
        "step: part.work, when",
        "step: prat.work, when",
        14,
        ["unknown step"],
        "did you mean 'part'",
    ),
    (
        "dependency cycle",
        "    script: [echo, plan]\n",
        "    script: [echo, plan]\n    needs: [merge]\n",
        15,
        ["dependency cycle", "plan -> merge"],
        "cannot wait",
    ),
    (
        "unknown site",
        "  runtime: native\n",
        "  runtime: native\n  site: nowhere\n",
        9,
        ["unknown site 'nowhere'"],
        "known sites",
    ),
    (
        "unknown scheduler",
        "scheduler: local",
        "scheduler: slrum",
        7,
        ["unknown scheduler 'slrum'"],
        "did you mean 'slurm'",
    ),
    (
        "unknown runtime",
        "runtime: native",
        "runtime: podmn",
        8,
        ["unknown runtime 'podmn'"],
        "did you mean 'podman'",
    ),
    (
        "retry without attempts",
        "retry: {max_attempts: 2}",
        "retry: {max_attempts: 0}",
        26,
        ["greater than or equal to 1"],
        None,
    ),
    (
        "retry on a state that is no failure",
        "retry: {max_attempts: 2}",
        "retry: {max_attempts: 2, on_states: [SUCCESS]}",
        26,
        ["on_states"],
        "allowed values",
    ),
    (
        "retry on exit code 0",
        "retry: {max_attempts: 2}",
        "retry: {max_attempts: 2, on_exit_codes: [0]}",
        26,
        ["exit code 0 is not 1..255"],
        None,
    ),
    (
        "retry exit codes without FAILED",
        "retry: {max_attempts: 2}",
        "retry: {max_attempts: 2, on_states: [UNKNOWN], on_exit_codes: [3]}",
        26,
        ["exit codes only select FAILED"],
        "add FAILED",
    ),
    (
        "undeclared variable",
        "echo ${N} > ${OUT}",
        "echo ${M} > ${OUT}",
        24,
        ["variable M, which nothing declares"],
        "declare it",
    ),
    (
        "misspelt variable",
        '${OUT}/part${N}.txt"}',
        '${OTU}/part${N}.txt"}',
        25,
        ["variable OTU"],
        "did you mean 'OUT'",
    ),
    (
        "list inside a string",
        'command: [cat, "${PARTS}"]',
        'command: [cat, "x${PARTS}"]',
        16,
        ["list PARTS must be a whole argument"],
        "alone",
    ),
    (
        "sub-pipeline nobody creates",
        "    creates: [part]\n",
        "",
        17,
        ["no step creates streams of this sub-pipeline"],
        "creates: [part]",
    ),
    (
        "creates an unknown sub-pipeline",
        "creates: [part]",
        "creates: [prat]",
        12,
        ["not a sub-pipeline"],
        "did you mean 'part'",
    ),
    (
        "script and image",
        "    script: [echo, plan]\n",
        "    script: [echo, plan]\n    image: demo/release\n",
        10,
        ["a script step runs on the orchestrator's host"],
        None,
    ),
    (
        "job without image",
        "        image: demo/release\n        command: [sh",
        "        command: [sh",
        22,
        ["needs `image` and `command`"],
        None,
    ),
    ("bad variable pattern", 'pattern: "[0-9]+"', 'pattern: "[0-9"', 5, ["not a regular expression"], None),
    (
        "default against its pattern",
        'default: "1", pattern',
        'default: "x", pattern',
        5,
        ["default does not match"],
        None,
    ),
    ("bad step name", "  merge:\n", "  1merge:\n", 13, ["steps.1merge", "not a name"], "start with a letter"),
    (
        "YAML syntax",
        "  plan:\n    script: [echo, plan]",
        "  plan:\n    script: [echo, plan",
        12,
        ["YAML syntax error"],
        "indentation",
    ),
    ("not a mapping", GOOD, "- just\n- a list\n", 1, ["a pipeline file is a mapping"], "pipeline: NAME"),
]


def _state_tables(env: dict[str, str]) -> dict[str, int]:
    path = Path(env["HEPSTACK_STATE_DB"].removeprefix("sqlite:///"))
    if not path.exists():
        return {}
    with sqlite3.connect(path) as connection:
        names = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {
            name: connection.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]
            for name in names
            if name.startswith("pipeline_")
        }


@pytest.mark.parametrize(
    ("name", "old", "new", "line", "message", "hint"), BAD_FILES, ids=[row[0] for row in BAD_FILES]
)
def test_bad_file_is_located_hinted_and_writes_nothing(
    name: str,
    old: str,
    new: str,
    line: int | None,
    message: list[str],
    hint: str | None,
    tmp_path: Path,
    pipeline_env: dict[str, str],
) -> None:
    assert old in GOOD, name
    path = tmp_path / "demo.yaml"
    path.write_text(GOOD.replace(old, new, 1))
    for command in (["check", str(path)], ["create", str(path), "--stream", "s1", "--var", "OUT=/tmp"]):
        result = hepstack_pipeline(*command, env=pipeline_env, check=False)
        assert result.returncode == 2, (name, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        assert "error: " in result.stderr, result.stderr
        where = f"{path}:{line}:" if line is not None else f"{path}"
        assert where in result.stderr, (name, result.stderr)
        for piece in message:
            assert piece in result.stderr, (name, piece, result.stderr)
        if hint is not None:
            assert "hint: " in result.stderr and hint in result.stderr, (name, result.stderr)
    assert not any(_state_tables(pipeline_env).values())


def test_a_good_file_checks(tmp_path: Path, pipeline_env: dict[str, str]) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(GOOD)
    result = hepstack_pipeline("check", str(path), env=pipeline_env)
    assert "ok: pipeline demo version 1: 3 steps (2 jobs, 1 scripts) in 2 (sub-)pipelines" in result.stdout


# --- bad `create` variables and stream ids ------------------------------------------------------------

BAD_CREATES = [
    ("unknown variable", ["--var", "OTU=/tmp"], ["OTU: unknown variable", "did you mean 'OUT'"]),
    ("missing required", ["--var", "RUN=2"], ["the variable OUT is required"]),
    ("control character", ["--var", "OUT=/tmp\nrm -rf /"], ["control character"]),
    ("line separator", ["--var", "OUT=/tmp\u2028x"], ["control character"]),
    ("pattern mismatch", ["--var", "OUT=/tmp", "--var", "RUN=1;2"], ["does not match its pattern"]),
    ("too long", ["--var", "OUT=/" + "x" * 5000], ["longer than 4096"]),
    ("not NAME=VALUE", ["--var", "OUT"], ["bad --var 'OUT'"]),
]


@pytest.mark.parametrize(("name", "arguments", "pieces"), BAD_CREATES, ids=[row[0] for row in BAD_CREATES])
def test_bad_variables_write_nothing(
    name: str, arguments: list[str], pieces: list[str], tmp_path: Path, pipeline_env: dict[str, str]
) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(GOOD.replace("image: demo/release", "image: demo/release"))
    result = hepstack_pipeline(
        "create", str(path), "--stream", "s1", *arguments, env=pipeline_env, check=False
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "error: " in result.stderr and "hint: " in result.stderr
    for piece in pieces:
        assert piece in result.stderr, (name, result.stderr)
    assert not any(_state_tables(pipeline_env).values())


@pytest.mark.parametrize("stream", ["", "../x", "a b", "-x", "x" * 65, "d1/r1"])
def test_bad_stream_id(stream: str, tmp_path: Path, pipeline_env: dict[str, str]) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(GOOD)
    result = hepstack_pipeline(
        "create", str(path), "--stream", stream, "--var", "OUT=/tmp", env=pipeline_env, check=False
    )
    assert result.returncode == 2 and "bad stream id" in result.stderr and "hint: " in result.stderr
    assert not any(_state_tables(pipeline_env).values())


def test_a_changed_file_needs_a_new_version(tmp_path: Path, pipeline_env: dict[str, str]) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(GOOD)
    hepstack_pipeline("create", str(path), "--stream", "s1", "--var", "OUT=/tmp", env=pipeline_env)
    path.write_text(GOOD.replace("echo, plan", "echo, planning"))
    result = hepstack_pipeline(
        "create", str(path), "--stream", "s2", "--var", "OUT=/tmp", env=pipeline_env, check=False
    )
    assert result.returncode == 2
    assert (
        "version 1 is already recorded with other content" in result.stderr and "version: 2" in result.stderr
    )
    assert _state_tables(pipeline_env)["pipeline_streams"] == 1
    again = hepstack_pipeline(
        "create", str(path), "--stream", "s1", "--var", "OUT=/tmp", env=pipeline_env, check=False
    )
    assert again.returncode == 2


def test_a_stream_id_is_used_once(tmp_path: Path, pipeline_env: dict[str, str]) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(GOOD)
    hepstack_pipeline("create", str(path), "--stream", "s1", "--var", "OUT=/tmp", env=pipeline_env)
    result = hepstack_pipeline(
        "create", str(path), "--stream", "s1", "--var", "OUT=/tmp", env=pipeline_env, check=False
    )
    assert result.returncode == 2 and "already has a stream s1" in result.stderr
    assert _state_tables(pipeline_env)["pipeline_streams"] == 1


def test_an_image_that_cannot_be_found_is_refused_at_create(
    tmp_path: Path, pipeline_env: dict[str, str]
) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(
        GOOD.replace("  runtime: native\n", "  runtime: podman\n").replace("demo/release", "nosuch/layer")
    )
    result = hepstack_pipeline(
        "create", str(path), "--stream", "s1", "--var", "OUT=/tmp", env=pipeline_env, check=False
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "error: unknown image nosuch/layer" in result.stderr and "hint: build it" in result.stderr
    assert not any(_state_tables(pipeline_env).values())
