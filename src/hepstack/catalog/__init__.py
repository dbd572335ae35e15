"""The catalog: every image hepstack built, in SQLite (or any SQLAlchemy URL).

>>> catalog = Catalog("sqlite:///:memory:")                                  # doctest: +SKIP
>>> catalog.newest("lat", "release").reference                              # doctest: +SKIP
'localhost/lat/release:3f2a9c0d1e4b'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hepstack.errors import HepstackError


@dataclass(frozen=True)
class ImageRecord:
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


class Catalog:
    def __init__(self, url: str) -> None:
        import sqlalchemy as sa

        self.url = url
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self._engine = sa.create_engine(url)
        self._table = _images_table(sa.MetaData())
        try:
            self._table.metadata.create_all(self._engine)
        except sa.exc.SQLAlchemyError as exc:
            raise HepstackError(
                f"cannot open the catalog at {url}: {exc.__class__.__name__}: {exc}",
                hint="set HEPSTACK_CATALOG to a writable path or database URL",
            ) from None

    def record(self, record: ImageRecord) -> None:
        with self._engine.begin() as connection:
            connection.execute(self._table.insert().values(**record.__dict__))

    def has(self, key: str, engine: str) -> bool:
        import sqlalchemy as sa

        query = sa.select(self._table.c.id).where(self._table.c.key == key, self._table.c.engine == engine)
        with self._engine.connect() as connection:
            return connection.execute(query.limit(1)).first() is not None

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
        import sqlalchemy as sa

        table = self._table
        query = sa.select(table).order_by(table.c.built_at.desc(), table.c.id.desc())
        for column, value in (("stack", stack), ("layer", layer), ("engine", engine), ("release", release)):
            if value is not None:
                query = query.where(table.c[column] == value)
        if limit is not None:
            query = query.limit(limit)
        with self._engine.connect() as connection:
            return [_record(row._mapping) for row in connection.execute(query)]


def now() -> datetime:
    return datetime.now(UTC)


def _record(row: Any) -> ImageRecord:
    values = {name: row[name] for name in ImageRecord.__dataclass_fields__}
    if values["built_at"].tzinfo is None:
        values["built_at"] = values["built_at"].replace(tzinfo=UTC)
    return ImageRecord(**values)


def _images_table(metadata: Any) -> Any:
    import sqlalchemy as sa

    return sa.Table(
        "images",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("stack", sa.String(128), nullable=False, index=True),
        sa.Column("layer", sa.String(128), nullable=False),
        sa.Column("release", sa.String(128), nullable=False),
        sa.Column("key", sa.String(64), nullable=False, index=True),
        sa.Column("reference", sa.String(512), nullable=False),
        sa.Column("image_id", sa.String(128), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("engine", sa.String(32), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("spec_path", sa.String(1024), nullable=False),
    )


__all__ = ["Catalog", "ImageRecord", "now"]
