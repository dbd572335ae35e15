"""Imports stay minimal per step; shipped configurations resolve by name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import run_cli

PROBE = """
import sys
from lat.framework.cli import main
code = main(sys.argv[1:])
top = sorted({m.split('.')[0] for m in sys.modules})
lat = sorted(m for m in sys.modules if m.startswith('lat.'))
print('TOP', ' '.join(top))
print('LAT', ' '.join(lat))
raise SystemExit(code)
"""


def _modules(args: list[str], cwd: Path) -> tuple[set[str], set[str]]:
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if line.startswith(("TOP", "LAT")))
    return set(lines["TOP"].split()), set(lines["LAT"].split())


def test_step_imports(tmp_path: Path) -> None:
    result = run_cli(["simulate", "-n", "20", "-q", "-o", "raw=raw.ldf", "-o", "truth=mc.root"], tmp_path)
    assert result.returncode == 0, result.stderr
    top, lat = _modules(["digi", "-q", "-s", "raw.ldf", "-o", "digi.root"], tmp_path)
    assert "astropy" not in top and "uproot" in top
    assert not any(m.startswith("lat.sim") for m in lat)
    top, lat = _modules(["recon", "-q", "-s", "digi.root", "-o", "recon.root"], tmp_path)
    assert "astropy" not in top and not any(m.startswith("lat.sim") for m in lat)
    top, lat = _modules(["merit", "-q", "-s", "recon.root", "-o", "merit.root"], tmp_path)
    assert "astropy" not in top
    top, lat = _modules(["makeFT1", "-q", "-s", "merit.root", "-o", "ft1.fits"], tmp_path)
    assert "astropy" in top and not any(m.startswith("lat.sim") for m in lat)


def test_framework_core_imports_only_numpy_yaml_stdlib() -> None:
    root = Path(__file__).resolve().parent.parent
    code = (
        "import sys, lat.framework, lat.framework.cli, lat.framework.loop, lat.framework.timing;"
        "import lat.geometry;"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": str(root)}
    )
    top = set(result.stdout.split())
    assert {"numpy", "yaml", "lat"} <= top
    assert not top & {"uproot", "awkward", "astropy", "cramjam", "fsspec"}


def test_shipped_configs_resolve(capsys) -> None:  # type: ignore[no-untyped-def]
    from lat.framework.cli import config_main, shipped_configs

    assert set(shipped_configs()) == {"simulate", "digi", "recon", "merit", "makeFT1", "artstudy"}
    assert config_main(["digi"]) == 0
    assert capsys.readouterr().out.strip().endswith("lat/configs/digi.yaml")
