"""``stack.lock``: every layer's inputs resolved to exact versions, written next to the spec.

JSON with sorted keys and a trailing newline, so the same resolution writes the same bytes and a lock
reads well in a diff. Its sha256 (:func:`lock_hash`) labels every image built from it, and each layer's
entry is part of that layer's key (:func:`layer_lock_line`), so changing a pin rebuilds the layer and
its descendants and nothing else.

>>> lock = read_lock(Path("examples/lat/stack.lock"))                       # doctest: +SKIP
>>> lock.layers["io"].pip[0].name, lock.layers["io"].pip[0].version         # doctest: +SKIP
('awkward', '2.6.4')
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hepstack import private
from hepstack.errors import HepstackError
from hepstack.names import DEBIAN_ARCHITECTURE, DEBIAN_SUITE, IMAGE_REFERENCE

if TYPE_CHECKING:
    from hepstack.build.render import LockedInputs

LOCK_VERSION = 1
LOCK_NAME = "stack.lock"

# What a lock may hold: its values reach RUN lines (apt `name=version`, pip requirement files), mmdebstrap's
# argv and FROM lines, so a hand-edited or planted lock is checked like a spec (Debian policy 5.6.1, 5.6.12;
# PEP 508 names, PEP 440 versions loosely: letters, digits and .+!-_).
APT_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]*(?::[a-z0-9-]+)?\Z")
APT_VERSION = re.compile(r"^[0-9][A-Za-z0-9.+~:-]*\Z")
PIP_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?\Z")
PIP_VERSION = re.compile(r"^[A-Za-z0-9.+!_-]{1,64}\Z")
PIP_HASH = re.compile(r"^sha256:[0-9a-f]{64}\Z")
MIRROR = re.compile(r"^https?://[A-Za-z0-9.:\[\]-]+(?:/[A-Za-z0-9._~%+-]*)*\Z")
LOCAL_PIP = re.compile(r"^\.{0,2}/?[A-Za-z0-9._/-]+\Z")


@dataclass(frozen=True)
class Archive:
    """The Debian archive a layer's apt packages come from (one index: suite/main/binary-ARCH)."""

    mirror: str
    suite: str
    architecture: str = "amd64"


@dataclass(frozen=True)
class PipPin:
    """One Python distribution a layer installs: ``name==version`` and every file hash PyPI lists for
    it (pip picks the file for the image's platform; ``--require-hashes`` accepts any listed one)."""

    name: str
    version: str
    hashes: tuple[str, ...] = ()  # "sha256:<hex>"


@dataclass
class LayerLock:
    """What one layer was made of. ``apt`` maps dpkg's ``binary:Package`` to its version: for a
    bootstrap layer the whole root filesystem, for others what the layer added or changed."""

    apt: dict[str, str] = field(default_factory=dict)
    archive: Archive | None = None
    pip: list[PipPin] = field(default_factory=list)
    local_pip: list[str] = field(default_factory=list)  # ./pkg: installed from the spec's tree, --no-deps
    parent_digest: str | None = None  # external parent image: repository@sha256:...
    files: dict[str, str] = field(default_factory=dict)  # spec-relative path -> sha256 of what it copies

    def digest(self) -> str:
        return hashlib.sha256(_canonical(asdict(self)).encode()).hexdigest()


@dataclass
class Lock:
    stack: str
    release: str
    source_date_epoch: int
    revision: str | None = None  # git revision of the spec's repository when locked
    layers: dict[str, LayerLock] = field(default_factory=dict)

    def to_json(self) -> str:
        body = {"lock_version": LOCK_VERSION, **asdict(self)}
        return _canonical(body, indent=2) + "\n"


def layer_lock_line(name: str, entry: LayerLock, epoch: int) -> str:
    """The Containerfile comment that puts a layer's lock entry into its key (keys hash the text)."""
    return f"# hepstack lock: layer {name} {entry.digest()} epoch {epoch}"


def lock_path(spec_path: Path) -> Path:
    return spec_path.parent / LOCK_NAME


