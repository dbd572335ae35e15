"""A site with a login host: job arrays submitted, watched, cancelled and their logs read over ssh, in
front of the real SLURM, as the non-root test user with its own key.

The shared sshd (127.0.0.1:2222, scripts/setup-services.sh) is never stopped: the fault test starts its
own second sshd on a free port (same host key, so the pinned known_hosts entry holds through
HostKeyAlias), kills it in the middle of a watch and starts it again.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.batch.conftest import BATCH_CLI, batch_cli
from tests.conftest import TEST_USER, tool_works
from tests.services.endpoints import SshSite
from tests.services.polling import poll

SSHD = "/usr/sbin/sshd"
SHARED_SSHD_CONFIG = Path("/etc/hepstack/sshd/sshd_config")
TASKS = 3
# Each task waits (bounded, 120 s) for the test's go-ahead file, then says who it is; task 3 exits 3.
COMMAND = (
    'i=0; while [ ! -e "$GO" ] && [ "$i" -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done; '
    'echo "task $HEPSTACK_TASK_INDEX on the farm"; [ "$HEPSTACK_TASK_INDEX" -ne 3 ] || exit 3'
)


@dataclass(frozen=True)
class Remote:
    """A site file directory, a private data dir and state DB of the test user, and the go file."""

    env: dict[str, str]
    sites: Path
    go: Path


@pytest.fixture
def remote(
    test_user: pwd.struct_passwd, shared_tmp: Path, user_env: dict[str, str], ssh_site: SshSite
) -> Iterator[Remote]:
    if not tool_works("sinfo", "--noheader"):
        pytest.skip("SLURM does not answer here (run scripts/setup-schedulers.sh as root)")
    base = shared_tmp / f"ssh-{uuid.uuid4().hex[:10]}"
    base.mkdir(mode=0o700)
    (base / "sites").mkdir(mode=0o700)
    (base / "shared").mkdir(mode=0o755)
    for path in (base, base / "sites", base / "shared"):
        os.chown(path, test_user.pw_uid, test_user.pw_gid)
    env = {
        **user_env,
        "HEPSTACK_DATA_DIR": str(base / "data"),
        "HEPSTACK_STATE_DB": f"sqlite:///{base}/state.sqlite",
        "HEPSTACK_SITES_PATH": str(base / "sites"),
    }
    yield Remote(env, base / "sites", base / "shared" / "go")


def write_site(remote: Remote, name: str, test_user: pwd.struct_passwd, **fields: str) -> None:
    lines = [
        f"name: {name}",
        "scheduler: slurm",
        "runtime: native",
        *(f"{k}: {v}" for k, v in fields.items()),
    ]
    path = remote.sites / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n")
    os.chown(path, test_user.pw_uid, test_user.pw_gid)


def submit(remote: Remote, site: str) -> tuple[str, Path]:
    """Submit the array through ``site``; hepstack's job number and the job directory on the farm."""
    result = batch_cli(
        "submit", "--site", site, "--tasks", str(TASKS), "--env", f"GO={remote.go}",
        "localhost/native:none", "--", "sh", "-c", COMMAND, env=remote.env, user=TEST_USER,
    )  # fmt: skip
    words = result.stdout.split()
    assert words[:2] == ["submitted", "job"], result.stdout
    return words[2], Path(words[-1]).parent


