"""The hostile-value corpus (docs/quoting.md) and how each value is put into a submission and rendered.

A *field* puts a value where a user or a site file would (``--queue``, a site's ``directives``, a bind
target, a task-file line, ...). :func:`outcome` plans and renders the submission as `hepstack submit`
does (plan_submission, then executor.render; the site file through hepstack's own site loader). A
refusal is returned, to be checked for its hint.

Running the rendered jobs: tests/batch/injection_run.py.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from hepstack.batch.executor import Submission, render
from hepstack.batch.plan import plan_submission
from hepstack.context import Context
from hepstack.errors import HepstackError
from hepstack.identity import Invoker

MARK = "{marker}"  # replaced by a file path per field and value; the file exists only if a command ran
CORPUS = [
    f"q\ntouch {MARK} #",
    f"\ntouch {MARK}",
    f"x\rtouch {MARK}",
    f"x\x00touch {MARK}",
    f"$(touch {MARK})",
    f"`touch {MARK}`",
    f"; touch {MARK}",
    f"# touch {MARK}",
    f"'; touch {MARK}; '",
    f'"; touch {MARK}; "',
    f"x\\\ntouch {MARK}",
    f"\u2028touch {MARK}",
    f"\x85touch {MARK}",
    f"--split-string=touch {MARK}",
    "a b",
    "a,source=/etc",
    "a=b",
    "../../x",
    "@@HOME@@",
    "${HOME}",
    "$(Process)",
    "%j%%",
    "\\",
    "-oAPT::Get::AllowUnauthenticated=1",
    "x" * 5000,
    "élan",
]
# Site directives: a benign one per scheduler, and an option to give a hostile value to.
BENIGN_DIRECTIVE = {
    "slurm": "--constraint=cpu",
    "sge": "-l sps=1",
    "lsf": "-R span[hosts=1]",
    "htcondor": "request_disk = 1G",
    "local": "--constraint=cpu",
}
SITE_OPTION = {
    "slurm": "--comment=",
    "sge": "-ac ",
    "lsf": "-Jd ",
    "htcondor": "description = ",
    "local": "-x ",
}
DIRECTIVE_PREFIX = {"slurm": "#SBATCH", "sge": "#$", "lsf": "#BSUB"}
IMAGE = "localhost/lat/release:1.0"
ALICE = Invoker(uid=1234, gid=5678, name="alice", home="/home/alice", privileged=False)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class Inputs:
    """What one `hepstack submit` is given: options, and the keys of its site file (if any)."""

    command: tuple[str, ...] = ("prog", "arg")
    env: tuple[str, ...] = ("BASE=1",)
    binds: tuple[str, ...] = ()
    workdir: str | None = None
    queue: str | None = "q1"
    account: str | None = "a1"
    name: str | None = "job1"
    image: str = IMAGE
    task_lines: tuple[str, ...] | None = None
    site: dict[str, object] = field(default_factory=dict)
    jobdir_name: str = "job"


class SiteFile:
    """The site file `--site hostile` names; the test points hepstack.sites.get_site at :meth:`site`."""

    def __init__(self) -> None:
        self.path: Path | None = None

    def site(self, name: str, environment: object = None) -> object:
        assert self.path is not None and name == "hostile"
        loaded = load_site(self.path)
        if isinstance(loaded, HepstackError):
            raise loaded
        return loaded


@dataclass
class Harness:
    root: Path
    scheduler: str
    runtime: str
    context: Context
    files: Path  # site and task files, written once per distinct text for the whole module
    site_file: SiteFile = field(default_factory=SiteFile)
    renders: int = 0

    @property
    def stand_ins(self) -> Path:
        return self.root / "bin"

    def marker(self, field_name: str, value_index: int) -> Path:
        return self.root / "markers" / f"{list(FIELDS).index(field_name)}-{value_index}"

    def baseline(self) -> Inputs:
        native = self.runtime == "native"
        command = (str(self.stand_ins / "record-command"), "arg") if native else ("prog", "arg")
        return Inputs(command=command, binds=(str(self.root / "data"),))


# --- fields ---------------------------------------------------------------------------------------


def _site(inputs: Inputs, **keys: object) -> Inputs:
    return replace(inputs, site={**inputs.site, **keys})


def _existing_dir(path: Path) -> str:
    path.mkdir(parents=True, exist_ok=True)  # a bind source on this host must exist
    return str(path)


def _numbered(values: list[str]) -> dict[str, str]:
    return {f"V{index}": value for index, value in enumerate(values)}


@dataclass(frozen=True)
class Field:
    """Where a value goes. ``put`` places one value; ``combine``, for fields that take several (env,
    arguments, binds, task lines), places every accepted value at once, so one job checks them all."""

    put: Callable[[Harness, Inputs, str], Inputs]
    combine: Callable[[Harness, Inputs, list[str]], Inputs] | None = None
    benign: Callable[[Harness], str] = lambda harness: "benign"


FIELDS: dict[str, Field] = {
    "--queue": Field(lambda h, i, v: replace(i, queue=v)),
    "--account": Field(lambda h, i, v: replace(i, account=v)),
    "site queue": Field(lambda h, i, v: _site(i, resources={"queue": v})),
    "site account": Field(lambda h, i, v: _site(i, resources={"account": v})),
    "site directive": Field(
        lambda h, i, v: _site(i, directives=[v]), benign=lambda h: BENIGN_DIRECTIVE[h.scheduler]
    ),
    "site directive value": Field(lambda h, i, v: _site(i, directives=[SITE_OPTION[h.scheduler] + v])),
    "site env name": Field(lambda h, i, v: _site(i, env={v: "1"})),
    "site env value": Field(
        lambda h, i, v: _site(i, env={"V0": v}), lambda h, i, vs: _site(i, env=_numbered(vs))
    ),
    "site bind source": Field(
        lambda h, i, v: _site(i, binds=[f"/site/{v}:/site/{v}"]),
        lambda h, i, vs: _site(i, binds=[f"/site/{v}:/site/{v}" for v in vs]),
    ),
    "site bind target": Field(
        lambda h, i, v: _site(i, binds=[f"/site:/{v}"]),
        lambda h, i, vs: _site(i, binds=[f"/site:/{v}" for v in vs]),
    ),
    "site runtime_tool": Field(lambda h, i, v: _site(i, runtime_tool=v)),
    "--env value": Field(
        lambda h, i, v: replace(i, env=(*i.env, f"V0={v}")),
        lambda h, i, vs: replace(i, env=(*i.env, *(f"{k}={v}" for k, v in _numbered(vs).items()))),
    ),
    "--env name": Field(lambda h, i, v: replace(i, env=(*i.env, f"{v}=1"))),
    "--bind source": Field(
        lambda h, i, v: replace(i, binds=(_existing_dir(h.root / "sources" / f"s{v}"),)),
        lambda h, i, vs: replace(i, binds=tuple(_existing_dir(h.root / "sources" / f"s{v}") for v in vs)),
    ),
    "--bind target": Field(
        lambda h, i, v: replace(i, binds=(f"{h.root / 'data'}:/{v}",)),
        lambda h, i, vs: replace(i, binds=tuple(f"{h.root / 'data'}:/{v}" for v in vs)),
    ),
    "--workdir": Field(lambda h, i, v: replace(i, workdir=f"/{v}")),
    "image": Field(lambda h, i, v: replace(i, image=v)),
    "image path": Field(lambda h, i, v: replace(i, image=f"/images/{v}")),
    "job name": Field(lambda h, i, v: replace(i, name=v)),
    "task-file line": Field(
        lambda h, i, v: replace(i, task_lines=(v, "second")),
        lambda h, i, vs: replace(i, task_lines=tuple(vs)),
    ),
    "command argument": Field(
        lambda h, i, v: replace(i, command=(*i.command, v)),
        lambda h, i, vs: replace(i, command=(*i.command, *vs)),
    ),
    "command": Field(lambda h, i, v: replace(i, command=(v, "arg"))),
    "data directory": Field(lambda h, i, v: replace(i, jobdir_name=f"job{v}")),
}
OWN_DIRECTIVE = "site directive"  # the site's own option is the value: only the count is compared


# --- rendering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    submission: Submission
    jobdir: Path
    script: str
    extra_files: dict[str, str]


def outcome(harness: Harness, inputs: Inputs) -> Rendered | HepstackError:
    """Plan and render ``inputs`` as `hepstack submit --print` would; a refusal is returned."""
    harness.renders += 1
    try:
        site = None
        if inputs.site:
            harness.site_file.path = _file(harness.files, "site", json.dumps({**SITE_HEAD, **inputs.site}))
            site = "hostile"
        task_file = None
        if inputs.task_lines is not None:
            task_file = _file(harness.files, "tasks", "".join(f"{line}\n" for line in inputs.task_lines))
        submission = plan_submission(
            image=inputs.image,
            command=list(inputs.command),
            context=harness.context,
            site=site,
            scheduler=harness.scheduler,
            runtime=harness.runtime,
            task_file=task_file,
            binds=list(inputs.binds),
            env=list(inputs.env),
            queue=inputs.queue,
            account=inputs.account,
            workdir=inputs.workdir,
            name=inputs.name,
        )
        jobdir = harness.root / "jobs" / str(harness.renders) / inputs.jobdir_name
        scheduler, spec, script = render(submission, jobdir)
        extra = scheduler.extra_files(spec, jobdir / "job.sh")
    except HepstackError as refused:
        return refused
    return Rendered(submission, jobdir, script, extra)


# A site file must name a scheduler and runtime; the test's --scheduler and --runtime override them (as
# on the command line), so one file per value serves every combination.
SITE_HEAD = {"name": "hostile", "scheduler": "local", "runtime": "native"}


@functools.cache
def _file(directory: Path, kind: str, text: str) -> Path:
    path = directory / f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:16]}.txt"
    path.write_text(text, encoding="utf-8")
    return path


@functools.cache
def load_site(path: Path) -> object:
    """The site in ``path`` through hepstack's own site loader, or its refusal (one load per file)."""
    from hepstack.sites import Site, load_site_file

    try:
        return Site(load_site_file(path), str(path))
    except HepstackError as refused:
        return refused


