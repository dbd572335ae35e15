"""Remembered launches (hepstack.run.plan): a repeated `hepstack run` execs its plan, never a stale one.

The black-box tests run the real CLI with the native runtime. To see whether a run took its plan, a
test rewrites the plan's command to `echo remembered`: output "remembered ..." means the plan was
exec'd, the real output means the run was resolved again.
"""

from __future__ import annotations

import marshal
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hepstack.cache_use import use_files
from hepstack.catalog import Catalog, ImageRecord
from hepstack.run import plan as launch_plan
from hepstack.run.launch import run
from tests.conftest import HEPSTACK, TEST_STACK, hepstack

IMAGE = "localhost/demo/release:0123456789ab"  # an engine reference: native runs it without a catalog entry


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own catalog and cache, in this process and in the CLI it runs."""
    monkeypatch.setenv("HEPSTACK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HEPSTACK_CACHE_DIR", str(tmp_path / "cache"))
    Catalog(tmp_path / "data" / "catalog.sqlite")  # exists from the start, as after any build
    return tmp_path


def run_native(*options: str, cwd: Path | None = None, command: tuple[str, ...] = ("echo", "real")) -> str:
    result = hepstack("run", "--runtime", "native", *options, IMAGE, "--", *command, check=False, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def plans(state: Path) -> list[Path]:
    return sorted((state / "cache" / f"launch-{os.geteuid()}").glob("*.plan"))


def rewrite_plan(path: Path, **changes: object) -> None:
    """Change fields of a plan on disk; ``argv_prefix=...``, ``files=...``, ``holds=...``."""
    plan_format, key, files, holds, argv_prefix, process_env = marshal.loads(path.read_bytes())
    fields = {"files": files, "holds": holds, "argv_prefix": argv_prefix, **changes}
    plan = (plan_format, key, fields["files"], fields["holds"], fields["argv_prefix"], process_env)
    path.write_bytes(marshal.dumps(plan))


@pytest.fixture
def remembered(state: Path) -> Iterator[Path]:
    """A run resolved once, its plan rewritten to say `remembered` when exec'd."""
    assert run_native() == "real"
    [path] = plans(state)
    rewrite_plan(path, argv_prefix=["echo", "remembered"])
    yield path


def test_the_first_run_writes_a_plan_only_its_user_can_read(state: Path) -> None:
    assert plans(state) == []
    assert run_native() == "real"
    [path] = plans(state)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    _, _, files, holds, argv_prefix, _ = marshal.loads(path.read_bytes())
    assert argv_prefix[:2] == ["env", "-i"] and argv_prefix[-1] == "hepstack"
    assert launch_plan.PASSWD in files and any(name.endswith("hepstack/run/launch.py") for name in files)
    assert holds == []  # native uses no node-cache entry


def test_a_repeated_run_execs_its_plan_with_the_new_command(remembered: Path) -> None:
    assert run_native(command=("echo", "another", "command")) == "remembered echo another command"


def test_print_never_uses_a_plan(remembered: Path) -> None:
    result = hepstack("run", "--print", "--runtime", "native", IMAGE, "--", "true")
    assert "remembered" not in result.stdout and result.stdout.startswith("env -i")


def test_other_options_or_another_directory_are_resolved_anew(remembered: Path, tmp_path: Path) -> None:
    assert run_native("--env", "A=1") == "real"
    assert run_native(cwd=tmp_path) == "real"
    assert run_native() == "remembered echo real"


def test_a_new_build_in_the_catalog_makes_the_run_resolve_again(remembered: Path, state: Path) -> None:
    catalog = state / "data" / "catalog.sqlite"
    os.utime(catalog, ns=(catalog.stat().st_atime_ns, catalog.stat().st_mtime_ns + 1_000_000))
    assert run_native() == "real"
    assert run_native() == "real", "the fresh plan replaces the rewritten one"


