"""State is private: directories 0700, files 0600, written under fresh names and renamed into place; a
directory another user owns or can write is refused with an error that says what to do."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
from pathlib import Path

import pytest

from hepstack import private
from hepstack.batch.store import JobStore
from hepstack.catalog import Catalog
from hepstack.catalog.resolve import ResolvedImage
from hepstack.context import Context
from hepstack.proc import stream
from hepstack.registry.cache import NodeCache
from hepstack.run.launch import native_layer_environment
from tests.batch.conftest import batch_cli
from tests.conftest import HEPSTACK, TEST_STACK
from tests.security.conftest import mode

IMAGE = "localhost/demo/release:0123456789ab"


def _test_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam("hepstack-test")
    except KeyError:
        pytest.skip("needs the test user (scripts/setup-host.sh)")


def test_a_fresh_install_keeps_its_state_to_its_user(tmp_path: Path) -> None:
    data, cache = tmp_path / "data", tmp_path / "cache"
    env = {"HEPSTACK_DATA_DIR": str(data), "HEPSTACK_CACHE_DIR": str(cache)}
    task_file = tmp_path / "tasks"
    task_file.write_text("one\n")
    submitted = batch_cli(
        "submit", "--scheduler", "local", "--runtime", "native", "--task-file", str(task_file),
        "img", "--", "true", env=env,
    )  # fmt: skip
    job = submitted.stdout.split()[2]
    batch_cli("jobs", job, "--watch", "--interval", "0.2", env=env)
    [jobdir] = (data / "jobs").iterdir()
    assert {name: mode(data / name) for name in ("", "jobs", "state.sqlite")} == {
        "": 0o700, "jobs": 0o700, "state.sqlite": 0o600}  # fmt: skip
    assert (mode(jobdir), mode(jobdir / "job.sh"), mode(jobdir / "tasks.txt")) == (0o700, 0o700, 0o600)

    Catalog(Context.from_environment(env).catalog_path)
    assert mode(data / "catalog.sqlite") == 0o600

    context = Context.from_environment(env)
    stream(["echo", "built"], on_line=lambda line: None, log_file=context.log_path("lat") / "base.log")
    assert (mode(data / "logs"), mode(data / "logs" / "lat"), mode(data / "logs" / "lat" / "base.log")) == (
        0o700, 0o700, 0o600)  # fmt: skip

    image = ResolvedImage(IMAGE, "podman", stack="demo", layer="release", spec_path=str(TEST_STACK))
    native_layer_environment(image, context)
    [cached] = (cache / "native-env").iterdir()
    assert (mode(cache), mode(cache / "native-env"), mode(cached)) == (0o700, 0o700, 0o600)

    node_cache = NodeCache(cache)
    node_cache.get("squashfs", "sha256:ab", lambda scratch: scratch.mkdir())
    node_cache.release()
    assert (mode(cache / "squashfs"), mode(cache / "squashfs" / "ab.meta")) == (0o700, 0o600)
    assert mode(cache / "conversions.log") == 0o600


def test_directories_an_older_version_left_readable_are_tightened(tmp_path: Path) -> None:
    old = tmp_path / "cache"
    old.mkdir(mode=0o755)
    (old / "native-env").mkdir(mode=0o755)
    context = Context.from_environment({"HEPSTACK_CACHE_DIR": str(old)})
    context.cache_path("native-env")
    assert (mode(old), mode(old / "native-env")) == (0o700, 0o700)
    catalog = tmp_path / "catalog.sqlite"
    catalog.touch(mode=0o644)
    Catalog(catalog)
    assert mode(catalog) == 0o600


def _owned_by_test_user(path: Path) -> Path:
    user = _test_user()
    path.mkdir()
    os.chown(path, user.pw_uid, user.pw_gid)
    return path


REFUSED = {
    "another user's": (lambda tmp: _owned_by_test_user(tmp / "d"), "belongs to hepstack-test"),
    "world-writable": (lambda tmp: _with_mode(tmp / "d", 0o777), "is writable by other users (mode 0777)"),
    "group-writable, sticky": (
        lambda tmp: _with_mode(tmp / "d", 0o1770),
        "writable by other users (mode 1770)",
    ),
    "a file": (lambda tmp: _file(tmp / "d"), "is not a directory"),
    "in another user's directory": (lambda tmp: _owned_by_test_user(tmp / "p") / "d", "which hepstack-test"),
    "in a group-writable directory": (lambda tmp: _with_mode(tmp / "p", 0o775) / "d", "(mode 0775)"),
    "another user's symlink": (lambda tmp: _link_by_test_user(tmp), "is a symlink made by hepstack-test"),
}


def _with_mode(path: Path, bits: int) -> Path:
    path.mkdir()
    path.chmod(bits)
    return path


def _file(path: Path) -> Path:
    path.write_text("")
    return path


def _link_by_test_user(tmp: Path) -> Path:
    user = _test_user()
    (tmp / "target").mkdir()
    (tmp / "d").symlink_to(tmp / "target")
    os.lchown(tmp / "d", user.pw_uid, user.pw_gid)
    return tmp / "d"


# The test user's files are another user's only to root (the runner of the CI suite).
AS_ROOT = {"another user's", "in another user's directory", "another user's symlink"}


@pytest.mark.parametrize(
    ("make", "says"),
    [
        pytest.param(*case, id=name, marks=[pytest.mark.root] if name in AS_ROOT else [])
        for name, case in REFUSED.items()
    ],
)
def test_unsafe_state_directories_are_refused_with_a_hint(make, says: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path)
    with pytest.raises(private.UnsafeState) as refused:
        private.private_dir(str(path), "HEPSTACK_CACHE_DIR")
    assert says in refused.value.message and str(path) in refused.value.message
    assert refused.value.hint is not None and "HEPSTACK_CACHE_DIR" in refused.value.hint


def test_a_state_database_elsewhere_must_be_in_a_directory_of_the_users(tmp_path: Path) -> None:
    shared = _with_mode(tmp_path / "shared", 0o1777)  # like /tmp: another user could plant its journal
    with pytest.raises(private.UnsafeState, match="writable by other users"):
        JobStore(f"sqlite:///{shared}/state.sqlite")
    with pytest.raises(private.UnsafeState, match="writable by other users"):
        Catalog(shared / "catalog.sqlite")


def test_an_atomic_write_replaces_a_symlink_instead_of_writing_through_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    (tmp_path / "state.json").symlink_to(victim)
    private.write_atomically(str(tmp_path / "state.json"), b"new")
    assert victim.read_text() == "untouched"
    assert (tmp_path / "state.json").read_text() == "new" and not (tmp_path / "state.json").is_symlink()
    assert mode(tmp_path / "state.json") == 0o600
    assert sorted(path.name for path in tmp_path.iterdir()) == ["state.json", "victim"]  # no partial left


@pytest.mark.root
def test_cached_files_not_the_users_own_are_never_read(tmp_path: Path) -> None:
    context = Context.from_environment({"HEPSTACK_CACHE_DIR": str(tmp_path / "cache")})
    image = ResolvedImage(IMAGE, "podman", stack="demo", layer="release", spec_path=str(TEST_STACK))
    genuine = native_layer_environment(image, context)
    [cached] = (tmp_path / "cache" / "native-env").iterdir()
    entry = json.loads(cached.read_text())
    entry["env"] = {"LD_PRELOAD": "/planted.so"}
    user = _test_user()
    for damage in (lambda: os.chown(cached, user.pw_uid, user.pw_gid), lambda: cached.chmod(0o666)):
        cached.write_text(json.dumps(entry))
        cached.chmod(0o600)
        damage()
        assert native_layer_environment(image, context) == genuine
        assert mode(cached) == 0o600 and cached.stat().st_uid == os.geteuid()  # rewritten by the user


def test_refusals_reach_the_user_as_errors_not_tracebacks(tmp_path: Path) -> None:
    foreign = _with_mode(tmp_path / "foreign", 0o777)
    for command in (("images",), ("jobs",)):
        result = batch_cli(*command, env={"HEPSTACK_DATA_DIR": str(foreign)}, check=False)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(f"error: {foreign} is writable by other users"), result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.root
def test_a_cache_that_cannot_be_made_only_costs_the_remembering(tmp_path: Path) -> None:
    """A read-only home on a compute node: `hepstack run` still runs, it only cannot remember."""
    user = _test_user()
    unwritable = Path("/root/hepstack-cache-of-another-user")  # /root is root's, mode 0700
    env = [f"HEPSTACK_CACHE_DIR={unwritable}", f"HEPSTACK_DATA_DIR={unwritable}", "PATH=/usr/bin:/bin"]
    argv = ["runuser", "-u", user.pw_name, "--", "env", "-i", *env, HEPSTACK, "run", "--runtime", "native"]
    for _ in range(2):
        result = subprocess.run([*argv, IMAGE, "--", "echo", "ran"], capture_output=True, text=True, cwd="/")
        assert (result.returncode, result.stdout, result.stderr) == (0, "ran\n", "")
    assert not unwritable.exists()
