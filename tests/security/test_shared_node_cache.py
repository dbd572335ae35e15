"""A node cache several users share on purpose: one owner (HEPSTACK_CACHE_OWNER) converts, everyone uses
its entries, and nothing else in it. The owner is the test user; root is one of the other users."""

from __future__ import annotations

import pwd
import subprocess
import sys
from pathlib import Path

import pytest

from tests.security.conftest import mode
from tests.security.test_cross_user_state import IMAGE_ID, assert_refused, record_demo_build, root_runs

NAME = IMAGE_ID.removeprefix("sha256:")
# The owner fills its cache through hepstack's own NodeCache, as `hepstack run` would.
OWNER_CONVERTS = """
import os, sys
from pathlib import Path
from hepstack.registry.cache import NodeCache
root, image_id = sys.argv[1:]
def convert(scratch):
    (scratch / "bin").mkdir(parents=True)
NodeCache(Path(root), owner=os.getuid()).get("charliecloud", image_id, convert)
"""


@pytest.fixture
def site_cache(test_user: pwd.struct_passwd, public: Path) -> Path:
    """The owner's node cache, with one entry (IMAGE_ID) it converted."""
    if subprocess.run(["sh", "-c", "command -v ch-run"], capture_output=True).returncode:
        pytest.skip("needs ch-run (scripts/setup-host.sh installs it)")
    cache = public / "site-cache"
    argv = [
        "runuser",
        "-u",
        test_user.pw_name,
        "--",
        sys.executable,
        "-c",
        OWNER_CONVERTS,
        str(cache),
        IMAGE_ID,
    ]
    result = subprocess.run(argv, capture_output=True, text=True, check=False, cwd="/")
    assert result.returncode == 0, result.stderr
    return cache


def shared_run(tmp_path: Path, cache: Path, owner: str | None) -> subprocess.CompletedProcess[str]:
    env = {"HEPSTACK_DATA_DIR": str(tmp_path / "data"), "HEPSTACK_CACHE_DIR": str(tmp_path / "cache")}
    env["HEPSTACK_NODE_CACHE"] = str(cache)
    if owner is not None:
        env["HEPSTACK_CACHE_OWNER"] = owner
    return root_runs(env, "run", "--print", "--runtime", "charliecloud", "demo/release", "--", "true")


def test_other_users_run_the_owners_entries(
    test_user: pwd.struct_passwd, site_cache: Path, tmp_path: Path
) -> None:
    assert mode(site_cache) == mode(site_cache / "charliecloud") == 0o755  # readable by all, writable by one
    assert (site_cache / "charliecloud" / NAME).stat().st_uid == test_user.pw_uid
    record_demo_build(tmp_path / "data")
    for owner in (test_user.pw_name, str(test_user.pw_uid)):
        result = shared_run(tmp_path, site_cache, owner)
        assert result.returncode == 0, result.stderr
        assert f" {site_cache / 'charliecloud' / NAME} -- " in result.stdout


def test_without_the_owner_setting_a_cache_of_another_user_is_refused(
    site_cache: Path, tmp_path: Path
) -> None:
    record_demo_build(tmp_path / "data")
    assert_refused(shared_run(tmp_path, site_cache, None), "belongs to hepstack-test", "HEPSTACK_NODE_CACHE")


def test_an_entry_the_owner_did_not_make_is_refused(site_cache: Path, tmp_path: Path) -> None:
    record_demo_build(tmp_path / "data")
    entry = site_cache / "charliecloud" / NAME
    entry.rename(site_cache / "charliecloud" / "moved")
    entry.mkdir()  # root can write anywhere; its entry is still not the owner's
    assert_refused(shared_run(tmp_path, site_cache, "hepstack-test"), str(entry), "belongs to root")


def test_a_cache_others_can_write_is_refused(site_cache: Path, tmp_path: Path) -> None:
    record_demo_build(tmp_path / "data")
    (site_cache / "charliecloud").chmod(0o775)
    assert_refused(shared_run(tmp_path, site_cache, "hepstack-test"), "writable by other users", "0775")


def test_only_the_owner_makes_entries(site_cache: Path, tmp_path: Path) -> None:
    record_demo_build(tmp_path / "data")
    (site_cache / "charliecloud" / NAME).rename(site_cache / "charliecloud" / "moved")
    assert_refused(shared_run(tmp_path, site_cache, "hepstack-test"), "only its owner hepstack-test")


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        ({"HEPSTACK_CACHE_OWNER": "hepstack-test"}, ["HEPSTACK_NODE_CACHE", "is not set"]),
        (
            {"HEPSTACK_CACHE_OWNER": "no-such-user", "HEPSTACK_NODE_CACHE": "/tmp"},
            ["no-such-user: no such user"],
        ),
    ],
)
def test_bad_owner_settings_are_explained(setting: dict[str, str], words: list[str], tmp_path: Path) -> None:
    env = {
        "HEPSTACK_DATA_DIR": str(tmp_path / "data"),
        "HEPSTACK_CACHE_DIR": str(tmp_path / "cache"),
        **setting,
    }
    assert_refused(root_runs(env, "run", "--print", "--runtime", "charliecloud", "x/y", "--", "true"), *words)
