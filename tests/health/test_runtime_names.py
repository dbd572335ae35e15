"""Behaviour that depends on the runtime lives in ``hepstack.runtimes``: no module outside it switches on a
runtime's name (``runtime.name == "charliecloud"``); it asks the runtime (``runtime.read_only_binds``).

Names as data stay allowed: the inventory's labels of recorded runs (``native (bookworm)``), the
engine a pipeline pins an image in, the conversion kinds of the node cache.
"""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "hepstack"
RUNTIMES = "podman|docker|charliecloud|apptainer|shifter|native"
SWITCH = re.compile(
    rf"runtime(?:\.name)?\s*(?:==|!=)\s*\"(?:{RUNTIMES})\"|runtime(?:\.name)?\s+(?:not\s+)?in\s+\(\"(?:{RUNTIMES})\""
)


def switches(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if SWITCH.search(line)]


# Where a runtime's name is data, not behaviour: the labels of recorded runs ("native (Debian 12)").
LABELS = {"inventory/runs.py"}


def test_no_module_outside_runtimes_switches_on_a_runtime_name() -> None:
    found = {
        name: hits
        for path in sorted(SRC.rglob("*.py"))
        if "runtimes" not in path.relative_to(SRC).parts
        and (name := path.relative_to(SRC).as_posix()) not in LABELS
        and (hits := switches(path.read_text(encoding="utf-8")))
    }
    assert found == {}


def test_the_check_sees_a_switch() -> None:
    assert switches('    if setup.runtime.name == "charliecloud":\n    x = 1') == [
        'if setup.runtime.name == "charliecloud":'
    ]
    assert switches('if runtime in ("podman", "docker"):') == ['if runtime in ("podman", "docker"):']
