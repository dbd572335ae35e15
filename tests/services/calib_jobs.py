"""What the calibration-DB tests share: the example's recon image, a small digi input, calibration tags
of one test session in the MariaDB of scripts/setup-services.sh, and recon jobs run through hepstack.

The tags are this session's own (``t<hex>_v1``, ``t<hex>_v2``: the example's v1 and v2 constants), loaded
by ``lat-calib`` inside the recon image with the writer's option file given as a secret, and deleted at
the end, so sessions running at the same time never see each other's calibrations.
"""

from __future__ import annotations

import configparser
import os
import pwd
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_STACK, HEPSTACK, hepstack
from tests.integration.conftest import run
from tests.services.endpoints import MariaDB, read_secret

LAT_NATIVE = Path("/opt/lat-native")  # examples/lat/install-native.sh, run by scripts/setup-host.sh
EXAMPLE = EXAMPLE_STACK.parent
CONNECT_TIMEOUT_S = 10  # lat.calib.database.CONNECT_TIMEOUT_S
RECON = "physics.producers.cal"


@dataclass(frozen=True)
class Calibrations:
    v1: str
    v2: str
    url: str  # the reader's: what a job gets


def password_of(option_file: Path) -> str:
    options = configparser.ConfigParser(interpolation=None)
    options.read_string(read_secret(option_file))
    return options.get("client", "password")


def recon_image() -> str:
    """The example's recon layer built from this checkout (its requirements give it PyMySQL)."""
    hepstack("build", str(EXAMPLE_STACK), "recon")
    from hepstack.catalog import Catalog
    from hepstack.context import Context

    records = Catalog(Context.from_environment().catalog_path).list(stack="lat", engine="podman")
    return next(record.reference for record in records if record.layer == "recon")


def private_copy(source: Path, directory: Path, uid: int, gid: int, mode: int = 0o600) -> Path:
    """``source`` copied into ``directory`` as a file of ``uid`` with ``mode`` (a secret of that user)."""
    target = directory / source.name
    target.write_bytes(Path(source).read_bytes())
    os.chown(target, uid, gid)
    target.chmod(mode)
    return target


@pytest.fixture(scope="session")
def calibrations(mariadb: MariaDB, recon_ref: str) -> Iterator[Calibrations]:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    tags = Calibrations(f"{prefix}_v1", f"{prefix}_v2", f"mysql://lat_reader@{mariadb.host}:{mariadb.port}/"
                        f"{mariadb.database}")  # fmt: skip
    read_secret(mariadb.writer_option_file)  # skip clearly when not root
    writer = f"mysql://lat@{mariadb.host}:{mariadb.port}/{mariadb.database}"
    try:
        for tag, version in ((tags.v1, "v1"), (tags.v2, "v2")):
            hepstack("run", "--secret", f"calibwriter={mariadb.writer_option_file}", recon_ref, "--",
                     "python3", "-m", "lat.calib.tool", "load", "--db", writer, "--password", "calibwriter",
                     "--tag", tag, f"/opt/lat/lat/calib/calib_{version}.yaml")  # fmt: skip
        yield tags
    finally:
        with mariadb.connect() as connection, connection.cursor() as cursor:
            cursor.execute("DELETE FROM calib_interval WHERE tag IN (%s, %s)", (tags.v1, tags.v2))
            connection.commit()


@pytest.fixture(scope="session")
def recon_ref() -> str:
    return recon_image()