def test_a_changed_hepstack_module_makes_the_run_resolve_again(remembered: Path) -> None:
    _, _, files, _, _, _ = marshal.loads(remembered.read_bytes())
    module = next(name for name in files if name.endswith("hepstack/runtimes/native.py"))
    rewrite_plan(remembered, files={**files, module: (1, 2, 3)})  # as if native.py had been edited
    assert run_native() == "real"


def test_a_vanished_bind_source_is_reported_not_bound(state: Path) -> None:
    source = state / "input"
    source.mkdir()
    assert run_native("--bind", str(source)) == "real"
    source.rmdir()
    result = hepstack("run", "--runtime", "native", "--bind", str(source), IMAGE, "--", "true", check=False)
    assert result.returncode == 2
    assert f"{source} does not exist" in result.stderr


def test_old_plans_are_pruned(state: Path) -> None:
    folder = state / "cache" / f"launch-{os.geteuid()}"
    folder.mkdir(parents=True)
    for index in range(launch_plan.KEPT_PLANS + 5):
        old = folder / f"{index:08x}.plan"
        old.write_bytes(b"")
        os.utime(old, ns=(index * 10**9, index * 10**9))
    assert run_native() == "real"  # writes its own plan, then prunes
    kept = plans(state)
    assert len(kept) == launch_plan.KEPT_PLANS
    assert not (folder / "00000005.plan").exists() and (folder / "00000006.plan").exists()


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda path: path.write_bytes(b"\x00garbage"), id="garbage"),
        pytest.param(lambda path: path.write_bytes(path.read_bytes()[:40]), id="truncated"),
        pytest.param(lambda path: path.chmod(0o666), id="writable by others"),
        pytest.param(lambda path: path.write_bytes(marshal.dumps((99, "key"))), id="another format"),
        pytest.param(lambda path: rewrite_plan(path, files="not a mapping"), id="right format, wrong shape"),
        pytest.param(lambda path: rewrite_plan(path, holds=[("/proc/no/such.lock", "x")]), id="lock fails"),
    ],
)
def test_a_damaged_or_foreign_plan_is_never_executed(remembered: Path, damage) -> None:  # type: ignore[no-untyped-def]
    damage(remembered)
    result = subprocess.run(
        [HEPSTACK, "run", "--runtime", "native", IMAGE, "--", "echo", "real"], capture_output=True, text=True
    )
    assert (result.returncode, result.stdout.strip(), result.stderr) == (0, "real", "")


