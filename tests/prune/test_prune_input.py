"""`hepstack prune`'s own input: a bad --keep or --older-than is an error with a hint, nothing removed."""

from __future__ import annotations

from pathlib import Path

import pytest

from hepstack.errors import HepstackError
from hepstack.prune.jobs import parse_age
from tests.conftest import hepstack


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0s", 0), ("90m", 5400), ("12h", 43200), ("2d", 172800), ("1w", 604800), ("30", 30), ("1.5h", 5400)],
)
def test_ages(text: str, seconds: float) -> None:
    assert parse_age(text) == seconds


@pytest.mark.parametrize("text", ["", "3x", "-1d", "1 day", "1e3s", "d"])
def test_bad_ages(text: str) -> None:
    with pytest.raises(HepstackError, match="bad age"):
        parse_age(text)


def test_bad_options_are_errors_with_hints(tmp_path: Path) -> None:
    env = {"HEPSTACK_DATA_DIR": str(tmp_path / "data"), "HEPSTACK_CACHE_DIR": str(tmp_path / "cache")}
    keep = hepstack("prune", "--keep", "0", "--dry-run", env=env, check=False)
    assert keep.returncode == 2
    assert keep.stderr.splitlines() == [
        "error: --keep 0 would remove the newest build",
        "hint: keep at least 1",
    ]
    age = hepstack("prune", "--older-than", "3 weeks", env=env, check=False)
    assert age.returncode == 2 and age.stderr.startswith("error: bad age '3 weeks'\nhint: write e.g. 30d")
    empty = hepstack("prune", "--dry-run", env=env)
    assert empty.stdout == "dry run: 0 to remove, 0 B (0 bytes) listed\n"
