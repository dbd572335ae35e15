"""What changed between two releases: packages added, removed and changed per layer, release files,
sizes. The table a release manager reads before tagging.

Either side may be a lock (``stack.lock``), an SBOM (SPDX JSON written by ``hepstack sbom``) or a built
image (its SBOM is made on the spot). Locks compare layer by layer; SBOMs and images as one image each.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hepstack.errors import HepstackError
from hepstack.release.lockfile import Lock, read_lock


@dataclass
class Snapshot:
    """One layer (or image) as the diff sees it: name -> version or file -> sha256."""

    apt: dict[str, str] = field(default_factory=dict)
    pip: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    size: int | None = None


@dataclass(frozen=True)
class Change:
    layer: str
    kind: str  # apt | pip | file | layer | size
    name: str
    before: str  # "" when added
    after: str  # "" when removed

    @property
    def verb(self) -> str:
        if not self.before:
            return "added"
        if not self.after:
            return "removed"
        return "changed"


def snapshots_of_lock(lock: Lock) -> dict[str, Snapshot]:
    return {
        name: Snapshot(
            apt=dict(entry.apt),
            pip={pin.name: pin.version for pin in entry.pip},
            files=dict(entry.files),
        )
        for name, entry in lock.layers.items()
    }


def snapshot_of_sbom(document: dict[str, Any]) -> Snapshot:
    snapshot = Snapshot()
    for package in document.get("packages", []):
        ident = str(package.get("SPDXID", ""))
        if ident.startswith("SPDXRef-deb-"):
            snapshot.apt[package["name"]] = package.get("versionInfo", "")
        elif ident.startswith("SPDXRef-pypi-"):
            snapshot.pip[package["name"].lower()] = package.get("versionInfo", "")
        elif ident == "SPDXRef-Image":
            for note in package.get("annotations", []):
                words = str(note.get("comment", "")).split()
                if words[:2] == ["image", "size"] and words[2].isdigit():
                    snapshot.size = int(words[2])
    for file in document.get("files", []):
        sha256 = next((c["checksumValue"] for c in file["checksums"] if c["algorithm"] == "SHA256"), "")
        snapshot.files[file["fileName"]] = sha256
    return snapshot


def load_side(path: Path) -> dict[str, Snapshot]:
    """A lock or an SBOM file, by its content."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HepstackError(
            f"cannot read {path}: {exc}", hint="give two locks, two SBOMs or two images"
        ) from None
    if isinstance(body, dict) and "lock_version" in body:
        return snapshots_of_lock(read_lock(path))
    if isinstance(body, dict) and str(body.get("spdxVersion", "")).startswith("SPDX-"):
        return {"image": snapshot_of_sbom(body)}
    raise HepstackError(
        f"{path} is neither a hepstack lock nor an SPDX SBOM", hint="give two locks or two SBOMs"
    )


def compare(before: dict[str, Snapshot], after: dict[str, Snapshot]) -> list[Change]:
    changes: list[Change] = []
    for layer in sorted(before.keys() | after.keys(), key=lambda n: (n not in before, n)):
        if layer not in after:
            changes.append(Change(layer, "layer", layer, "present", ""))
            continue
        if layer not in before:
            changes.append(Change(layer, "layer", layer, "", "present"))
        old, new = before.get(layer, Snapshot()), after[layer]
        for kind in ("apt", "pip", "files"):
            changes += _compare_maps(layer, kind.rstrip("s"), getattr(old, kind), getattr(new, kind))
        if old.size is not None and new.size is not None and old.size != new.size:
            changes.append(Change(layer, "size", "image", str(old.size), str(new.size)))
    return changes


def _compare_maps(layer: str, kind: str, old: dict[str, str], new: dict[str, str]) -> list[Change]:
    return [
        Change(layer, kind, name, old.get(name, ""), new.get(name, ""))
        for name in sorted(old.keys() | new.keys())
        if old.get(name) != new.get(name)
    ]


def size_delta(change: Change) -> str:
    delta = int(change.after) - int(change.before)
    return f"{delta:+d} bytes"
