"""Memory of `hepstack verify` does not grow with the size of the files for byte and header comparisons.

The scenarios are benchmarks/verify_memory.py's (which measures two 1 GB files against the 200 MB target);
here each runs with two sparse 32 MB files and with two sparse 256 MB files, and the child's peak RSS may
differ by at most SLACK_MB. Before the fix, two 'SIMPLE  =' files took 3.2 times their size.
Not a timed test: only exit codes and memory are asserted.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
SMALL, LARGE = 32 * 1024 * 1024, 256 * 1024 * 1024
SLACK_MB = 32  # interpreter noise; holding even one file would add 224 MB


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_memory", REPO / "benchmarks" / "verify_memory.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


BENCHMARK = _benchmark()
NAMES = [
    "'SIMPLE  = T' + zeros (issue)",
    "'root' + zeros (issue)",
    "bytes, last 4 KB differ",
    "FITS + trailing bytes",
    "FITS image, a pixel differs",
    "ROOT + trailing bytes",
]


@pytest.mark.parametrize("name", NAMES)
def test_peak_memory_does_not_grow_with_file_size(tmp_path: Path, name: str) -> None:
    [scenario] = [s for s in BENCHMARK.scenarios(tmp_path) if s.name == name]

    small = BENCHMARK.run(scenario, tmp_path, SMALL)
    large = BENCHMARK.run(scenario, tmp_path, LARGE)

    assert (small.exit_code, large.exit_code) == (scenario.exit_code, scenario.exit_code), large.stderr
    assert "Traceback" not in small.stderr + large.stderr
    assert large.peak_rss_mb - small.peak_rss_mb < SLACK_MB, (small, large)