def states(remote: Remote, job: str) -> tuple[dict[int, tuple[str, int | None, str]], str]:
    result = batch_cli("jobs", job, "--json", env=remote.env, user=TEST_USER)
    tasks = json.loads(result.stdout)[0]["tasks"]
    return {t["index"]: (t["state"], t["exit_code"], t["detail"]) for t in tasks}, result.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def descendants(pid: int) -> list[int]:
    """``pid``'s child processes, theirs, and so on (sshd's per-connection children start sessions of
    their own, so a process group kill would miss them)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class PrivateSshd:
    """A second sshd of this test only: the shared one's settings on another port, started and killed
    (with every connection it serves) by the test."""

    def __init__(self, base: Path, ssh_site: SshSite, test_user: pwd.struct_passwd) -> None:
        self.port = free_port()
        self.config = base / "sshd_config"
        text = SHARED_SSHD_CONFIG.read_text()
        text = text.replace(
            f"ListenAddress {ssh_site.host}:{ssh_site.port}", f"ListenAddress 127.0.0.1:{self.port}"
        )
        text = text.replace("PidFile /run/hepstack-sshd.pid", f"PidFile {base}/sshd.pid")
        assert f"127.0.0.1:{self.port}" in text and str(base) in text
        self.config.write_text(text)
        self.log = base / "sshd.log"
        # the client side: an ssh_config(5) of the site, owned by the user (ssh refuses others')
        self.client_config = base / "client" / "ssh_config"
        self.client_config.parent.mkdir(mode=0o700)
        self.client_config.write_text(
            f"Host hepstack-private\n  HostName 127.0.0.1\n  Port {self.port}\n  User {ssh_site.user}\n"
            f"  HostKeyAlias [{ssh_site.host}]:{ssh_site.port}\n  IdentityFile {ssh_site.identity_file}\n"
            "  IdentitiesOnly yes\n  StrictHostKeyChecking yes\n"
            f"  UserKnownHostsFile {ssh_site.known_hosts}\n"
        )
        for path in (self.client_config.parent, self.client_config):
            os.chown(path, test_user.pw_uid, test_user.pw_gid)
        self.client_config.chmod(0o600)
        self.process: subprocess.Popen[bytes] | None = None

    def answers(self) -> bool:
        argv = ["runuser", "-u", TEST_USER, "--", "ssh", "-F", str(self.client_config)]
        argv += ["-o", "BatchMode=yes", "-o", "ControlMaster=no", "-o", "ControlPath=none"]
        done = subprocess.run(
            [*argv, "hepstack-private", "true"], capture_output=True, timeout=30, check=False
        )
        return done.returncode == 0

    def start(self) -> None:
        self.process = subprocess.Popen(
            [SSHD, "-D", "-f", str(self.config), "-E", str(self.log)], start_new_session=True
        )
        poll(self.answers, 60, f"the private sshd on port {self.port}")

    def kill(self) -> None:
        if self.process is None:
            return
        connections = descendants(self.process.pid)
        self.process.kill()
        self.process.wait()
        for pid in connections:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        self.process = None


@pytest.fixture
def private_sshd(shared_tmp: Path, ssh_site: SshSite, test_user: pwd.struct_passwd) -> Iterator[PrivateSshd]:
    if not Path(SSHD).exists():
        pytest.skip("openssh-server is not installed")
    base = shared_tmp / f"sshd-{uuid.uuid4().hex[:8]}"
    base.mkdir(mode=0o755)
    server = PrivateSshd(base, ssh_site, test_user)
    server.start()
    yield server
    server.kill()


class StderrLines:
    """The lines a child writes to stderr, collected by a thread while the test goes on."""

    def __init__(self, child: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert child.stderr is not None
        stream = child.stderr
        self.thread = threading.Thread(
            target=lambda: self.lines.extend(iter(stream.readline, "")), daemon=True
        )
        self.thread.start()

    def said(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))


@pytest.mark.slurm
@pytest.mark.root
def test_watch_survives_an_unreachable_login_host(
    remote: Remote, private_sshd: PrivateSshd, test_user: pwd.struct_passwd
) -> None:
    write_site(
        remote,
        "private-farm",
        test_user,
        login_host="hepstack-private",
        ssh_config=str(private_sshd.client_config),
    )
    job, jobdir = submit(remote, "private-farm")
    assert jobdir.is_relative_to(test_user.pw_dir)  # the job directory on the farm side, in its $HOME
    try:
        poll(lambda: states(remote, job)[0][1][0] == "RUNNING", 120, "task 1 running")
        seen, _ = states(remote, job)
        watch_argv = ["runuser", "-u", TEST_USER, "--", "env", *(f"{k}={v}" for k, v in remote.env.items())]
        watch_argv += [*BATCH_CLI, "jobs", job, "--watch", "--interval", "0.5", "--json"]
        with subprocess.Popen(watch_argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as watch:
            stderr = StderrLines(watch)
            private_sshd.kill()
            # a one-shot query while the site is down: said, and every task as last seen, none failed
            during, said = states(remote, job)
            assert "site unreachable: ssh hepstack-private failed 4 times" in said
            assert "its tasks keep their last known states" in said
            for index, (state, code, detail) in during.items():
                assert (state, code) == seen[index][:2], (index, during, seen)
                assert detail.startswith("site unreachable; last known: ")
            poll(lambda: stderr.said("site unreachable"), 60, "the watch to say the site is unreachable")
            # the tasks end while nobody can see them; the watch must not end without their codes
            remote.go.touch()
            poll(
                lambda: all((jobdir / f"{i}.exitcode").exists() for i in range(1, TASKS + 1)),
                120,
                "exit codes",
            )
            assert watch.poll() is None
            private_sshd.start()
            out, _ = watch.communicate(timeout=120)
        assert watch.returncode == 0, stderr.lines
        final = {t["index"]: (t["state"], t["exit_code"]) for t in json.loads(out)[0]["tasks"]}
        assert final == {1: ("COMPLETED", 0), 2: ("COMPLETED", 0), 3: ("FAILED", 3)}
        log = batch_cli("logs", f"{job}.3", env=remote.env, user=TEST_USER).stdout
        assert log == "task 3 on the farm\n"
    finally:
        remote.go.touch()
        shutil.rmtree(jobdir, ignore_errors=True)


@pytest.mark.slurm
@pytest.mark.root
def test_cancel_and_logs_through_the_shared_login_host(
    remote: Remote, ssh_site: SshSite, test_user: pwd.struct_passwd
) -> None:
    write_site(
        remote, "loopback-farm", test_user, login_host=f"{ssh_site.user}@{ssh_site.host}:{ssh_site.port}"
    )
    job, jobdir = submit(remote, "loopback-farm")
    try:
        assert (jobdir / "job.sh").stat().st_mode & 0o777 == 0o700
        assert jobdir.stat().st_mode & 0o777 == 0o700
        poll(lambda: states(remote, job)[0][1][0] == "RUNNING", 120, "task 1 running")
        result = batch_cli("cancel", job, env=remote.env, user=TEST_USER)
        assert "confirmed by slurm" in result.stdout, result.stdout
        after, _ = states(remote, job)
        assert {state for state, _, _ in after.values()} == {"CANCELLED"}, after
        logs = batch_cli("logs", job, env=remote.env, user=TEST_USER).stdout
        assert f"==> task 1 ({jobdir}/1.log) <==" in logs
    finally:
        remote.go.touch()
        shutil.rmtree(jobdir, ignore_errors=True)


@pytest.mark.parametrize(
    ("login_host", "message"),
    [
        ("-oProxyCommand=touch${IFS}/tmp/x", "is not an ssh destination"),
        ("user@host:99999", "has a port outside 1..65535"),
        ("us er@host", "is not an ssh destination"),
        ("host;reboot", "is not an ssh destination"),
    ],
)
def test_bad_login_hosts_are_refused_with_the_file_and_line(
    login_host: str, message: str, state_env: dict[str, str], tmp_path: Path
) -> None:
    sites = Path(state_env["HEPSTACK_SITES_PATH"])
    sites.mkdir()
    (sites / "bad.yaml").write_text(
        f"name: bad\nscheduler: slurm\nruntime: native\nlogin_host: '{login_host}'\n"
    )
    result = batch_cli("sites", env=state_env, check=False)
    assert result.returncode == 2, result.stdout
    assert "bad.yaml:4" in result.stderr and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.sge
@pytest.mark.root
def test_sge_array_through_the_shared_login_host(
    remote: Remote, ssh_site: SshSite, test_user: pwd.struct_passwd
) -> None:
    if not tool_works("qstat", "-g", "c"):
        pytest.skip("SGE does not answer here (run scripts/setup-schedulers.sh as root)")
    write_site(
        remote, "loopback-sge", test_user, login_host=f"{ssh_site.user}@{ssh_site.host}:{ssh_site.port}"
    )
    (remote.sites / "loopback-sge.yaml").write_text(
        (remote.sites / "loopback-sge.yaml").read_text().replace("scheduler: slurm", "scheduler: sge")
    )
    remote.go.touch()  # the tasks need not wait
    job, jobdir = submit(remote, "loopback-sge")
    try:
        result = batch_cli(
            "jobs", job, "--watch", "--interval", "0.5", "--json", env=remote.env, user=TEST_USER
        )
        final = {t["index"]: (t["state"], t["exit_code"]) for t in json.loads(result.stdout)[0]["tasks"]}
        assert final == {1: ("COMPLETED", 0), 2: ("COMPLETED", 0), 3: ("FAILED", 3)}
        assert json.loads(result.stdout)[0]["native_id"].isdigit()
        log = batch_cli("logs", f"{job}.2", env=remote.env, user=TEST_USER).stdout
        assert log == "task 2 on the farm\n"
    finally:
        batch_cli("cancel", job, env=remote.env, user=TEST_USER, check=False)
        shutil.rmtree(jobdir, ignore_errors=True)


HOSTILE_WORDS = ["a b", "$(touch /tmp/pwned)", "`id`", "x;y", "'quoted'", '"dq"', "*", "~", "-n", "ü€", ""]


@pytest.mark.root
def test_every_word_reaches_the_login_host_as_it_is(ssh_site: SshSite, test_user: pwd.struct_passwd) -> None:
    """The transport's quoting: printf on the remote side prints each word between brackets exactly."""
    probe = (
        "import json, sys; from hepstack.batch.transport import SshTransport; "
        f"r = SshTransport('{ssh_site.user}@{ssh_site.host}:{ssh_site.port}')"
        ".run(['printf', '[%s]', *json.loads(sys.argv[1])], check=True); print(r.stdout, end='')"
    )
    argv = ["runuser", "-u", TEST_USER, "--", "env", f"HOME={test_user.pw_dir}", sys.executable, "-c", probe]
    result = subprocess.run(
        [*argv, json.dumps(HOSTILE_WORDS)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "".join(f"[{word}]" for word in HOSTILE_WORDS)
    assert not Path("/tmp/pwned").exists()
