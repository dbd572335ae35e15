"""`hepstack run` on the fast path (hepstack.entry) behaves exactly like the typer command it bypasses."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from hepstack.build.engines.docker import daemon_has_image
from hepstack.catalog.resolve import ResolvedImage
from hepstack.context import Context, xdg_dir
from hepstack.entry import parse_run
from hepstack.run.launch import native_layer_environment
from tests.conftest import HEPSTACK, TEST_STACK

FULL_CLI = [
    sys.executable,
    "-c",
    "import sys; from hepstack.cli import main; sys.argv[0] = 'hepstack'; main()",
]
IMAGE = "localhost/demo/release:0123456789ab"

SAME_COMMAND_LINE = {
    "defaults": ["run", "--print", IMAGE, "--", "python3", "-V"],
    "short options": ["run", "-r", "podman", "-b", "/tmp:/data:ro", "-e", "A=1", "-w", "/data", "--print",
                      IMAGE, "--", "env"],
    "long options with =": ["run", "--runtime=podman", "--bind=/tmp:/scratch", "--env=B=two words",
                            "--workdir=/scratch", "--engine=podman", "--print", IMAGE, "--", "ls", "-l"],
    "options after the image": ["run", IMAGE, "--print", "--env", "C=3", "--", "true"],
    "repeated binds and envs": ["run", "--print", "-b", "/tmp:/a", "-b", "/var:/b:ro", "-e", "X=1", "-e",
                                "Y=2", IMAGE, "--", "sh", "-c", "echo $X"],
    "native": ["run", "--print", "--runtime", "native", "-b", "/tmp:/tmp", IMAGE, "--", "python3", "-V"],
    "command with --": ["run", "--print", IMAGE, "--", "grep", "--", "-x", "file"],
}  # fmt: skip


@pytest.mark.parametrize("argv", SAME_COMMAND_LINE.values(), ids=SAME_COMMAND_LINE.keys())
def test_fast_path_prints_the_same_command_as_the_full_cli(argv: list[str]) -> None:
    assert parse_run(argv) is not None, "this line should take the fast path"
    fast = subprocess.run([HEPSTACK, *argv], capture_output=True, text=True, check=False)
    full = subprocess.run([*FULL_CLI, *argv], capture_output=True, text=True, check=False)
    assert fast.returncode == full.returncode == 0, fast.stderr + full.stderr
    assert fast.stdout == full.stdout
    assert "podman" in fast.stdout or "env -i" in fast.stdout


def test_fast_path_parses_every_option() -> None:
    parsed = parse_run(SAME_COMMAND_LINE["long options with ="])
    assert parsed is not None
    assert (parsed.image, parsed.runtime, parsed.engine, parsed.workdir) == (
        IMAGE, "podman", "podman", "/scratch")  # fmt: skip
    assert (parsed.bind, parsed.env, parsed.print_only) == (["/tmp:/scratch"], ["B=two words"], True)
    assert parsed.command == ["ls", "-l"]


LEFT_TO_THE_FULL_CLI = {
    "help": ["run", "--help", IMAGE, "--", "true"],
    "misspelt option": ["run", "--runtim", "podman", IMAGE, "--", "true"],
    "joined short option": ["run", "-rpodman", IMAGE, "--", "true"],
    "no --": ["run", IMAGE, "true"],
    "nothing after --": ["run", IMAGE, "--"],
    "two images": ["run", IMAGE, "other", "--", "true"],
    "no image": ["run", "--", "true"],
    "option without its value": ["run", IMAGE, "--runtime", "--", "true"],
    "flag given a value": ["run", "--print=yes", IMAGE, "--", "true"],
    "global option first": ["--debug", "run", IMAGE, "--", "true"],
    "another command": ["build", "stack.yaml"],
    "nothing": [],
}


@pytest.mark.parametrize("argv", LEFT_TO_THE_FULL_CLI.values(), ids=LEFT_TO_THE_FULL_CLI.keys())
def test_anything_unusual_goes_to_the_full_cli(argv: list[str]) -> None:
    assert parse_run(argv) is None


def test_full_cli_still_explains_a_misspelt_option() -> None:
    result = subprocess.run(
        [HEPSTACK, "run", "--runtim", "podman", IMAGE, "--", "true"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "--runtim" in result.stderr and "Traceback" not in result.stderr


def test_fast_path_reports_user_errors_like_the_full_cli() -> None:
    argv = ["run", "--runtime", "dokcer", IMAGE, "--", "true"]
    fast = subprocess.run([HEPSTACK, *argv], capture_output=True, text=True)
    full = subprocess.run([*FULL_CLI, *argv], capture_output=True, text=True)
    assert fast.returncode == full.returncode == 2
    assert fast.stderr == full.stderr
    assert "error: unknown runtime 'dokcer'" in fast.stderr and "docker" in fast.stderr
    assert "Traceback" not in fast.stderr


def test_fast_path_imports_neither_typer_nor_pydantic(tmp_path: Path) -> None:
    probe = (
        "import sys; sys.argv = ['hepstack', 'run', '--print', '--runtime', 'native', "
        f"'{IMAGE}', '--', 'true']\n"
        "from hepstack.entry import main; main()\n"
        "heavy = [m for m in ('typer', 'click', 'pydantic', 'yaml', 'sqlalchemy') if m in sys.modules]\n"
        "print('heavy:', heavy)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "heavy: []" in result.stdout


# --- native runs: the layer chain's env, read from the spec once and cached ----------------------------


def test_native_layer_env_is_cached_and_follows_edits_of_the_spec(tmp_path: Path) -> None:
    stack_dir = tmp_path / "stack"
    shutil.copytree(TEST_STACK.parent, stack_dir)
    spec = stack_dir / "stack.yaml"
    context = Context.from_environment(
        {"HEPSTACK_DATA_DIR": str(tmp_path / "d"), "HEPSTACK_CACHE_DIR": str(tmp_path / "c")}
    )
    image = ResolvedImage(
        "localhost/demo/release:1", "podman", stack="demo", layer="release", spec_path=str(spec)
    )

    env, profiles = native_layer_environment(image, context)
    assert env == {"DEMO_RELEASE": "2.1", "DEMO_HOME": "/opt/demo"}
    assert profiles == [str((stack_dir / "files" / "setup.sh").resolve())]
    cached = list((tmp_path / "c" / "native-env").glob("*.json"))
    assert len(cached) == 1

    spec.write_text(spec.read_text().replace('DEMO_RELEASE: "2.1"', 'DEMO_RELEASE: "2.2"'))
    os.utime(spec, ns=(spec.stat().st_atime_ns, spec.stat().st_mtime_ns + 1_000_000))
    env, _ = native_layer_environment(image, context)
    assert env["DEMO_RELEASE"] == "2.2"

    cached[0].write_text("{not json")  # a damaged cache is re-read from the spec, never trusted
    env, _ = native_layer_environment(image, context)
    assert env["DEMO_RELEASE"] == "2.2"


def test_native_run_warns_when_the_spec_is_gone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    context = Context.from_environment({"HEPSTACK_CACHE_DIR": str(tmp_path)})
    image = ResolvedImage("r", "podman", stack="demo", layer="release", spec_path=str(tmp_path / "gone.yaml"))
    assert native_layer_environment(image, context) == ({}, [])
    assert "spec" in capsys.readouterr().err


# --- docker: is the image there? one request to the daemon's socket, not a docker client start ------------


class _FakeDaemon:
    """A unix socket answering each request with a fixed HTTP status, recording the request line."""

    def __init__(self, path: Path, status: str) -> None:
        self.requests: list[str] = []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(1)
        self.thread = threading.Thread(target=self._serve, args=(status,), daemon=True)
        self.thread.start()

    def _serve(self, status: str) -> None:
        connection, _ = self.server.accept()
        with self.server, connection:
            self.requests.append(connection.recv(4096).decode().split("\r\n")[0])
            connection.sendall(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n".encode())


@pytest.mark.parametrize(
    ("status", "answer"), [("200 OK", True), ("404 Not Found", False), ("500 Oops", None)]
)
def test_daemon_socket_answers_whether_an_image_is_there(
    tmp_path: Path, status: str, answer: bool | None
) -> None:
    path = tmp_path / "docker.sock"
    daemon = _FakeDaemon(path, status)
    assert daemon_has_image("localhost/lat/release:0123", {"DOCKER_HOST": f"unix://{path}"}) is answer
    daemon.thread.join(5)
    assert daemon.requests == ["GET /images/localhost/lat/release:0123/json HTTP/1.0"]


def test_docker_client_answers_when_the_socket_cannot(tmp_path: Path) -> None:
    assert daemon_has_image("x", {"DOCKER_HOST": "tcp://127.0.0.1:2375"}) is None
    assert daemon_has_image("x", {"DOCKER_HOST": f"unix://{tmp_path}/absent.sock"}) is None


def test_xdg_dirs_follow_the_base_directory_rules(tmp_path: Path) -> None:
    assert xdg_dir("XDG_CACHE_HOME", {"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "hepstack"
    relative_is_ignored = xdg_dir("XDG_DATA_HOME", {"XDG_DATA_HOME": "relative/dir"})
    assert relative_is_ignored == Path("~/.local/share/hepstack").expanduser()
    assert xdg_dir("XDG_CONFIG_HOME", {}) == Path("~/.config/hepstack").expanduser()
