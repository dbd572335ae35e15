"""The job's side of the node cache (batch/templates/node_cache.sh), run in real bash against the same
directory as hepstack's Python cache: one protocol, so either side uses what the other made, an
eviction skips what a job holds, and the image's symlinks cannot make the job write outside the tree."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from hepstack.batch.script import template_text
from hepstack.errors import HepstackError
from hepstack.registry.cache import NodeCache, entry_path
from hepstack.registry.convert import write_runtime_metadata
from hepstack.runtimes.charliecloud import make_mount_point

IMAGE_ID = f"sha256:{'ab' * 32}"
MAKE_TREE = 'make_tree() { mkdir -- "$1" && echo made >"$1/file" && echo "converted $1"; }\n'


def _bash(tmp_path: Path, script: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    library = tmp_path / "node_cache.sh"
    library.write_text(template_text("node_cache.sh"))
    return subprocess.run(
        ["bash", "-c", f"source {library}\n{MAKE_TREE}{script}"],
        capture_output=True, text=True, check=False, **kwargs,  # type: ignore[call-overload]
    )  # fmt: skip


def _entry_call(
    root: Path, owner: int | None = None, shared: int = 0, image_id: str = IMAGE_ID, max_bytes: str = "''"
) -> str:
    entry = entry_path(root, "charliecloud", image_id)
    uid = owner or os.geteuid()
    return f"hepstack_cache_entry charliecloud {entry} localhost/x:1 {uid} {shared} {max_bytes} make_tree"


def _never(scratch: Path) -> None:
    raise AssertionError(f"converted again into {scratch}")


def test_an_entry_the_job_made_is_used_by_hepstack_and_the_other_way_round(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    made = _bash(tmp_path, _entry_call(root))
    assert made.returncode == 0, made.stderr
    entry = NodeCache(root).get("charliecloud", IMAGE_ID, _never)
    assert (entry / "file").read_text() == "made\n"
    assert [(e.image_id, e.size > 0) for e in NodeCache(root).entries()] == [(IMAGE_ID[7:], True)]
    assert len((root / "conversions.log").read_text().splitlines()) == 1
    assert oct(root.stat().st_mode & 0o777) == "0o700"

    other = f"sha256:{'cd' * 32}"
    python_made = NodeCache(root).get("charliecloud", other, lambda scratch: scratch.mkdir())
    again = _bash(tmp_path, _entry_call(root, image_id=other) + " && echo used")
    assert again.returncode == 0 and "converted" not in again.stdout and "used" in again.stdout, again
    assert python_made.is_dir()
    assert len((root / "conversions.log").read_text().splitlines()) == 2


def test_an_eviction_skips_the_entry_a_running_job_holds(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    library = tmp_path / "lib.sh"
    library.write_text(template_text("node_cache.sh"))
    release = tmp_path / "release"
    os.mkfifo(release)
    script = (
        f"source {library}\n{MAKE_TREE}{_entry_call(root)} || exit 9\necho ready\nread -r line <{release}"
    )
    cache = NodeCache(root, max_bytes=0)
    with subprocess.Popen(["bash", "-c", script], stdout=subprocess.PIPE, text=True) as held:
        assert held.stdout is not None
        try:
            assert held.stdout.readline().startswith("converted ")
            assert held.stdout.readline() == "ready\n"  # the task's shell holds the entry from here on
            assert cache.evict() == [], "evicted an entry a job holds"
            release.write_text("done\n")
            assert held.wait(30) == 0
        finally:
            held.kill()
    assert cache.evict() == [entry_path(root, "charliecloud", IMAGE_ID)]


def test_the_job_refuses_a_cache_others_can_write(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    (root / "charliecloud").mkdir(parents=True)
    (root / "charliecloud").chmod(0o777)
    refused = _bash(tmp_path, _entry_call(root))
    assert refused.returncode == 2
    assert "is writable by other users: refused" in refused.stderr
    assert not entry_path(root, "charliecloud", IMAGE_ID).exists()


def test_only_the_owner_of_a_shared_cache_converts(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    someone_else = os.geteuid() + 4242
    refused = _bash(tmp_path, _entry_call(root, owner=someone_else, shared=1))
    assert refused.returncode == 2, refused
    assert "not a directory" in refused.stderr or "belongs to uid" in refused.stderr
    shared = _bash(tmp_path, _entry_call(root, shared=1))
    assert shared.returncode == 0, shared.stderr
    assert oct((root / "charliecloud").stat().st_mode & 0o777) == "0o755"


def test_mount_points_never_leave_the_tree(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "up").symlink_to("/")
    outside = f"hepstack-escape-{os.getpid()}"
    refused = _bash(tmp_path, f"hepstack_mount_points {tree} /up/tmp/{outside}")
    assert refused.returncode == 2 and "leaves the image tree" in refused.stderr, refused
    assert not Path("/tmp", outside).exists()
    with pytest.raises(HepstackError, match="leaves the image tree"):  # the same rule as hepstack run's
        make_mount_point(tree, f"/up/tmp/{outside}")
    made = _bash(tmp_path, f"hepstack_mount_points {tree} /out/deep /work")
    assert made.returncode == 0 and (tree / "out" / "deep").is_dir() and (tree / "work").is_dir()


def test_the_job_writes_the_image_environment_as_hepstack_does(tmp_path: Path) -> None:
    environment = ["PATH=/usr/bin:/bin", 'QUOTE=it\'s "7" $HOME', "EMPTY="]
    ours, theirs = tmp_path / "python", tmp_path / "job"
    ours.mkdir()
    theirs.mkdir()
    write_runtime_metadata(ours, environment)
    (tmp_path / "env").write_text("".join(f"{line}\n" for line in environment))
    done = _bash(tmp_path, f"hepstack_image_metadata {theirs} {tmp_path / 'env'}")
    assert done.returncode == 0, done.stderr
    for name in ("ch/environment", *(f".singularity.d/actions/{a}" for a in ("exec", "run", "shell")),
                 ".singularity.d/runscript"):  # fmt: skip
        assert (theirs / name).read_bytes() == (ours / name).read_bytes(), name
        assert (theirs / name).stat().st_mode == (ours / name).stat().st_mode, name
    assert (theirs / "singularity").readlink() == (ours / "singularity").readlink()
    sourced = [
        subprocess.run(
            ["env", "-i", "sh", "-c", f". {tree}/.singularity.d/env/90-environment.sh; env"],
            capture_output=True, text=True, check=True,
        ).stdout.splitlines()
        for tree in (ours, theirs)
    ]  # fmt: skip
    assert sorted(sourced[0]) == sorted(sourced[1])
    assert 'QUOTE=it\'s "7" $HOME' in sourced[1]


def test_the_job_refuses_an_image_whose_ch_is_a_symlink(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    victim = tmp_path / "victim"
    victim.mkdir()
    (tree / "ch").symlink_to(victim)
    (tmp_path / "env").write_text("A=1\n")
    refused = _bash(tmp_path, f"hepstack_image_metadata {tree} {tmp_path / 'env'}")
    assert refused.returncode == 2 and "/ch as a symlink or file" in refused.stderr, refused
    assert list(victim.iterdir()) == []


def test_a_failed_conversion_leaves_nothing_and_says_so(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    failing = 'half_tree() { mkdir -- "$1" && echo part >"$1/file" && return 7; }\n'
    entry = entry_path(root, "charliecloud", IMAGE_ID)
    failed = _bash(
        tmp_path,
        f"{failing}hepstack_cache_entry charliecloud {entry} localhost/x:1 {os.geteuid()} 0 '' half_tree",
    )
    assert failed.returncode == 7
    assert "converting localhost/x:1 failed (exit 7)" in failed.stderr
    assert sorted(p.name for p in entry.parent.iterdir()) == [
        f"{entry.name}.build.lock",
        f"{entry.name}.use.lock",
    ]
    assert not (root / "conversions.log").exists()
    again = _bash(tmp_path, _entry_call(root))  # the next task converts: nothing half-made is in the way
    assert again.returncode == 0 and (entry / "file").read_text() == "made\n"


def test_a_job_evicts_down_to_the_bound_and_skips_what_is_in_use(tmp_path: Path) -> None:
    """HEPSTACK_CACHE_MAX at submit time: after its conversion the job removes least-recently-used entries
    that no task or run holds, as hepstack's own eviction does."""
    root = tmp_path / "cache"
    ids = [f"sha256:{digit * 64}" for digit in "123"]

    def big(scratch: Path) -> None:
        scratch.mkdir()
        (scratch / "blob").write_bytes(b"x" * 100_000)

    cache = NodeCache(root)
    for image_id in ids:
        cache.get("charliecloud", image_id, big)
    cache.release()
    for age, image_id in enumerate(ids):  # 1 is the oldest use, 3 the newest
        os.utime(f"{entry_path(root, 'charliecloud', image_id)}.meta", (1000 + age, 1000 + age))
    holder = NodeCache(root)
    holder.get("charliecloud", ids[0], _never)  # in use (this process holds it shared), though oldest
    try:
        done = _bash(tmp_path, _entry_call(root, max_bytes="250000"))
    finally:
        holder.release()
    assert done.returncode == 0, done.stderr
    left = sorted(entry.image_id for entry in NodeCache(root).entries())
    assert left == sorted([ids[0][7:], ids[2][7:], IMAGE_ID[7:]]), left  # 2 went: oldest not in use
    assert not [p for p in (root / "charliecloud").iterdir() if p.name.startswith(".")]
    assert NodeCache(root).total_bytes() <= 250_000 and "over HEPSTACK_CACHE_MAX" not in done.stderr
    tight = _bash(tmp_path, _entry_call(root, image_id=f"sha256:{'4' * 64}", max_bytes="1"))
    assert (
        tight.returncode == 0
        and "over HEPSTACK_CACHE_MAX (1); the rest is in use or just made" in tight.stderr
    )
    assert [entry.image_id for entry in NodeCache(root).entries()] == ["4" * 64]  # nothing held any more
