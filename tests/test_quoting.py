"""hepstack.names and hepstack.quoting: the grammars and the one quoting function per output format."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hepstack.errors import HepstackError
from hepstack.names import ENV_NAME, NAME, is_decimal, is_image_reference, job_name, registry_host
from hepstack.quoting import (
    bash_word,
    bind_field,
    check_text,
    classad_string,
    containerfile_line,
    containerfile_string,
    htcondor_value,
    job_variable,
    lsf_word,
    mount_option_value,
    qemu_option_value,
    sge_word,
    slurm_word,
)

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(
    "reference",
    [
        "lat/release",
        "localhost/lat/release:1.0",
        "docker.io/library/debian:bookworm",
        "registry.example.org:5000/lat/lat/release:1.0",
        f"registry.example.org/lat/release@{DIGEST}",
        f"registry.example.org/lat/release:1.0@{DIGEST}",
        "[::1]:5000/lat/release:latest",
        "a__b/c.d/e-f--g:T_1.x-y",
        "x" * 255,
    ],
)
def test_image_references_of_the_distribution_grammar(reference: str) -> None:
    assert is_image_reference(reference)


@pytest.mark.parametrize(
    "reference",
    [
        "lat/Release",  # upper case in the repository (a domain may have it)
        "lat//release",
        "lat/release:",
        "lat/release:" + "t" * 129,  # a tag is at most 128 characters
        "x" * 256,  # a name is at most 255
        "lat release",
        "-lat",
        "lat..x",
        "lat-",
        "lat/release:1.0\n",
        "lat/release@sha256:abc",  # a digest has at least 32 hex digits
        "élan",
    ],
)
def test_not_image_references(reference: str) -> None:
    assert not is_image_reference(reference)


def test_a_registry_host_is_named_only_by_a_dot_or_a_port() -> None:
    assert registry_host("localhost/lat/release:9673ab25b1f1") is None  # podman's local store
    assert registry_host("lat/digi") is None
    assert registry_host("debian:bookworm") is None
    assert registry_host("127.0.0.1:5000/lat/release@sha256:" + "a" * 64) == "127.0.0.1:5000"
    assert registry_host("docker://registry.example.org/lat/release:1.0") == "registry.example.org"
    assert registry_host("localhost:5000/lat/release:1.0") == "localhost:5000"


def test_names_are_ascii_and_anchored() -> None:
    assert ENV_NAME.match("A_1") and not ENV_NAME.match("A\n") and not ENV_NAME.match("--split-string")
    assert NAME.match("legacy-base") and not NAME.match("base\n") and not NAME.match("a.-b")
    assert is_decimal("42") and not is_decimal("²") and not is_decimal("٣") and not is_decimal("4\n")
    assert (
        job_name("my job\n;rm -rf /") == "my-job-rm--rf-"
        and job_name("--x") == "x"
        and job_name("") == "hepstack"
    )


WORDS = ["plain", "", "a b", "it's", '"q"', "$(touch x)", "`x`", "a\nb", "\\", "%", "é\u2028\x85", "-x", "*"]


def test_bash_words_reach_a_command_unchanged() -> None:
    line = "printf '%s\\0' " + " ".join(bash_word(word) for word in WORDS)
    printed = subprocess.run(["bash", "-c", line], capture_output=True, check=True).stdout.decode()
    assert printed.split("\0")[:-1] == WORDS


def test_job_variables_expand_in_the_job_and_nul_is_refused() -> None:
    word = bash_word(f"HEPSTACK_TASK_INDEX={job_variable('HEPSTACK_TASK_INDEX')}")
    assert word == 'HEPSTACK_TASK_INDEX="${HEPSTACK_TASK_INDEX}"'
    assert bash_word("A=@@HOME@@") == "A=@@HOME@@" and bash_word("A=${HOME}") == "'A=${HOME}'"
    with pytest.raises(HepstackError, match="NUL"):
        bash_word("a\0b")
    with pytest.raises(HepstackError, match="not a shell variable name"):
        job_variable("A-B")


@pytest.mark.parametrize(
    "value", ["a\nb", "a\rb", "a\0b", "a\x1bb", "a\x7fb", "a\x85b", "a\u2028b", "a\u2029b"]
)
def test_control_characters_are_refused_with_a_hint(value: str) -> None:
    for check in (
        lambda v: check_text(v, "x"),
        lambda v: slurm_word(v, "x"),
        lambda v: sge_word(v, "x"),
        lambda v: lsf_word(v, "x"),
        lambda v: htcondor_value(v, "x"),
        lambda v: mount_option_value(v, "x"),
        lambda v: bind_field(v, "x"),
        lambda v: containerfile_line(v, "x"),
        lambda v: containerfile_string(v, "x"),
        lambda v: qemu_option_value(v, "x"),
    ):
        with pytest.raises(HepstackError, match="control character") as refused:
            check(value)
        assert refused.value.hint


def test_directive_words() -> None:
    assert slurm_word("debug", "q") == "debug"
    assert (
        slurm_word("a b#c'd\"e\\f", "q") == '"a b#c\'d\\"e\\\\f"'
    )  # read back by sbatch: test_directive_parsers
    assert sge_word("/a b/x", "o") == '"/a b/x"'
    assert lsf_word("rusage[mem=1]", "R") == '"rusage[mem=1]"'
    for bad in ("a#b", "it's", 'a"b'):
        with pytest.raises(HepstackError, match="qsub cannot carry"):
            sge_word(bad, "x")
    with pytest.raises(HepstackError, match="qsub cannot carry"):
        sge_word("/a:b", "x", forbidden=",:$")
    for bad in ("a$b", "a\\b", "a#b", "a`b`"):
        with pytest.raises(HepstackError, match="bsub cannot carry"):
            lsf_word(bad, "x")


def test_htcondor_values() -> None:
    assert htcondor_value("/a b/x", "x") == "/a b/x"
    assert classad_string('say "hi" \\', "x") == '"say \\"hi\\" \\\\"'
    for bad, reason in (("$(Process)", "macro"), ("x\\", "joins the next"), (" x", "whitespace")):
        with pytest.raises(HepstackError, match=reason):
            htcondor_value(bad, "x")


def test_mount_and_bind_fields() -> None:
    assert mount_option_value("/a b/c=d", "s") == "/a b/c=d"
    for bad in ("/tmp,source=/etc", '/a"b'):
        with pytest.raises(HepstackError, match="mount option"):
            mount_option_value(bad, "s")
    for bad in ("/a:b", "/a,b", "/a;b"):
        with pytest.raises(HepstackError, match="separates bind"):
            bind_field(bad, "s")
    assert mount_option_value(f"{job_variable('SCRATCH')}/x", "s")  # a job-time variable is no NUL


def test_containerfile_values() -> None:
    assert containerfile_line("python3 -m compileall -q /opt", "run") == "python3 -m compileall -q /opt"
    assert containerfile_line("echo 'a<<<b'", "run")  # bash's here-string is no here-document
    for bad, reason in (
        ("true \\", "joins the next"),
        ("cat <<EOF", "here-document"),
        ("x <<-'E'", "here-document"),
    ):
        with pytest.raises(HepstackError, match=reason):
            containerfile_line(bad, "run")
    assert containerfile_string('é "q" \\ $HOME', "env") == '"é \\"q\\" \\\\ \\$HOME"'  # all literal


def test_qemu_option_values_are_read_back_by_qemu(tmp_path: Path) -> None:
    """QEMU's own option parser (qemu-img --image-opts) reads a doubled comma back as one: a path with
    ',' or ',driver=...' in it names that file and sets no option."""
    import shutil

    if shutil.which("qemu-img") is None:
        pytest.skip("qemu-img is not installed (scripts/setup-host.sh installs qemu-utils)")
    folder = tmp_path / "a,b"
    folder.mkdir()
    disk = folder / "x,file.driver=null-co,y=z"
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(disk), "1M"], check=True)
    options = f"driver=raw,file.driver=file,file.filename={qemu_option_value(str(disk), 'path')}"
    shown = subprocess.run(
        ["qemu-img", "info", "--image-opts", options], capture_output=True, text=True, check=True
    )
    assert f"image: {disk}\n" in shown.stdout and "virtual size: 1 MiB" in shown.stdout