@pytest.fixture(scope="session")
def digi_input(shared_tmp: Path) -> Path:
    """200 events of a bright point source through simulate and digi (the native release, ~2 s): the
    smallest recon input that exercises every calorimeter range. A directory any user can read."""
    if not (LAT_NATIVE / "bin" / "lat-run").exists():
        pytest.skip(f"no native release at {LAT_NATIVE} (examples/lat/install-native.sh)")
    directory = shared_tmp / "digi"
    directory.mkdir()
    (directory / "sky.yaml").write_text(
        "energy: {min: 30.0, max: 100000.0}\n"
        "point_sources: [{name: Bright, ra: 83.63, dec: 22.01, flux: 0.003, index: 2.0}]\n"
    )
    lat_run = str(LAT_NATIVE / "bin" / "lat-run")
    sky = directory / "sky.yaml"
    run(lat_run, "simulate", "-n", "200", "--seed", "11", "--set", f"source.skyModel={sky}",
        "--set", "source.backgroundFraction=0.0", "-o", f"raw={directory / 'raw.ldf'}",
        "-o", f"truth={directory / 'mc.root'}", "-q")  # fmt: skip
    run(lat_run, "digi", "-s", str(directory / "raw.ldf"), "-o", str(directory / "digi.root"), "-q")
    for path in directory.iterdir():
        path.chmod(0o644)
    return directory


@pytest.fixture(scope="session")
def native_python(shared_tmp: Path) -> str:
    """A Python with the native release and PyMySQL (requirements-calib.txt), as install-native.sh now
    installs it: a venv that sees the release's packages (a .pth) plus PyMySQL."""
    if not (LAT_NATIVE / "bin" / "python").exists():
        pytest.skip(f"no native release at {LAT_NATIVE} (examples/lat/install-native.sh)")
    venv = shared_tmp / "lat-native-calib"
    run("/usr/bin/python3", "-m", "venv", str(venv))
    purelib = run(str(LAT_NATIVE / "bin" / "python"), "-c",
                  "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()  # fmt: skip
    own = run(str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    (Path(own.stdout.strip()) / "lat-native.pth").write_text(purelib + "\n")
    requirements = EXAMPLE / "image" / "requirements-calib.txt"
    run(str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-r", str(requirements))
    subprocess.run(["chmod", "-R", "a+rX", str(venv)], check=True)
    return str(venv / "bin" / "python")


def recon_argv(
    *, runtime: str, image: str, digi: Path, out: Path, options: list[str], python: str | None = None
) -> list[str]:
    """``hepstack run`` of one recon job: digi.root in, out/recon.root out (same base name: the same
    bytes for the same constants, lat.io.rootio.recreate), ``options`` the --set of the calibration."""
    from hepstack.runtimes import get_runtime

    read_only = ":ro" if get_runtime(runtime).read_only_binds else ""
    mounts = ["--bind", f"{digi}:{digi}{read_only}", "--bind", f"{out}:{out}", "--workdir", str(out)]
    if python is None:
        program = ["lat-run"]
    else:  # native: the venv's Python with this checkout's example code first on the path
        mounts += ["--env", f"PYTHONPATH={EXAMPLE}"]
        program = [python, "-m", "lat.framework.cli"]
    sets = [word for option in options for word in ("--set", option)]
    return [HEPSTACK, "run", "--runtime", runtime, *mounts, image, "--",
            *program, "recon", "-s", str(digi / "digi.root"), "-o", str(out / "recon.root"), "-q",
            *sets]  # fmt: skip


def db_options(calibrations: Calibrations, tag: str, url: str | None = None) -> list[str]:
    return [f"{RECON}.calibSource=db", f"{RECON}.calibDb={url or calibrations.url}",
            f"{RECON}.calibTag={tag}", f"{RECON}.calibPassword=calibdb"]  # fmt: skip


def file_options(version: str) -> list[str]:
    return [f"{RECON}.calibSource=file", f"{RECON}.calibFile=@lat/calib/calib_{version}.yaml"]


@pytest.fixture(scope="session")
def rootless_recon(
    recon_ref: str, test_user: pwd.struct_passwd, user_env: dict[str, str], shared_tmp: Path
) -> str:
    """The recon image in the test user's own (rootless) podman store."""
    archive = shared_tmp / "recon.tar"
    if not archive.exists():
        run("podman", "save", "--output", str(archive), recon_ref)
        archive.chmod(0o644)
    run("podman", "load", "--input", str(archive), user=test_user.pw_name, env=user_env)
    return recon_ref