def directive_keys(scheduler: str, rendered: Rendered) -> list[str]:
    """The key of every directive line (``--partition``, ``-q``, ``request_cpus``), splitting the file
    into lines at LF only and a line into words, as the schedulers' parsers do."""
    if scheduler == "htcondor":
        lines = [line for line in rendered.extra_files["job.sub"].split("\n") if line and line[0] != "#"]
        return [line.partition("=")[0].strip() if "=" in line else line.split()[0] for line in lines]
    prefix = DIRECTIVE_PREFIX.get(scheduler)
    keys = []
    for line in rendered.script.split("\n"):
        words = line.split()
        if not words:
            continue
        if prefix is not None and words[0] == prefix:
            keys.append(words[1].partition("=")[0])
        elif prefix is None and words[0] in DIRECTIVE_PREFIX.values():
            keys.append(words[0])  # a directive in a local job script: there must be none
    return keys


def directive_lines(scheduler: str, rendered: Rendered) -> list[str]:
    if scheduler == "htcondor":
        return rendered.extra_files["job.sub"].split("\n")
    return [line for line in rendered.script.split("\n") if line.startswith(tuple(DIRECTIVE_PREFIX.values()))]


def has_control_character(text: str) -> bool:
    return _CONTROL.search(text) is not None


def described(value: str) -> str:
    return repr(value[:50]) + ("..." if len(value) > 50 else "")
