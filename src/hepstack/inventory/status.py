"""What the inventory says about each package: the images that carry it, the facts of where it ran,
and the whole inventory (built by :mod:`hepstack.inventory.facts`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from hepstack.catalog import ImageRecord
from hepstack.inventory.evidence import Evidence
from hepstack.inventory.model import Package


@dataclass(frozen=True)
class ImageFact:
    """One image that carries a package: its layer's newest build and where it was pushed."""

    layer: str
    current_key: str
    record: ImageRecord | None
    registry: tuple[str, ...] = ()

    @property
    def up_to_date(self) -> bool:
        return self.record is not None and self.record.key == self.current_key


@dataclass(frozen=True)
class RunFact:
    """Where a package ran, what it proved, when, and the evidence that says so."""

    platform: str
    verdict: str  # equal | different | ran
    at: datetime
    evidence: str  # e12, or a pipeline instance address
    what: str
    image: str | None = None
    link: str | None = None  # the report or output file behind it
    stale: bool = False


@dataclass
class PackageStatus:
    name: str
    package: Package
    layers: list[str]  # the layers that copy its files
    carriers: list[str]  # those layers and their descendants
    build_platform: str
    images: list[ImageFact]
    last_change: datetime | None
    unbuilt_layers: list[str]
    runs: list[RunFact] = field(default_factory=list)  # newest first

    @property
    def platforms(self) -> dict[str, RunFact]:
        """The newest fact of each platform."""
        newest: dict[str, RunFact] = {}
        for fact in self.runs:
            newest.setdefault(fact.platform, fact)
        return dict(sorted(newest.items()))

    @property
    def container(self) -> list[ImageFact]:
        return [image for image in self.images if image.record is not None]

    @property
    def checked_at(self) -> datetime | None:
        return self.runs[0].at if self.runs else None


@dataclass
class Inventory:
    stack: str
    release: str
    path: Path
    generated_at: datetime
    packages: list[PackageStatus]
    evidence: dict[str, Evidence]  # label -> line, those the facts cite
