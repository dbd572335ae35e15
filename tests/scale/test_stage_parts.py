"""The parts of `hepstack stage` that need no scheduler: the tree checksum and the job's report line."""

from __future__ import annotations

import json
from pathlib import Path

from hepstack.scale.stage import REPORT_PREFIX, report_of, tree_checksum


def _tree(root: Path) -> Path:
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "bin" / "tool").write_bytes(b"#!/bin/sh\necho hi\n")
    (root / "etc").mkdir()
    (root / "etc" / "os-release").write_text("ID=debian\n")
    (root / "bin").symlink_to("usr/bin")
    return root


def test_checksum_follows_content_and_links_not_mount_points(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "tree")
    first = tree_checksum(tree)
    (tree / "tmp" / "scale" / "runs").mkdir(parents=True)  # a bind's mount point, made before a run
    assert tree_checksum(tree) == first
    (tree / "etc" / "os-release").write_text("ID=debiam\n")  # one byte of one file
    assert tree_checksum(tree) != first
    (tree / "etc" / "os-release").write_text("ID=debian\n")
    assert tree_checksum(tree) == first
    (tree / "bin").unlink()
    (tree / "bin").symlink_to("usr/sbin")
    assert tree_checksum(tree) != first


def test_report_is_the_last_prefixed_line(tmp_path: Path) -> None:
    log = tmp_path / "1.log"
    log.write_text("hepstack: copying ...\n" + REPORT_PREFIX + json.dumps({"action": "converted"}) + "\n")
    assert report_of(log) == {"action": "converted"}
    log.write_text("ch-run: error\n")
    assert report_of(log) is None
    assert report_of(tmp_path / "missing.log") is None
