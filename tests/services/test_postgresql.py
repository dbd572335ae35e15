"""PostgreSQL 15 as scripts/setup-services.sh promises it: role hepstack logs in with its password over
127.0.0.1, may create databases (the pipeline's tests make one each), and a wrong password is refused."""

from __future__ import annotations

import pytest
import sqlalchemy
from sqlalchemy.engine import URL


def test_hepstack_role_queries_its_database(postgres_url: URL) -> None:
    engine = sqlalchemy.create_engine(postgres_url)
    with engine.connect() as connection:
        user, database, version = connection.execute(
            sqlalchemy.text("SELECT current_user, current_database(), current_setting('server_version_num')")
        ).one()
    engine.dispose()
    assert (user, database) == ("hepstack", "hepstack")
    assert 150000 <= int(version) < 160000


def test_a_test_gets_its_own_database(postgres_database: URL) -> None:
    engine = sqlalchemy.create_engine(postgres_database)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("CREATE TABLE lease (task integer PRIMARY KEY, owner text)"))
        connection.execute(sqlalchemy.text("INSERT INTO lease VALUES (1, 'a'), (2, 'b')"))
    with engine.connect() as connection:
        rows = connection.execute(sqlalchemy.text("SELECT task, owner FROM lease ORDER BY task")).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [(1, "a"), (2, "b")]


def test_a_wrong_password_is_refused(postgres_url: URL) -> None:
    engine = sqlalchemy.create_engine(postgres_url.set(password="not-the-password"))
    with pytest.raises(sqlalchemy.exc.OperationalError, match="password authentication failed"):
        engine.connect()
    engine.dispose()


def test_the_url_never_shows_the_password(postgres_url: URL) -> None:
    assert postgres_url.password
    assert postgres_url.password not in str(postgres_url)
    assert postgres_url.password not in repr(postgres_url)
