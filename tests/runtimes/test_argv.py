"""Each runtime's exact command line against reviewed goldens, plus the checks on user input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hepstack.errors import HepstackError
from hepstack.identity import Invoker
from hepstack.runtimes import RUNTIMES, Bind, RunRequest, get_runtime, parse_env

ALICE = Invoker(uid=1234, gid=5678, name="alice", home="/home/alice", privileged=False)
ROOTFUL_ALICE = Invoker(uid=1234, gid=5678, name="alice", home="/home/alice", privileged=True)


def _request(
    tmp: Path, user: Invoker = ALICE, image: str = "localhost/lat/release:0123456789ab"
) -> RunRequest:
    return RunRequest(
        image=image,
        command=["lat-run", "digi.yaml", "-n", "10"],
        user=user,
        binds=[Bind(str(tmp / "data"), "/data", read_only=False), Bind("/cal", "/cal", True)],
        env={"LAT_RUN": "7", "EMPTY": ""},
        workdir="/data",
    )


def _normalised(argv: list[str]) -> str:
    argv = [Path(argv[0]).name, *argv[1:]]
    return json.dumps(argv, indent=1) + "\n"


CASES = {
    "podman-rootless": ("podman", ALICE),
    "podman-rootful": ("podman", ROOTFUL_ALICE),
    "docker": ("docker", ALICE),
}


@pytest.mark.parametrize("case", list(CASES))
def test_engine_argv_matches_golden(case: str, golden) -> None:  # type: ignore[no-untyped-def]
    runtime_name, user = CASES[case]
    request = _request(Path("/scratch"), user)
    golden(f"argv/{case}.json", _normalised(get_runtime(runtime_name).argv(request)))


def test_charliecloud_argv_matches_golden(golden) -> None:  # type: ignore[no-untyped-def]
    request = RunRequest(
        image="/cache/charliecloud/0123abcd",
        command=["lat-run", "digi.yaml"],
        user=ALICE,
        binds=[Bind("/scratch/data", "/data")],
        env={"LAT_RUN": "7"},
        workdir="/data",
    )
    golden("argv/charliecloud.json", _normalised(get_runtime("charliecloud").argv(request)))


def test_native_argv_matches_golden(golden) -> None:  # type: ignore[no-untyped-def]
    request = RunRequest(
        image="lat/release",
        command=["lat-run", "digi.yaml"],
        user=ALICE,
        binds=[Bind("/scratch/data", "/scratch/data")],
        env={"LAT_RUN": "7"},
        workdir="/scratch/data",
        image_env={"LAT_RELEASE": "1.0"},
        profiles=["/spec/image/framework_setup.sh"],
    )
    golden("argv/native.json", _normalised(get_runtime("native").argv(request)))


@pytest.mark.parametrize("name", ["podman", "docker", "charliecloud"])
def test_container_runtimes_lock_the_container_down(name: str) -> None:
    request = RunRequest(image="/img" if name == "charliecloud" else "img", command=["true"], user=ALICE)
    argv = get_runtime(name).argv(request)
    if name == "charliecloud":
        assert "--write" not in argv and "-w" not in argv and "--unset-env=*" in argv
    else:
        for option in ("--read-only", "--security-opt=no-new-privileges", "--network=host", "--rm"):
            assert option in argv
        assert "--privileged" not in argv


def test_every_runtime_applies_the_login_profile_then_explicit_env() -> None:
    for name in RUNTIMES:
        image = "registry.example.org/img:1" if name == "shifter" else "/img"  # Shifter: registry images only
        request = RunRequest(image=image, command=["printenv", "X"], user=ALICE, env={"X": "1"})
        argv = get_runtime(name).argv(request)
        tail = argv[argv.index("/bin/sh") :]
        assert tail[:2] == ["/bin/sh", "-l"] and tail[-3:] == ["X=1", "printenv", "X"], name


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("relative/only", "does not exist"),
        ("/tmp:data", "must be an absolute path"),
        ("/tmp:/data:rx", "bad --bind"),
        ("/tmp:/a:/b:ro", "bad --bind"),
        (":/data", "bad --bind"),
    ],
)
def test_bad_binds(text: str, message: str) -> None:
    with pytest.raises(HepstackError, match=message):
        Bind.parse(text)


@pytest.mark.parametrize("text", ["NOEQUALS", "1X=2", "A-B=1", "=v"])
def test_bad_env(text: str) -> None:
    with pytest.raises(HepstackError, match="bad --env"):
        parse_env([text])


def test_native_refuses_a_moving_bind() -> None:
    request = RunRequest(image="x", command=["true"], user=ALICE, binds=[Bind("/a", "/b")])
    with pytest.raises(HepstackError, match="cannot bind /a at /b"):
        get_runtime("native").argv(request)


def test_charliecloud_refuses_read_only_bind() -> None:
    request = RunRequest(image="/img", command=["true"], user=ALICE, binds=[Bind("/a", "/b", True)])
    with pytest.raises(HepstackError, match="read-only"):
        get_runtime("charliecloud").argv(request)


def test_unknown_runtime_suggests() -> None:
    with pytest.raises(HepstackError) as caught:
        get_runtime("dokcer")
    assert caught.value.hint is not None and "did you mean 'docker'" in caught.value.hint
