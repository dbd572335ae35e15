"""The non-root test user plants state in a shared directory; root's hepstack must not use it.

Each test is the attack as the tester ran it: the attacker (``hepstack-test``, through runuser) writes
only what any user can write, in a sticky world-writable directory like /tmp; root then runs hepstack
with its cache there. Before the fix root sourced the planted script, wrote through the planted symlink,
ran the planted tree; now it refuses the directory with an ``error:`` (exit 2) and touches nothing.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hepstack.catalog import Catalog, ImageRecord
from hepstack.errors import HepstackError
from hepstack.registry.cache import NodeCache
from tests.conftest import HEPSTACK, TEST_STACK
from tests.security.conftest import as_user, mode

IMAGE = "localhost/demo/release:0123456789ab"
IMAGE_ID = "sha256:" + "ab" * 32


def record_demo_build(data: Path, engine: str = "podman") -> None:
    """Root's own catalog (private, in pytest's root-only tmp) knows demo/release, spec TEST_STACK."""
    Catalog(data / "catalog.sqlite").record(
        ImageRecord(
            stack="demo",
            layer="release",
            release="2.1",
            key="0123456789ab",
            reference=IMAGE,
            image_id=IMAGE_ID,
            size=1,
            engine=engine,
            built_at=datetime.now(UTC),
            seconds=1.0,
            spec_path=str(TEST_STACK),
        )
    )


def root_runs(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "USER": "root", **env}
    return subprocess.run([HEPSTACK, *args], capture_output=True, text=True, env=environment, check=False)


def assert_refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: ") and "\nhint: " in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


# --- 1. a planted native environment -------------------------------------------------------------------

PLANT_NATIVE_ENV = """
import hashlib, json, os, shlex, sys
cache, spec, layer, profile, marker = sys.argv[1:]
status = os.stat(spec)  # all it takes: the spec's path, size and mtime
fingerprint = [os.path.realpath(spec), layer, status.st_size, status.st_mtime_ns]
digest = hashlib.sha256(json.dumps(fingerprint).encode()).hexdigest()[:24]
os.makedirs(os.path.join(cache, "native-env"), exist_ok=True)
with open(profile, "w") as script:
    script.write(f"touch {shlex.quote(marker)}\\n")
os.chmod(profile, 0o755)
entry = {"fingerprint": fingerprint, "env": {"LD_PRELOAD": "/nonexistent/planted.so"}, "profiles": [profile]}
with open(os.path.join(cache, "native-env", digest + ".json"), "w") as out:
    json.dump(entry, out)
