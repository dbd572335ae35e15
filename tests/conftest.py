"""Shared fixtures: an isolated hepstack state per test session, goldens, the example images built once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import sqlalchemy
from sqlalchemy.engine import URL

from tests.services import endpoints

REPO = Path(__file__).resolve().parents[1]
GOLDENS = Path(__file__).parent / "goldens"
TEST_STACK = Path(__file__).parent / "data" / "stack" / "stack.yaml"
EXAMPLE_STACK = REPO / "examples" / "lat" / "stack.yaml"
HEPSTACK = str(Path(sys.executable).parent / "hepstack")
TEST_USER = os.environ.get("HEPSTACK_TEST_USER", "hepstack-test")
T = TypeVar("T")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("root") is not None and os.geteuid() != 0:
        pytest.skip("needs root: it makes files of another user")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens", action="store_true", help="Rewrite golden files from current output."
    )


@pytest.fixture(scope="session", autouse=True)
def isolated_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Catalog, logs and image cache of this test session, away from the user's own."""
    root = tmp_path_factory.mktemp("hepstack-state")
    saved = {k: os.environ.get(k) for k in ("HEPSTACK_DATA_DIR", "HEPSTACK_CACHE_DIR", "HEPSTACK_CATALOG")}
    os.environ["HEPSTACK_DATA_DIR"] = str(root / "data")
    os.environ["HEPSTACK_CACHE_DIR"] = str(root / "cache")
    os.environ.pop("HEPSTACK_CATALOG", None)
    yield root
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def golden(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """``golden(name, text)`` compares ``text`` with tests/goldens/NAME (rewritten with --update-goldens)."""
    update = request.config.getoption("--update-goldens")

    def check(name: str, text: str) -> None:
        path = GOLDENS / name
        if update or not path.exists():
            if not update:
                pytest.fail(f"golden {path} is missing; run pytest --update-goldens and review the diff")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        assert text == path.read_text(encoding="utf-8"), f"differs from golden {path}"

    return check


def tool_works(*argv: str) -> bool:
    if shutil.which(argv[0]) is None and not Path(argv[0]).exists():
        return False
    return subprocess.run(list(argv), capture_output=True, check=False).returncode == 0


def hepstack(
    *args: str,
    check: bool = True,
    env: dict[str, str] | None = None,
    user: str | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the hepstack CLI as a subprocess (optionally as another user, through runuser)."""
    argv = [HEPSTACK, *args]
    environment = dict(os.environ)
    environment.update(env or {})
    if user is not None:
        keep = ",".join(k for k in (env or {}))
        argv = ["runuser", "-u", user, *(["--whitelist-environment=" + keep] if keep else []), "--", *argv]
    result = subprocess.run(argv, capture_output=True, text=True, env=environment, cwd=cwd, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def example_images() -> dict[str, str]:
    """Build the example stack once per test session with podman; layer -> image reference."""
    if not tool_works("podman", "info"):
        pytest.skip("podman does not work here (run scripts/setup-host.sh)")
    hepstack("build", str(EXAMPLE_STACK))
    from hepstack.catalog import Catalog
    from hepstack.context import Context

    catalog = Catalog(Context.from_environment().catalog_path)
    return {record.layer: record.reference for record in reversed(catalog.list(stack="lat", engine="podman"))}


# --- servers of scripts/setup-services.sh (tests/services/endpoints.py); skipped where not set up ---------


def _service(lookup: Callable[[], T]) -> T:
    try:
        return lookup()
    except endpoints.ServiceUnavailable as reason:
        pytest.skip(str(reason))


@pytest.fixture(scope="session")
def postgres_url() -> URL:
    """SQLAlchemy URL of the hepstack database (postgresql+psycopg); the role may create databases."""
    pytest.importorskip("psycopg", reason="psycopg is not installed: pip install -e '.[postgres]'")
    return _service(endpoints.postgres_url)


@pytest.fixture
def postgres_database(postgres_url: URL) -> Iterator[URL]:
    """A new, empty PostgreSQL database for one test (its URL), dropped afterwards."""
    name = f"hepstack_test_{uuid.uuid4().hex[:12]}"  # [a-z0-9_]: nothing to quote
    admin = sqlalchemy.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_url.set(database=name)
    finally:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def mariadb() -> endpoints.MariaDB:
    """The example's calibration database: ``mariadb.connect()`` (writer) or ``connect(reader=True)``."""
    pytest.importorskip("pymysql", reason="PyMySQL is not installed: pip install -e '.[mariadb]'")
    return _service(endpoints.mariadb)


@pytest.fixture(scope="session")
def xrootd() -> endpoints.Xrootd:
    """The xrootd data server: ``xrootd.url(path)``, ``xrootd.client_env()`` with client time-outs."""
    return _service(endpoints.xrootd)


@pytest.fixture(scope="session")
def ssh_site() -> endpoints.SshSite:
    """This host's SLURM and SGE over ssh to 127.0.0.1:2222 as the test user: ``ssh_site.argv(...)``."""
    return _service(endpoints.ssh_site)


@pytest.fixture(scope="session")
def chromium() -> endpoints.Chromium:
    """Debian's chromium and chromedriver (paths) for browser tests."""
    return _service(endpoints.chromium)
