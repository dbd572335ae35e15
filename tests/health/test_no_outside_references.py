"""Everything a reader needs is in the repository: no file points at notes outside it (``../shared/…``,
``host.md``, ``DESIGN.md``) or at an issue tracker's numbers (``issue 11 §3``, ``acceptance 5``): the
reasons live in ``docs/``."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE = re.compile(r"\.\./shared/|(?<![\w-])host\.md|DESIGN\.md|STYLE\.md|(?i:\bissue \d|\bacceptance \d)")
THIS = Path(__file__).relative_to(ROOT).as_posix()


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False)
    if listed.returncode != 0:  # not a git checkout (an sdist): every file under the root
        return [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*") if p.is_file()]
    return listed.stdout.splitlines()


def outside_references(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if OUTSIDE.search(line)]


def test_no_file_points_outside_the_repository() -> None:
    found = {}
    for name in tracked_files():
        if name == THIS or not (ROOT / name).is_file():
            continue
        try:
            text = (ROOT / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary files (screenshots, fixtures)
        if hits := outside_references(text):
            found[name] = hits
    assert found == {}


def test_the_check_sees_a_reference() -> None:
    assert outside_references("see ../shared/notes/host.md\nok docs/host-facts.md\n(issue 11 §3)") == [
        "see ../shared/notes/host.md",
        "(issue 11 §3)",
    ]