def lock_hash(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def write_lock(lock: Lock, path: Path) -> None:
    private.write_atomically(str(path), lock.to_json().encode(), mode=0o666)


def read_lock(path: Path) -> Lock:
    """Read a lock written by :func:`write_lock`; anything else is an error naming the file."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HepstackError(
            f"no lock file {path}", hint=f"make one with `hepstack lock {path.parent / 'stack.yaml'}`"
        ) from None
    except (OSError, ValueError) as exc:
        raise HepstackError(f"cannot read the lock file {path}: {exc}", hint=_RELOCK) from None
    try:
        lock = _from_json(body)
    except (KeyError, TypeError, ValueError, AttributeError, AssertionError) as exc:
        raise HepstackError(
            f"{path}: not a hepstack lock (version {LOCK_VERSION}): {exc}", hint=_RELOCK
        ) from None
    for layer, entry in lock.layers.items():
        problem = _problem(entry)
        if problem is not None:
            key, value = problem
            raise HepstackError(
                f"{path}: layers.{layer}.{key}: not a valid value (got {value[:80]!r})", hint=_RELOCK
            )
    return lock


_RELOCK = "re-create it with `hepstack lock SPEC`"


def _from_json(body: dict[str, object]) -> Lock:
    if body.get("lock_version") != LOCK_VERSION:
        raise ValueError(f"lock_version is {body.get('lock_version')!r}")
    layers: dict[str, LayerLock] = {}
    raw_layers = body["layers"]
    assert isinstance(raw_layers, dict)
    for name, raw in raw_layers.items():
        archive = raw.get("archive")
        layers[str(name)] = LayerLock(
            apt={str(k): str(v) for k, v in raw.get("apt", {}).items()},
            archive=Archive(**archive) if archive else None,
            pip=[PipPin(p["name"], p["version"], tuple(p.get("hashes", ()))) for p in raw.get("pip", [])],
            local_pip=[str(p) for p in raw.get("local_pip", [])],
            parent_digest=raw.get("parent_digest"),
            files={str(k): str(v) for k, v in raw.get("files", {}).items()},
        )
    epoch = body["source_date_epoch"]
    if not isinstance(epoch, int):
        raise ValueError("source_date_epoch is not an integer")
    revision = body.get("revision")
    return Lock(
        stack=str(body["stack"]),
        release=str(body["release"]),
        source_date_epoch=epoch,
        revision=str(revision) if revision is not None else None,
        layers=layers,
    )


def _problem(entry: LayerLock) -> tuple[str, str] | None:
    """The first value of ``entry`` that could not have come from a resolution: (key path, value)."""
    for name, version in entry.apt.items():
        if not APT_NAME.match(name):
            return "apt", name
        if not APT_VERSION.match(version):
            return f"apt.{name}", version
    if entry.archive is not None:
        archive = entry.archive
        for key, value, pattern in (
            ("mirror", archive.mirror, MIRROR),
            ("suite", archive.suite, DEBIAN_SUITE),
            ("architecture", archive.architecture, DEBIAN_ARCHITECTURE),
        ):
            if not pattern.match(value):
                return f"archive.{key}", value
    for pin in entry.pip:
        if not PIP_NAME.match(pin.name):
            return "pip.name", pin.name
        if not PIP_VERSION.match(pin.version):
            return f"pip.{pin.name}", pin.version
        for digest in pin.hashes:
            if not PIP_HASH.match(digest):
                return f"pip.{pin.name}.hashes", digest
    for local in entry.local_pip:
        if not LOCAL_PIP.match(local) or ".." in local.split("/"):
            return "local_pip", local
    if entry.parent_digest is not None and (
        "@" not in entry.parent_digest or not IMAGE_REFERENCE.match(entry.parent_digest)
    ):
        return "parent_digest", entry.parent_digest
    return None


def _canonical(value: object, indent: int | None = None) -> str:
    return json.dumps(value, sort_keys=True, indent=indent, ensure_ascii=False)


def locked_inputs(lock: Lock, stack: str) -> dict[str, LockedInputs]:
    """What a locked build renders for each layer (hepstack.build.plan takes this, not the lock).

    A lock made for another stack gives an empty mapping: the plan then names the first layer missing."""
    from hepstack.build.render import LockedInputs

    if lock.stack != stack:
        return {}
    return {
        name: LockedInputs(
            header=layer_lock_line(name, entry, lock.source_date_epoch),
            epoch=lock.source_date_epoch,
            entry_digest=entry.digest()[:16],
            apt=tuple(f"{package}={version}" for package, version in sorted(entry.apt.items())),
            pip_requirements="".join(
                f"{pin.name}=={pin.version}" + "".join(f" \\\n    --hash={h}" for h in pin.hashes) + "\n"
                for pin in entry.pip
            ),
            local_pip=tuple(entry.local_pip),
            parent_digest=entry.parent_digest,
        )
        for name, entry in lock.layers.items()
    }