print(digest)
"""


@pytest.mark.parametrize("cache_is", ["made-by-the-attacker", "sticky-and-world-writable"])
def test_root_does_not_source_a_native_environment_planted_in_a_shared_cache(
    test_user: pwd.struct_passwd, public: Path, tmp_path: Path, cache_is: str
) -> None:
    cache = public / "cache" if cache_is == "made-by-the-attacker" else public
    marker, profile = public / "sourced-by-root", public / "planted.sh"
    as_user(test_user, PLANT_NATIVE_ENV, str(cache), str(TEST_STACK), "release", str(profile), str(marker))
    record_demo_build(tmp_path / "data")
    probe = ("run", "--runtime", "native", "demo/release", "--", "sh", "-c", 'echo "preload=$LD_PRELOAD"')

    own = root_runs(
        {"HEPSTACK_DATA_DIR": str(tmp_path / "data"), "HEPSTACK_CACHE_DIR": str(tmp_path / "c")}, *probe
    )
    assert own.stdout.strip() == "preload=", own.stderr  # root's own cache, for comparison: ...
    planted = [path.name for path in (cache / "native-env").iterdir()]
    assert [path.name for path in (tmp_path / "c" / "native-env").iterdir()] == planted  # ... the same name

    attacked = root_runs(
        {"HEPSTACK_DATA_DIR": str(tmp_path / "data"), "HEPSTACK_CACHE_DIR": str(cache)}, *probe
    )
    assert not marker.exists(), "root sourced the attacker's profile script"
    assert "planted.so" not in attacked.stdout
    assert_refused(attacked, str(cache), "HEPSTACK_CACHE_DIR")


# --- 2. a planted symlink where root writes its remembered launch -----------------------------------------

PLANT_SYMLINK = """
import os, sys
target, victim = sys.argv[1:]
os.makedirs(os.path.dirname(target), exist_ok=True)
os.symlink(victim, target)
"""

PLAN_PATH = """
import sys
from hepstack.run import plan as launch_plan
print(launch_plan.plan_path(launch_plan.plan_key(sys.argv[1], sys.argv[2], [], [], None, None)))
"""


def test_a_planted_symlink_does_not_make_root_overwrite_its_own_file(
    test_user: pwd.struct_passwd, public: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "secret"
    victim.write_text("root's own\n")
    victim.chmod(0o600)
    cache = public / "cache"
    env = {**os.environ, "HEPSTACK_DATA_DIR": str(tmp_path / "data"), "HEPSTACK_CACHE_DIR": str(cache)}
    # where root's run will write its plan: computable by anyone who knows the command line it runs
    plan = subprocess.run(
        [sys.executable, "-c", PLAN_PATH, IMAGE, "native"],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    # root's run waits for a line on stdin, so that its pid is known before it writes
    run = [
        "sh",
        "-c",
        'read go && exec "$@"',
        "sh",
        HEPSTACK,
        "run",
        "--runtime",
        "native",
        IMAGE,
        "--",
        "true",
    ]
    with subprocess.Popen(
        run, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as root:
        as_user(test_user, PLANT_SYMLINK, f"{plan}.{root.pid}", str(victim))  # the old temporary name
        out, err = root.communicate("go\n", timeout=60)
    assert victim.read_bytes() == b"root's own\n", "root wrote through the attacker's symlink"
    assert mode(victim) == 0o600
    assert_refused(subprocess.CompletedProcess(run, root.returncode, out, err), str(cache))


# --- 3. a planted node-cache entry, and planted symlinks where a conversion writes ------------------------

PLANT_TREE = """
import os, sys
cache, name = sys.argv[1:]
tree = os.path.join(cache, "charliecloud", name)
os.makedirs(os.path.join(tree, "bin"))
with open(os.path.join(tree, "bin", "sh"), "w") as shell:
    shell.write("#!/bin/true planted\\n")
with open(tree + ".meta", "w") as meta:
    meta.write('{"size": 1, "image": "planted"}\\n')
"""


def test_root_does_not_run_a_tree_planted_in_a_shared_node_cache(
    test_user: pwd.struct_passwd, public: Path, tmp_path: Path
) -> None:
    if subprocess.run(["sh", "-c", "command -v ch-run"], capture_output=True).returncode:
        pytest.skip("needs ch-run (scripts/setup-host.sh installs it)")
    cache = public / "cache"
    as_user(test_user, PLANT_TREE, str(cache), IMAGE_ID.removeprefix("sha256:"))
    record_demo_build(tmp_path / "data")
    result = root_runs(
        {"HEPSTACK_DATA_DIR": str(tmp_path / "data"), "HEPSTACK_CACHE_DIR": str(cache)},
        "run", "--print", "--runtime", "charliecloud", "demo/release", "--", "true",
    )  # fmt: skip
    assert str(cache / "charliecloud") not in result.stdout, "root would run the attacker's tree"
    assert_refused(result, str(cache))


PLANT_LINKS = """
import os, sys
cache, log_victim, meta_victim = sys.argv[1:]
os.makedirs(os.path.join(cache, "squashfs"))
os.symlink(log_victim, os.path.join(cache, "conversions.log"))
os.symlink(meta_victim, os.path.join(cache, "squashfs", "ab.meta"))
"""


def test_a_conversion_by_root_writes_through_no_planted_symlink(
    test_user: pwd.struct_passwd, public: Path, tmp_path: Path
) -> None:
    victims = [tmp_path / "log-victim", tmp_path / "meta-victim"]
    for victim in victims:
        victim.write_text("root's own\n")
        victim.chmod(0o600)
    cache = public / "cache"
    as_user(test_user, PLANT_LINKS, str(cache), *map(str, victims))

    def convert(scratch: Path) -> None:
        scratch.mkdir()
        (scratch / "image.sqfs").write_bytes(b"hsqs")

    with pytest.raises(HepstackError, match="belongs to hepstack-test"):
        NodeCache(cache).get("squashfs", "sha256:ab", convert)
    assert [victim.read_bytes() for victim in victims] == [b"root's own\n"] * 2
    assert not (cache / "squashfs" / "ab").exists()
