"""Bench test helpers: art-schema timing databases written with plain SQL; the CLI in a subprocess."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

HERE = Path(__file__).parent
WORKLOAD = HERE / "workload.py"

# The DDL art's TimeTracker service runs (cetlib sqlite Ntuple: uint32 -> integer, string -> text,
# double -> numeric), written here by hand so the reader is tested against art's schema, not our writer.
ART_SCHEMA = """
CREATE TABLE TimeSource(Run integer,SubRun integer,Event integer,Source text,Time numeric);
CREATE TABLE TimeEvent(Run integer,SubRun integer,Event integer,Time numeric);
CREATE TABLE TimeModule(Run integer,SubRun integer,Event integer,Path text,ModuleLabel text,ModuleType text,
                        Time numeric);
"""

#: (path, label, type, seconds of event 1); event k takes seconds * (1 + k/100) * scale
ART_MODULES: list[tuple[str, str, str, float]] = [
    ("reco", "hits", "HitFinder", 0.020),
    ("reco", "tracks", "TrackFitter", 0.050),
    ("ana", "tracks", "TrackFitter", 0.030),  # the same label on another path: its own row
    ("end_path", "out", "RootOutput(write)", 0.004),
    ("end_path", "dump", "EventDumper", 0.001),
]


def write_art_db(
    path: Path,
    *,
    events: int = 40,
    scale: float = 1.0,
    modules: Sequence[tuple[str, str, str, float]] = ART_MODULES,
    subrun: int = 0,
) -> Path:
    """A TimeTracker database as art writes it, with a plain SQL script (no hepstack code involved)."""
    rows = []
    for event in range(1, events + 1):
        factor = (1 + event / 100) * scale
        rows.append(f"INSERT INTO TimeSource VALUES (1,{subrun},{event},'RootInput',{0.002 * factor!r});")
        workers = sum(s for _p, _l, t, s in modules if not t.endswith("(write)"))
        rows.append(f"INSERT INTO TimeEvent VALUES (1,{subrun},{event},{workers * factor!r});")
        for module_path, label, module_type, seconds in modules:
            rows.append(
                f"INSERT INTO TimeModule VALUES (1,{subrun},{event},"
                f"'{module_path}','{label}','{module_type}',{seconds * factor!r});"
            )
    with closing(sqlite3.connect(path)) as connection:
        connection.executescript(ART_SCHEMA + "\n".join(rows))
    return path


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``hepstack bench ...`` through the real entry point (``hepstack.cli:main``) in a subprocess.

    Registers only the bench command, so this works before and after the lead adds it to ``_register()``.
    """
    code = "import hepstack.cli as cli, hepstack.cli.bench\ncli._register = lambda: None\ncli.main()\n"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
    )


def workload_command(*extra: str) -> list[str]:
    """The toy workload's command line as a study file writes it (placeholders filled in by hepstack)."""
    return [
        sys.executable,
        str(WORKLOAD),
        "--events",
        "{events}",
        "--seed",
        "{seed}",
        "--output",
        "{output}",
        "--timing-db",
        "{timing_db}",
        *extra,
    ]
