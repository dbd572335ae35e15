"""xrootd staging in real SLURM jobs: an array stages its inputs in from the xrootd server and its
outputs out to it, adler32 verified; a stage-out to a server that died exits 75 and leaves no file at
the final URL, and the same job succeeds once the server is back. Bad URLs are refused at submit.

The shared server (scripts/setup-services.sh) is never stopped: the fault test starts its own second
xrootd on a free port, with its own data directory, and kills only that one.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.batch.conftest import batch_cli
from tests.conftest import TEST_USER, hepstack, tool_works
from tests.services.endpoints import XROOTD_CLIENT_TIMEOUTS, Xrootd
from tests.services.polling import poll

TASKS = 3
# The task reads its staged input and writes the output to stage out: the input, then a line.
COMMAND = 'd=$WORK/$HEPSTACK_TASK_INDEX; { cat "$d/in.dat"; echo "task $HEPSTACK_TASK_INDEX"; } >"$d/out.dat"'


def xrd(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **XROOTD_CLIENT_TIMEOUTS}
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)


@dataclass(frozen=True)
class Area:
    """A job's files: ``work`` on the node (the test user's), ``remote`` on the server, the state env."""

    work: Path
    remote: str
    env: dict[str, str]


@pytest.fixture
def area(
    test_user: pwd.struct_passwd, shared_tmp: Path, xrootd: Xrootd, user_env: dict[str, str]
) -> Iterator[Area]:
    if not tool_works("sinfo", "--noheader"):
        pytest.skip("SLURM does not answer here (run scripts/setup-schedulers.sh as root)")
    name = uuid.uuid4().hex[:12]
    work = shared_tmp / f"staging-{name}"
    work.mkdir()
    os.chown(work, test_user.pw_uid, test_user.pw_gid)
    state = shared_tmp / f"state-{name}"
    state.mkdir(mode=0o700)
    os.chown(state, test_user.pw_uid, test_user.pw_gid)
    env = {
        **user_env,
        "HEPSTACK_DATA_DIR": str(state / "data"),
        "HEPSTACK_STATE_DB": f"sqlite:///{state}/state.sqlite",
        # the job's xrdcp gives up on a dead server in seconds (sbatch passes the submitter's
        # environment on; the job script's defaults retry for longer)
        **XROOTD_CLIENT_TIMEOUTS,
    }
    remote = f"/hepstack-test-staging-{name}"
    yield Area(work, remote, env)
    shutil.rmtree(xrootd.data_dir / remote.lstrip("/"), ignore_errors=True)  # root: the server's files


def upload_inputs(xrootd: Xrootd, remote: str) -> dict[int, bytes]:
    inputs = {index: os.urandom(200_000 * index + 13) for index in range(1, TASKS + 1)}
    for index, data in inputs.items():
        path = Path(f"/tmp/hepstack-staging-{uuid.uuid4().hex}")
        path.write_bytes(data)
        try:
            done = xrd("xrdcp", "--nopbar", "--force", str(path), xrootd.url(f"{remote}/in/{index}.dat"))
        finally:
            path.unlink()
        assert done.returncode == 0, done.stderr
    return inputs


def submit(area: Area, server: str, out_server: str, *extra: str) -> str:
    """Submit the array as the test user; returns hepstack's job number."""
    task = "$HEPSTACK_TASK_INDEX"
    result = batch_cli(
        "submit", "--scheduler", "slurm", "--runtime", "native", "--tasks", str(TASKS),
        "--env", f"WORK={area.work}",
        "--stage-in", f"{server}/{area.remote}/in/{task}.dat={area.work}/{task}/in.dat",
        "--stage-out", f"{area.work}/{task}/out.dat={out_server}/{area.remote}/out/{task}.dat",
        *extra, "localhost/native:none", "--", "sh", "-c", COMMAND,
        env=area.env, user=TEST_USER,
    )  # fmt: skip
    assert result.stdout.startswith("submitted job "), result.stdout
    return result.stdout.split()[2]


def watch(area: Area, job: str) -> dict[int, tuple[str, int | None]]:
    result = batch_cli("jobs", job, "--watch", "--interval", "0.5", "--json", env=area.env, user=TEST_USER)
    tasks = json.loads(result.stdout)[0]["tasks"]
    return {task["index"]: (task["state"], task["exit_code"]) for task in tasks}


