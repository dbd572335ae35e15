"""A toy stack with two packages, a catalog with its layers built, and outputs made natively and with
podman (stamped), for inventory and evidence tests. No engine is called: the catalog records carry the
keys the build plan gives, as `hepstack build` would have recorded them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hepstack.catalog import Catalog, ImageRecord
from hepstack.context import Context

STACK = """\
stack: toy
release: "0.1"
layers:
  base:
    bootstrap: {suite: bookworm}
    packages: [python3]
  app:
    from: base
    copy: {pkg/: /opt/pkg/}
  tools:
    from: base
    copy: {tools/: /opt/tools/}
"""

INVENTORY = """\
stack: stack.yaml
packages:
  reco:
    description: reconstruction
    files: [pkg/]
    outputs: ["reco_*.dat"]
    dependencies: [numpy]
    upgradable: "yes"
    links: {code: pkg/}
    comments: the one with outputs
  helper:
    description: a tool with no evidence
    files: [tools/]
"""


@dataclass
class Toy:
    root: Path
    context: Context
    inventory: Path

    def build(self, layer: str, *, ago: timedelta = timedelta(0)) -> ImageRecord:
        """Record a build of ``layer`` with the key the spec gives it now, ``ago`` in the past."""
        from hepstack.build.plan import make_plan
        from hepstack.spec import load_stack

        planned = {p.name: p for p in make_plan(load_stack(self.root / "stack.yaml"))}[layer]
        record = ImageRecord(
            stack="toy",
            layer=layer,
            release="0.1",
            key=planned.key,
            reference=f"localhost/toy/{layer}:{planned.short_key}",
            image_id="sha256:" + planned.key[::-1],
            size=1000,
            engine="podman",
            built_at=datetime.now(UTC) - ago,
            seconds=1.0,
            spec_path=str(self.root / "stack.yaml"),
        )
        Catalog(self.context.catalog_path).record(record)
        return record

    def outputs(self, name: str, content: bytes = b"reco data\n") -> Path:
        """A run directory ``name`` (stamped by the tests) with its product directory ``reco/``, which
        verify compares (as the example's run-l1.sh stamps its work directory)."""
        directory = self.root / name / "reco"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "reco_1.dat").write_bytes(content)
        return directory.parent


@pytest.fixture
def toy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Toy:
    root = tmp_path / "toy"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "reco.py").write_text("print('reco')\n")
    (root / "tools").mkdir()
    (root / "tools" / "helper.py").write_text("print('helper')\n")
    (root / "stack.yaml").write_text(STACK)
    (root / "inventory.yaml").write_text(INVENTORY)
    monkeypatch.setenv("HEPSTACK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HEPSTACK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HEPSTACK_STATE_DB", f"sqlite:///{tmp_path / 'state.sqlite'}")
    monkeypatch.delenv("HEPSTACK_CATALOG", raising=False)
    return Toy(root, Context.from_environment(), root / "inventory.yaml")
