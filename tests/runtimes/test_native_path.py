"""Natively the command comes from the host's PATH: one that is not there is an `error:` with a hint
naming what to put on PATH (not env(1)'s bare "No such file or directory"), on the full path of
`hepstack run` and on the remembered fast path alike; what is on PATH, by --env or a profile, runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import hepstack

IMAGE = "localhost/demo/release:0123456789ab"  # an engine reference: native runs it without a catalog entry
NATIVE = Path(os.environ.get("LAT_NATIVE", "/opt/lat-native")) / "bin"


def _tool(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    tool = directory / name
    tool.write_text('#!/bin/sh\necho "tool $1"\n')
    tool.chmod(0o755)
    return tool


def test_a_command_missing_from_path_is_an_error_with_a_hint(tmp_path: Path) -> None:
    for attempt in ("resolves", "remembered"):  # the second run execs the remembered plan
        result = hepstack("run", "--runtime", "native", IMAGE, "--", "no-such-tool-xyz", "a", check=False)
        assert result.returncode == 127, (attempt, result.stderr)
        lines = result.stderr.splitlines()
        assert lines[0].startswith("error: no-such-tool-xyz is not on PATH natively (PATH="), lines
        assert lines[1] == (
            "hint: put the bin directory of the native install of the release first on PATH: "
            "--env PATH=DIR:/usr/local/bin:/usr/bin:/bin (docs/running.md, Native runs)"
        )


def test_what_is_on_path_runs(tmp_path: Path) -> None:
    tool = _tool(tmp_path / "bin", "lat-tool")
    path = f"PATH={tool.parent}:/usr/local/bin:/usr/bin:/bin"
    result = hepstack(
        "run", "--runtime", "native", "--env", path, IMAGE, "--", "lat-tool", "x y", check=False
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "tool x y\n", "")
    by_path = hepstack("run", "--runtime", "native", IMAGE, "--", str(tool), "z", check=False)
    assert (by_path.returncode, by_path.stdout) == (0, "tool z\n")
    exit_code = hepstack("run", "--runtime", "native", IMAGE, "--", "sh", "-c", "exit 3", check=False)
    assert exit_code.returncode == 3 and exit_code.stderr == ""  # the command's own status, untouched


def test_the_documented_native_set_up_runs_lat_config() -> None:
    if not (NATIVE / "lat-config").exists():
        pytest.skip("the example's native install is missing (examples/lat/install-native.sh)")
    path = f"PATH={NATIVE}:/usr/local/bin:/usr/bin:/bin"  # as docs/running.md says
    result = hepstack(
        "run", "--runtime", "native", "--env", path, IMAGE, "--", "lat-config", "digi", check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("lat/configs/digi.yaml")
    missing = hepstack("run", "--runtime", "native", IMAGE, "--", "lat-config", check=False)
    assert missing.returncode == 127 and missing.stderr.startswith("error: lat-config is not on PATH")