def expected_output(data: bytes, index: int) -> bytes:
    return data + f"task {index}\n".encode()


@pytest.mark.slurm
@pytest.mark.root
def test_array_stages_in_and_out_with_adler32(area: Area, xrootd: Xrootd) -> None:
    inputs = upload_inputs(xrootd, area.remote)
    job = submit(area, xrootd.root_url, xrootd.root_url)
    assert watch(area, job) == {index: ("COMPLETED", 0) for index in inputs}
    for index, data in inputs.items():
        want = expected_output(data, index)
        query = xrd("xrdfs", xrootd.root_url, "query", "checksum", f"{area.remote}/out/{index}.dat")
        assert query.stdout.split() == ["adler32", f"{zlib.adler32(want):08x}"], query.stderr
        assert (xrootd.data_dir / area.remote.lstrip("/") / "out" / f"{index}.dat").read_bytes() == want
        log = batch_cli("logs", f"{job}.{index}", env=area.env, user=TEST_USER).stdout
        assert f"(adler32 {zlib.adler32(want):08x}, verified by the server)" in log
    # only the final files: every .part-* was renamed
    assert sorted(p.name for p in (xrootd.data_dir / area.remote.lstrip("/") / "out").iterdir()) == [
        f"{index}.dat" for index in inputs
    ]
    # hepstack verify against a local reference: the server's directory, copied privately, equals it
    reference = area.work / "reference"
    reference.mkdir()
    for index, data in inputs.items():
        (reference / f"{index}.dat").write_bytes(expected_output(data, index))
    out_url = xrootd.url(f"{area.remote}/out")
    same = hepstack("verify", out_url, str(reference), env=XROOTD_CLIENT_TIMEOUTS)
    assert same.stdout.startswith(f"equal: {out_url} and {reference} have the same content (3 files")
    (reference / "2.dat").write_bytes(expected_output(inputs[2], 5))
    differ = hepstack("verify", out_url, str(reference), env=XROOTD_CLIENT_TIMEOUTS, check=False)
    assert differ.returncode == 1 and "2.dat: [bytes]" in differ.stdout, differ.stdout
    one = hepstack("verify", f"{out_url}/1.dat", str(reference / "1.dat"), env=XROOTD_CLIENT_TIMEOUTS)
    assert one.stdout.startswith("equal: ")


