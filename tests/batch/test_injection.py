"""The injection corpus (docs/quoting.md) over every scheduler x runtime x field.

Every hostile value (tests/batch/injection.py) is either refused with ``error:`` + ``hint:`` (a
HepstackError with a hint; any other exception fails the test) or rendered as `hepstack submit`
renders it. Every rendered job must keep the directive lines of a benign value, in number and key (as
the scheduler splits lines: at LF), with no control character in any of them. The job scripts are then
run with bash, each task as `bash job.sh INDEX`, with recording stand-ins for the runtime binaries first
on PATH: no marker file may appear (no injected command ran), and the runtime must get exactly the argv
hepstack meant (natively: what the command itself got through env -i, the login shell and the wrapper).

What runs, since each process start costs ~9 ms here: for fields that take several values (env,
arguments, binds, task lines) all accepted values at once in one job; for the other fields every
accepted value on the local scheduler, and elsewhere every accepted value that tries to run a command.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from hepstack import proc
from hepstack.batch import SCHEDULERS
from hepstack.context import Context
from hepstack.errors import HepstackError
from hepstack.runtimes import RUNTIMES
from tests.batch.injection import (
    ALICE,
    CORPUS,
    FIELDS,
    MARK,
    OWN_DIRECTIVE,
    Harness,
    Rendered,
    described,
    directive_keys,
    directive_lines,
    has_control_character,
    outcome,
)
from tests.batch.injection_run import Task, execute, install_stand_ins

COMBINATIONS = [(scheduler, runtime) for scheduler in sorted(SCHEDULERS) for runtime in sorted(RUNTIMES)]
# Natively, a hostile command or working directory does not exist on this host: the command never runs.
NATIVE_NOT_RUN = {"command", "--workdir"}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("injection-files")


@pytest.fixture
def harness(
    request: pytest.FixtureRequest, tmp_path: Path, files: Path, monkeypatch: pytest.MonkeyPatch
) -> Harness:
    scheduler, runtime = request.param
    made = Harness(tmp_path, scheduler, runtime, Context.from_environment(), files)
    install_stand_ins(made)
    monkeypatch.setattr(proc, "which", lambda tool: str(made.stand_ins / Path(tool).name))
    monkeypatch.setenv("HEPSTACK_DOCKER", str(made.stand_ins / "docker"))
    monkeypatch.setattr("hepstack.sites.get_site", made.site_file.site)
    monkeypatch.setattr("hepstack.batch.executor.invoking_user", lambda: ALICE)
    return made


class Findings:
    def __init__(self) -> None:
        self.tally: Counter[str] = Counter()
        self.problems: list[str] = []

    def add(self, kind: str, where: str, detail: str) -> None:
        self.tally[kind] += 1
        self.problems.append(f"{where}: {detail}")


@pytest.mark.parametrize("harness", COMBINATIONS, ids=[f"{s}-{r}" for s, r in COMBINATIONS], indirect=True)
def test_no_hostile_value_runs_or_changes_a_directive(harness: Harness) -> None:
    findings = Findings()
    tasks: list[Task] = []
    single: dict[int, list[str]] = {}  # value number -> the one-value fields that accepted it
    for field_name, field in FIELDS.items():
        # Refused even when benign (an image path for Shifter, a moved bind natively): then refused always.
        baseline = outcome(harness, field.put(harness, harness.baseline(), field.benign(harness)))
        accepted: list[str] = []
        for number, template in enumerate(CORPUS):
            value = template.replace(MARK, str(harness.marker(field_name, number)))
            where = f"{field_name} = {described(value)}"
            rendered = _render(harness, field_name, value, findings, where)
            if rendered is None:
                continue
            if not isinstance(baseline, Rendered):
                findings.add("accepted", where, f"accepted where a benign value is refused ({baseline})")
                continue
            _check_directives(harness, field_name, baseline, rendered, findings, where)
            accepted.append(value)
            if field.combine is None and (harness.scheduler == "local" or MARK in template):
                single.setdefault(number, []).append(field_name)
        if field.combine is not None and accepted and isinstance(baseline, Rendered):
            where = f"{field_name} = all {len(accepted)} accepted values"
            combined = outcome(harness, field.combine(harness, harness.baseline(), accepted))
            assert isinstance(combined, Rendered), f"{where}: refused together: {combined}"
            _check_directives(harness, field_name, baseline, combined, findings, where)
            lines = combined.submission.task_lines
            count = len(lines) if lines is not None and harness.scheduler == "local" else 1
            tasks += [Task(where, field_name, combined, index) for index in range(1, count + 1)]
    tasks += _jobs_of_single_values(harness, single, findings)
    _check_runs(harness, tasks, findings)
    print(f"{harness.scheduler} x {harness.runtime}: {dict(sorted(findings.tally.items()))}")
    assert not findings.problems, "\n".join(findings.problems[:20])
    assert findings.tally["rendered"] and findings.tally["refused"] and findings.tally["tasks run"]


def _render(harness: Harness, field_name: str, value: str, findings: Findings, where: str) -> Rendered | None:
    try:
        inputs = FIELDS[field_name].put(harness, harness.baseline(), value)
    except (OSError, ValueError):
        findings.tally["not a path here"] += 1  # NUL, or a name too long for the file system
        return None
    result = outcome(harness, inputs)
    if isinstance(result, HepstackError):
        findings.tally["refused"] += 1
        if not result.hint:
            findings.add("refused without a hint", where, str(result))
        return None
    if len(str(result.jobdir / "job.sh")) > 4000 or len(result.jobdir.name) > 250:
        findings.tally["not a path here"] += 1  # a job directory the file system cannot hold
        return None
    findings.tally["rendered"] += 1
    return result


def _jobs_of_single_values(harness: Harness, single: dict[int, list[str]], findings: Findings) -> list[Task]:
    """One job per value with every one-value field that accepted it set to it at once (its queue,
    job name, working directory, job directory, ...); where the fields refuse it together (an image
    path and a workdir on native), a job per field."""
    tasks = []
    for number, field_names in sorted(single.items()):
        value = CORPUS[number]
        inputs = harness.baseline()
        for field_name in field_names:
            inputs = FIELDS[field_name].put(
                harness, inputs, value.replace(MARK, str(harness.marker(field_name, number)))
            )
        together = outcome(harness, inputs)
        if isinstance(together, Rendered) and len(together.jobdir.name) <= 250:
            tasks.append(
                Task(f"{', '.join(field_names)} = {described(value)}", "+".join(field_names), together, 1)
            )
            continue
        for field_name in field_names:
            marked = value.replace(MARK, str(harness.marker(field_name, number)))
            rendered = outcome(harness, FIELDS[field_name].put(harness, harness.baseline(), marked))
            if isinstance(rendered, Rendered) and len(rendered.jobdir.name) <= 250:
                tasks.append(Task(f"{field_name} = {described(value)}", field_name, rendered, 1))
    return tasks


def _check_directives(
    harness: Harness, field_name: str, baseline: Rendered, rendered: Rendered, findings: Findings, where: str
) -> None:
    keys, expected = directive_keys(harness.scheduler, rendered), directive_keys(harness.scheduler, baseline)
    # A site's own option (the value is the directive): its key is the value's, so compare the count.
    same = len(keys) == len(expected) if field_name == OWN_DIRECTIVE else keys == expected
    if not same:
        findings.add("directive changed", where, f"directive keys {keys} instead of {expected}")
    if any(has_control_character(line) for line in directive_lines(harness.scheduler, rendered)):
        findings.add("directive changed", where, "a directive line holds a control character")


def _check_runs(harness: Harness, tasks: list[Task], findings: Findings) -> None:
    for run in execute(harness, tasks):
        findings.tally["tasks run"] += 1
        task = run.task
        not_run = NATIVE_NOT_RUN.intersection(task.field_name.split("+"))
        if run.received is None and harness.runtime == "native" and not_run:
            continue
        if run.received != run.intended:
            findings.add(
                "argv differs",
                task.where,
                f"task {task.index} got {run.received} instead of {run.intended} (log {run.log[-300:]!r})",
            )
    for marker in (harness.root / "markers").iterdir():
        field_name = list(FIELDS)[int(marker.name.split("-")[0])]
        value = CORPUS[int(marker.name.split("-")[1])]
        findings.add("executed", f"{field_name} = {described(value)}", "an injected command ran")
