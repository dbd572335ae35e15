"""The catalog: every image hepstack built, in a SQLite file.

Stdlib ``sqlite3``, not SQLAlchemy (DESIGN decision 1 deviates here, measured): importing SQLAlchemy
costs ~270 ms, over a quarter of the 1 s budget of a fully cached build, and it would sit on every
``hepstack run STACK/LAYER`` too. The catalog is per user; shared databases are the pipeline's.

>>> catalog = Catalog(Path("/tmp/catalog.sqlite"))                            # doctest: +SKIP
>>> catalog.newest("lat", "release").reference                                # doctest: +SKIP
'localhost/lat/release:3f2a9c0d1e4b'
"""

from __future__ import annotations

import builtins
import os
import sqlite3
from dataclasses import astuple, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

from hepstack import private
from hepstack.errors import HepstackError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    stack TEXT NOT NULL, layer TEXT NOT NULL, release TEXT NOT NULL, key TEXT NOT NULL,
    reference TEXT NOT NULL, image_id TEXT NOT NULL, size INTEGER NOT NULL, engine TEXT NOT NULL,
    built_at TEXT NOT NULL, seconds REAL NOT NULL, spec_path TEXT NOT NULL,
    origin TEXT NOT NULL DEFAULT 'built', repository TEXT NOT NULL DEFAULT '',
    digest TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS images_stack_layer ON images (stack, layer, engine);
CREATE TABLE IF NOT EXISTS pushes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    stack TEXT NOT NULL, layer TEXT NOT NULL, release TEXT NOT NULL, key TEXT NOT NULL,
    image_id TEXT NOT NULL, size INTEGER NOT NULL, repository TEXT NOT NULL, tags TEXT NOT NULL,
    digest TEXT NOT NULL, pushed_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pushes_release ON pushes (stack, release);