def test_verify_of_an_unreachable_server_is_an_input_error(tmp_path: Path) -> None:
    result = hepstack(
        "verify", "root://127.0.0.1:1//x", str(tmp_path), env=XROOTD_CLIENT_TIMEOUTS, check=False
    )
    assert result.returncode == 2
    assert "error: cannot copy A root://127.0.0.1:1//x:" in result.stderr and "hint:" in result.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateXrootd:
    """A second xrootd of this test only (its own port, data and admin directories), started and
    killed by the test; the shared server is never touched."""

    def __init__(self, base: Path) -> None:
        self.port = free_port()
        self.data = base / "data"
        self.base = base
        for directory in (base, self.data, base / "adm"):
            directory.mkdir(exist_ok=True)
            shutil.chown(directory, "xrootd", "xrootd")
        self.config = base / "xrootd.cfg"
        self.config.write_text(
            f"xrd.port {self.port}\nxrd.allow host localhost\nall.adminpath {base}/adm\n"
            f"all.pidpath {base}/adm\nall.export /\noss.localroot {self.data}\nxrootd.chksum adler32\n"
        )
        self.url = f"root://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def answers(self) -> bool:
        return xrd("xrdfs", self.url, "ls", "/").returncode == 0

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["xrootd", "-c", str(self.config), "-l", str(self.base / "xrootd.log"), "-R", "xrootd"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        poll(self.answers, 60, f"the private xrootd on port {self.port}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 9)
            self.process.wait()
        self.process = None


@pytest.fixture
def private_xrootd(shared_tmp: Path) -> Iterator[PrivateXrootd]:
    if shutil.which("xrootd") is None:
        pytest.skip("xrootd (the server) is not installed")
    server = PrivateXrootd(shared_tmp / f"xrootd-{uuid.uuid4().hex[:8]}")
    server.start()
    yield server
    server.kill()


@pytest.mark.slurm
@pytest.mark.root
def test_stage_out_to_a_dead_server_exits_75_and_leaves_no_file(
    area: Area, xrootd: Xrootd, private_xrootd: PrivateXrootd
) -> None:
    inputs = upload_inputs(xrootd, area.remote)
    final = private_xrootd.data / area.remote.lstrip("/") / "out"
    # The server dies after the tasks were submitted, before their stage-out.
    private_xrootd.kill()
    job = submit(area, xrootd.root_url, private_xrootd.url)
    assert watch(area, job) == {index: ("FAILED", 75) for index in inputs}
    log = batch_cli("logs", f"{job}.1", env=area.env, user=TEST_USER).stdout
    assert "hepstack: staging failed: stage-out of" in log and "(exit code 75)" in log
    assert not final.exists() or not any(final.iterdir())
    # The same submission once the server is back: every output arrives, checksums verified.
    private_xrootd.start()
    again = submit(area, xrootd.root_url, private_xrootd.url)
    assert watch(area, again) == {index: ("COMPLETED", 0) for index in inputs}
    for index, data in inputs.items():
        assert (final / f"{index}.dat").read_bytes() == expected_output(data, index)
    assert sorted(p.name for p in final.iterdir()) == [f"{index}.dat" for index in inputs]


@pytest.mark.slurm
@pytest.mark.root
def test_stage_in_of_a_missing_file_exits_75_without_running(area: Area, xrootd: Xrootd) -> None:
    job = submit(area, xrootd.root_url, xrootd.root_url)  # nothing uploaded
    assert watch(area, job) == {index: ("FAILED", 75) for index in range(1, TASKS + 1)}
    log = batch_cli("logs", f"{job}.2", env=area.env, user=TEST_USER).stdout
    assert "hepstack: staging failed: stage-in of" in log
    assert not (area.work / "2" / "out.dat").exists()  # the command never ran
    assert not (area.work / "2" / "in.dat").exists()


@pytest.mark.slurm
@pytest.mark.root
def test_an_output_the_task_did_not_write_is_the_tasks_failure(area: Area, xrootd: Xrootd) -> None:
    upload_inputs(xrootd, area.remote)
    result = batch_cli(
        "submit", "--scheduler", "slurm", "--runtime", "native",
        "--stage-in", f"{xrootd.root_url}/{area.remote}/in/1.dat={area.work}/1/in.dat",
        "--stage-out", f"{area.work}/1/never.dat={xrootd.root_url}/{area.remote}/out/never.dat",
        "localhost/native:none", "--", "true", env=area.env, user=TEST_USER,
    )  # fmt: skip
    job = result.stdout.split()[2]
    assert watch(area, job) == {1: ("FAILED", 1)}
    log = batch_cli("logs", f"{job}.1", env=area.env, user=TEST_USER).stdout
    assert f"the task succeeded but wrote no {area.work}/1/never.dat to stage out" in log
    assert not (xrootd.data_dir / area.remote.lstrip("/") / "out").exists()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--stage-in", "root://127.0.0.1:1094//a/../b=/x", "has a '.' or '..' component"),
        ("--stage-in", "root://127.0.0.1:1094//a/$HOME=/x", "uses $HOME, which the server cannot know"),
        ("--stage-in", "root://-oProxyCommand=x//a=/x", "is not an xrootd URL"),
        ("--stage-in", "root://127.0.0.1:1094//a;rm -rf ~=/x", "is not an xrootd URL"),
        ("--stage-in", "root://127.0.0.1:1094//a?xrd.wantprot=unix=/x", "is not an xrootd URL"),
        ("--stage-in", "root://127.0.0.1:99999//a=/x", "has a port outside 1..65535"),
        ("--stage-in", "root://127.0.0.1//a=relative", "is not an absolute file path on the node"),
        ("--stage-in", "root://127.0.0.1//a=$(id)/x", "is not an absolute file path on the node"),
        ("--stage-out", "/x\n=root://127.0.0.1//a", "contains the control character U+000A"),
        ("--stage-out", "/x", "has no '='"),
    ],
)
def test_bad_staging_values_are_refused(
    option: str, value: str, message: str, state_env: dict[str, str]
) -> None:
    result = batch_cli(
        "submit", "--print", "--scheduler", "slurm", "--runtime", "native", option, value,
        "localhost/native:none", "--", "true", env=state_env, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "error:" in result.stderr and message in result.stderr and "hint:" in result.stderr
    assert "Traceback" not in result.stderr