def test_a_deleted_working_directory_is_no_traceback(state: Path, tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    script = f'cd {gone} && rmdir {gone} && exec "$@"'
    argv = ["sh", "-c", script, "sh", HEPSTACK, "run", "--runtime", "native", IMAGE, "--", "echo", "real"]
    for _ in range(2):  # resolved, then remembered
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        assert (result.returncode, result.stdout.strip()) == (0, "real")
        assert "Traceback" not in result.stderr
        gone.mkdir()


def test_an_assignment_as_command_is_still_explained(remembered: Path) -> None:
    result = hepstack("run", "--runtime", "native", IMAGE, "--", "A=1", "true", check=False)
    assert result.returncode == 2 and "looks like an assignment" in result.stderr


# --- a run from the node image cache holds the entry's use lock, as the full path does --------------------


@pytest.mark.skipif(shutil.which("ch-run") is None, reason="needs ch-run (scripts/setup-host.sh installs it)")
def test_a_remembered_charliecloud_run_holds_the_cache_entry_and_marks_its_use(state: Path) -> None:
    image_id = "sha256:" + "ab" * 32
    _record_demo_build(state, "podman", image_id=image_id)
    entry = state / "cache" / "charliecloud" / image_id.removeprefix("sha256:")
    entry.mkdir(parents=True)  # as if unpacked before: no engine needed
    use_lock, last_use = use_files(str(entry))
    Path(last_use).write_text('{"size": 0, "image": "demo/release"}\n')
    hepstack("run", "--runtime", "charliecloud", "demo/release", "--", "true", check=False)  # ch-run fails
    [path] = plans(state)
    _, _, files, holds, argv_prefix, _ = marshal.loads(path.read_bytes())
    assert argv_prefix[0].endswith("ch-run") and str(entry) in argv_prefix and str(entry) in files
    assert holds == [(use_lock, last_use)]

    # the exec'd command tries to take the entry exclusively, as an eviction would
    probe = ["sh", "-c", 'flock -n -x "$0" true && echo evictable || echo in-use', use_lock]
    rewrite_plan(path, argv_prefix=probe)
    os.utime(last_use, (1000, 1000))
    result = hepstack("run", "--runtime", "charliecloud", "demo/release", "--", "true")
    assert result.stdout.strip() == "in-use"
    assert Path(last_use).stat().st_mtime > 1000

    rewrite_plan(path, holds=[])  # the same plan without the hold: the probe can take the lock
    assert (
        hepstack("run", "--runtime", "charliecloud", "demo/release", "--", "true").stdout.strip()
        == "evictable"
    )


# --- the key covers every variable that resolving a run reads ------------------------------------------


class RecordingEnvironment(dict[str, str]):
    """os.environ that notes every name hepstack looks up while resolving a run.

    Reads by pytest itself (no hepstack frame on the stack) and by modules being imported (a library's
    own settings, read once per process, such as RUAMEL_DEBUG) are not a run's inputs.
    """

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def _note(self, name: object) -> None:
        files = []
        frame = sys._getframe(2)
        while frame is not None:
            files.append(frame.f_code.co_filename)
            frame = frame.f_back
        importing = any(file.startswith("<frozen importlib") for file in files)
        if not importing and any(f"{os.sep}hepstack{os.sep}" in file for file in files):
            self.read.add(str(name))

    def __getitem__(self, name: str) -> str:
        self._note(name)
        return super().__getitem__(name)

    def get(self, name: str, default: object = None) -> object:  # type: ignore[override]
        self._note(name)
        return super().get(name, default)

    def __contains__(self, name: object) -> bool:
        self._note(name)
        return super().__contains__(name)


@pytest.mark.parametrize("runtime", ["native", "podman", "docker"])
def test_resolving_a_run_reads_only_the_variables_in_the_key(
    runtime: str, state: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _record_demo_build(state, engine="native" if runtime == "native" else runtime)  # no copy between engines
    monkeypatch.setenv("TERM", "xterm")
    recording = RecordingEnvironment(dict(os.environ))
    monkeypatch.setattr(os, "environ", recording)
    run(
        "demo/release",
        ["true"],
        runtime_name=runtime,
        bind=[str(tmp_path)],
        env=["A=1"],
        workdir=None,
        engine=None,
        print_only=True,
    )
    assert recording.read, "the recording saw nothing: the test no longer observes the resolution"
    assert recording.read <= set(launch_plan.PLAN_ENVIRONMENT), recording.read - set(
        launch_plan.PLAN_ENVIRONMENT
    )


def _record_demo_build(state: Path, engine: str, image_id: str = "sha256:" + "0" * 64) -> None:
    build = ImageRecord(
        stack="demo",
        layer="release",
        release="2.1",
        key="0123456789ab",
        reference=IMAGE,
        image_id=image_id,
        size=1,
        engine=engine,
        built_at=datetime.now(UTC),
        seconds=1.0,
        spec_path=str(TEST_STACK),
    )
    Catalog(state / "data" / "catalog.sqlite").record(build)


def test_a_remembered_run_imports_nothing_slow_before_its_exec(remembered: Path) -> None:
    """re, pathlib, dataclasses and typing cost 10-25 ms each here; 5 % of a podman start is ~20 ms."""
    entry = "import sys; from hepstack.entry import main; main()"
    argv = ["run", "--runtime", "native", IMAGE, "--", "echo", "real"]
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", entry, *argv], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "remembered echo real"
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert "hepstack.run.plan" in imported
    assert not imported & {"re", "pathlib", "dataclasses", "typing", "hepstack.run.launch", "json"}