CREATE TABLE IF NOT EXISTS sboms (
    image_id TEXT PRIMARY KEY, stack TEXT NOT NULL, layer TEXT NOT NULL, release TEXT NOT NULL,
    document TEXT NOT NULL
);
"""


#: Columns added after the first release, for catalogs made before them (``ALTER TABLE ... ADD COLUMN``).
_ADDED_COLUMNS = {
    "origin": "TEXT NOT NULL DEFAULT 'built'",
    "repository": "TEXT NOT NULL DEFAULT ''",
    "digest": "TEXT NOT NULL DEFAULT ''",
}

#: Where a catalog entry came from: built here, pulled from a registry, loaded from an archive.
ORIGINS = ("built", "pulled", "loaded")


@dataclass(frozen=True)
class ImageRecord:
    """One image of a stack layer in a local engine store.

    ``origin`` says how it got there; a ``pulled`` image also names the registry ``repository`` and the
    manifest ``digest`` it came from, so a site whose nodes pull from that registry can be given
    ``repository@digest``. ``spec_path`` is empty for images that did not come from a spec on this host.
    """

    stack: str
    layer: str
    release: str
    key: str
    reference: str
    image_id: str
    size: int
    engine: str
    built_at: datetime
    seconds: float
    spec_path: str
    origin: str = "built"
    repository: str = ""  # HOST[:PORT]/NAMESPACE/STACK/LAYER, for pulled images
    digest: str = ""  # the registry's manifest digest, for pulled images

    @property
    def registry_reference(self) -> str | None:
        """``repository@digest`` where this image is known to be in a registry, else None."""
        return f"{self.repository}@{self.digest}" if self.repository and self.digest else None


_COLUMNS = [f.name for f in fields(ImageRecord)]


@dataclass(frozen=True)
class PushRecord:
    """One layer image of a release as a registry holds it (never any credential)."""

    stack: str
    layer: str
    release: str
    key: str
    image_id: str
    size: int
    repository: str  # HOST[:PORT]/NAMESPACE/STACK/LAYER
    tags: tuple[str, ...]
    digest: str  # manifest digest in the registry
    pushed_at: datetime

    @property
    def pull_reference(self) -> str:
        return f"{self.repository}@{self.digest}"


_PUSH_COLUMNS = [f.name for f in fields(PushRecord)]


class Catalog:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            # private (docs/security.md): 0600 in a directory only the user can write; a catalog planted by
            # someone else would name the images and specs a run uses. SQLite gives its journal the
            # database's mode.
            setting = "HEPSTACK_CATALOG" if os.environ.get("HEPSTACK_CATALOG") else "HEPSTACK_DATA_DIR"
            private.private_dir(str(path.parent), setting, tighten=False)
            private.private_file(str(path), setting)
            self._connection = sqlite3.connect(path, timeout=30)
            self._connection.executescript(_SCHEMA)
            self._add_missing_columns()
        except (OSError, sqlite3.Error) as exc:
            raise HepstackError(
                f"cannot open the catalog {path}: {exc}", hint="set HEPSTACK_CATALOG to a writable file path"
            ) from None

    def _add_missing_columns(self) -> None:
        present = {row[1] for row in self._connection.execute("PRAGMA table_info(images)")}
        with self._connection:
            for column, declaration in _ADDED_COLUMNS.items():
                if column not in present:  # names and declarations are ours, never input
                    try:
                        self._connection.execute(f"ALTER TABLE images ADD COLUMN {column} {declaration}")
                    except sqlite3.OperationalError as exc:  # another process added it just now
                        if "duplicate column" not in str(exc):
                            raise

    def record(self, record: ImageRecord) -> None:
        values = list(astuple(record))
        values[_COLUMNS.index("built_at")] = record.built_at.isoformat()
        with self._connection:
            self._connection.execute(
                f"INSERT INTO images ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                values,
            )

    def record_push(self, push: PushRecord) -> None:
        values = list(astuple(push))
        values[_PUSH_COLUMNS.index("tags")] = ",".join(push.tags)
        values[_PUSH_COLUMNS.index("pushed_at")] = push.pushed_at.isoformat()
        with self._connection:
            self._connection.execute(
                f"INSERT INTO pushes ({', '.join(_PUSH_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_PUSH_COLUMNS))})",
                values,
            )

    def pushes(self, *, stack: str | None = None, release: str | None = None) -> list[PushRecord]:
        """Registry copies, newest first; one per (repository, digest)."""
        where, values = _where(stack=stack, release=release)
        query = f"SELECT {', '.join(_PUSH_COLUMNS)} FROM pushes{where} ORDER BY pushed_at DESC, id DESC"
        seen: set[tuple[str, str]] = set()
        records = []
        for row in self._connection.execute(query, values):
            record = _push_record(row)
            if (record.repository, record.digest) not in seen:
                seen.add((record.repository, record.digest))
                records.append(record)
        return records

    # --- SBOMs (docs/releases.md): one SPDX document per image id, kept with the build ----------------------

    def record_sbom(self, image_id: str, stack: str, layer: str, release: str, document: str) -> None:
        """Keep the SBOM (SPDX JSON text) of ``image_id``; a later one for the same image replaces it."""
        with self._connection:
            self._connection.execute(
                "INSERT OR REPLACE INTO sboms (image_id, stack, layer, release, document) "
                "VALUES (?, ?, ?, ?, ?)",
                (image_id, stack, layer, release, document),
            )

    def sbom(self, image_id: str) -> str | None:
        """The SBOM recorded for ``image_id``, or None."""
        row = self._connection.execute(
            "SELECT document FROM sboms WHERE image_id = ?", (image_id,)
        ).fetchone()
        return str(row[0]) if row else None

    def registry_copy(self, stack: str, layer: str, key: str) -> str | None:
        """``repository@digest`` of this exact layer build (same key) in a registry: the newest push of
        it, else the registry it was pulled from. None when no registry is known to hold it."""
        for push in self.pushes(stack=stack):
            if push.layer == layer and push.key == key and push.digest:
                return push.pull_reference
        for record in self.list(stack=stack, layer=layer):
            if record.key == key and record.registry_reference:
                return record.registry_reference
        return None

    def release_images(self, stack: str, release: str, engine: str | None = None) -> list[ImageRecord]:
        """The newest build of each layer of ``release`` (what that release is made of)."""
        newest: dict[str, ImageRecord] = {}
        for record in self.list(stack=stack, release=release, engine=engine):
            newest.setdefault(record.layer, record)
        return list(newest.values())

    def recorded_keys(self, stack: str, engine: str) -> set[str]:
        """Layer keys of ``stack`` already recorded for ``engine``."""
        rows = self._connection.execute(
            "SELECT DISTINCT key FROM images WHERE stack = ? AND engine = ?", (stack, engine)
        )
        return {row[0] for row in rows}

    def newest(self, stack: str, layer: str, engine: str | None = None) -> ImageRecord | None:
        rows = self.list(stack=stack, layer=layer, engine=engine, limit=1)
        return rows[0] if rows else None

    def list(
        self,
        *,
        stack: str | None = None,
        layer: str | None = None,
        engine: str | None = None,
        release: str | None = None,
        limit: int | None = None,
    ) -> list[ImageRecord]:
        where, values = _where(stack=stack, layer=layer, engine=engine, release=release)
        query = f"SELECT {', '.join(_COLUMNS)} FROM images{where} ORDER BY built_at DESC, id DESC"
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        return [_record(row) for row in self._connection.execute(query, values)]

    def rows(
        self, *, stack: str | None = None, engine: str | None = None
    ) -> builtins.list[tuple[int, ImageRecord]]:
        """(row id, record) of every build, newest first: what `hepstack prune` chooses from."""
        where, values = _where(stack=stack, engine=engine)
        query = f"SELECT id, {', '.join(_COLUMNS)} FROM images{where} ORDER BY built_at DESC, id DESC"
        return [(int(row[0]), _record(row[1:])) for row in self._connection.execute(query, values)]

    def forget(self, row_ids: builtins.list[int]) -> None:
        """Remove these build rows (pushes and SBOMs stay: they record what a registry holds)."""
        with self._connection:
            self._connection.executemany("DELETE FROM images WHERE id = ?", [(i,) for i in row_ids])


def _push_record(row: tuple[object, ...]) -> PushRecord:
    values = dict(zip(_PUSH_COLUMNS, row, strict=True))
    values["tags"] = tuple(str(values["tags"]).split(",")) if values["tags"] else ()
    values["pushed_at"] = datetime.fromisoformat(str(values["pushed_at"]))
    return PushRecord(**values)  # type: ignore[arg-type]


def _where(**filters: str | None) -> tuple[str, list[str]]:
    """`` WHERE a = ? AND b = ?`` for the filters that are set (column names are ours, never input)."""
    used = {column: value for column, value in filters.items() if value is not None}
    if not used:
        return "", []
    return " WHERE " + " AND ".join(f"{column} = ?" for column in used), list(used.values())


def now() -> datetime:
    return datetime.now(UTC)


def _record(row: tuple[object, ...]) -> ImageRecord:
    values = dict(zip(_COLUMNS, row, strict=True))
    values["built_at"] = datetime.fromisoformat(str(values["built_at"]))
    return ImageRecord(**values)  # type: ignore[arg-type]


__all__ = ["ORIGINS", "Catalog", "ImageRecord", "PushRecord", "catalog_path", "now"]
