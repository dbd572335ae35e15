"""MariaDB 10.11 as scripts/setup-services.sh promises it: the calibration database latcalib on
127.0.0.1:3306, written by account lat and only read by lat_reader (what a job gets), through PyMySQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.services.endpoints import MariaDB


@pytest.fixture
def calibration_table(mariadb: MariaDB) -> Iterator[str]:
    """A table of this test in latcalib, written by lat, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"  # [a-z0-9_]: nothing to quote
    with mariadb.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {name} (tower INT PRIMARY KEY, gain DOUBLE NOT NULL)")
        cursor.executemany(f"INSERT INTO {name} VALUES (%s, %s)", [(0, 1.25), (1, 0.5)])
        connection.commit()
    yield name
    with mariadb.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")


def test_the_writer_stores_and_the_reader_reads(mariadb: MariaDB, calibration_table: str) -> None:
    with mariadb.connect(reader=True) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT VERSION(), CURRENT_USER()")
        version, user = cursor.fetchone()
        cursor.execute(f"SELECT tower, gain FROM {calibration_table} ORDER BY tower")
        rows = cursor.fetchall()
    assert version.startswith("10.11.") and "MariaDB" in version
    assert user == "lat_reader@127.0.0.1"
    assert rows == ((0, 1.25), (1, 0.5))


def test_the_reader_cannot_change_calibrations(mariadb: MariaDB, calibration_table: str) -> None:
    import pymysql

    with (
        mariadb.connect(reader=True) as connection,
        connection.cursor() as cursor,
        pytest.raises(pymysql.err.OperationalError) as refused,
    ):
        cursor.execute(f"UPDATE {calibration_table} SET gain = 0")
    assert refused.value.args[0] == 1142  # ER_TABLEACCESS_DENIED_ERROR: UPDATE command denied


def test_a_wrong_password_is_refused(mariadb: MariaDB) -> None:
    import pymysql

    with pytest.raises(pymysql.err.OperationalError) as refused:
        pymysql.connect(
            host=mariadb.host, port=mariadb.port, user="lat", password="not-the-password", connect_timeout=10
        )
    assert refused.value.args[0] == 1045  # ER_ACCESS_DENIED_ERROR
