"""Malformed inputs for every comparer (docs/verify.md): each is an input error (exit 2) or a named difference
(exit 1) — never "equal", never another exception (a traceback), never a hang.

The rule the table follows: a file whose first bytes claim a format (``root``, ``SIMPLE  =``, gzip) must be
readable as that format in full, else it is an input error; files of two kinds are a ``format`` difference;
bytes a format's reader skips (after ROOT's fEND, after the last FITS HDU) are compared as bytes.
"""

from __future__ import annotations

import gzip
import os
import random
import socket
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hepstack.verify import VerifyInputError, compare_paths
from tests.verify.builders import UNPRIVILEGED, run_cli, write_fits, write_root

FITS_SIZED_ZEROS = b"SIMPLE  =                    T"


def _valid_files() -> dict[str, bytes]:
    with tempfile.TemporaryDirectory(prefix="verify-valid-") as folder:
        root = write_root(Path(folder, "valid.root")).read_bytes()
        fits = write_fits(Path(folder, "valid.fits")).read_bytes()
    return {
        "root": root,
        "fits": fits,
        "fits.gz": gzip.compress(fits, mtime=0),
        "text": b"".join(f"event {i}: ok\n".encode() for i in range(200)),
        "bytes": bytes(range(256)) * 8,
    }


VALID = _valid_files()
MAGIC = {"root": b"root", "fits": b"SIMPLE  =", "fits.gz": gzip.compress(b"SIMPLE  =", mtime=0)}


@dataclass(frozen=True)
class Case:
    comparer: str
    name: str
    make: Callable[[bytes], bytes]
    expect: str  # "error" (exit 2) or a Difference kind (exit 1)
    message: str  # in the error message, or at the start of the difference's location


def _zeros_after(magic: bytes) -> Callable[[bytes], bytes]:
    return lambda valid: magic + bytes(len(valid) - len(magic))


def _gzip_of(change: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
    return lambda valid: gzip.compress(change(gzip.decompress(valid)), mtime=0)


def _flip_middle(valid: bytes) -> bytes:
    middle = len(valid) // 2
    return valid[:middle] + bytes(b ^ 0xFF for b in valid[middle : middle + 16]) + valid[middle + 16 :]


def _bad_crc(valid: bytes) -> bytes:
    (crc,) = struct.unpack("<I", valid[-8:-4])
    return valid[:-8] + struct.pack("<I", crc ^ 1) + valid[-4:]


def _cases() -> list[Case]:
    cases: list[Case] = []
    for comparer in ("root", "fits", "fits.gz"):
        structured = comparer != "fits.gz"
        cases += [
            Case(comparer, "cut at 60 %", lambda v: v[: len(v) * 3 // 5], "error", "B:"),
            Case(comparer, "one byte short", lambda v: v[:-1], "error", "B:"),
            Case(comparer, "magic bytes only", lambda _v, c=comparer: MAGIC[c], "error", "B:"),
            Case(comparer, "empty", lambda _v: b"", "format", "file type"),
            Case(
                comparer,
                "wrong magic",
                (lambda v: bytes([v[0] ^ 0x20]) + v[1:]) if structured else _gzip_of(lambda v: b"X" + v[1:]),
                "format",
                "file type",
            ),
        ]
    after_root = "after the end of the ROOT data (fEND): trailing byte 0 (A has 0, B has 14 trailing bytes)"
    after_fits = "after the last HDU: trailing byte 0 (A has 0, B has 14 trailing bytes)"
    cases += [
        Case("root", "magic then zeros, same size", _zeros_after(b"root"), "error", "fVersion is 0"),
        Case("root", "trailing bytes", lambda v: v + b"\0" * 10 + b"junk", "bytes", after_root),
        Case("root", "streamer info record gone", _without_streamer_info, "error", "it was not closed"),
        Case(
            "fits", "magic then zeros, same size", _zeros_after(FITS_SIZED_ZEROS), "error", "not ASCII text"
        ),
        Case("fits", "trailing bytes", lambda v: v + b"\0" * 10 + b"junk", "bytes", after_fits),
        Case("fits", "header without END", _without_end_card, "error", "no END card"),
        Case("fits", "NAXIS not a number", _bad_naxis, "error", "NAXIS = 'two' is not an integer"),
        Case("fits.gz", "trailing bytes", _gzip_of(lambda v: v + b"\0" * 10 + b"junk"), "bytes", after_fits),
        Case("fits.gz", "corrupt deflate data", _flip_middle, "error", "the gzip stream is corrupt"),
        Case("fits.gz", "bad CRC", _bad_crc, "error", "CRC check failed"),
        Case("fits.gz", "gzip trailer cut", lambda v: v[:-8], "error", "the gzip stream is corrupt"),
        Case("fits.gz", "garbage after the gzip member", lambda v: v + b"garbage!", "error", "gzip"),
    ]
    for comparer in ("text", "bytes"):
        kind = comparer
        cases += [
            Case(comparer, "truncated to half", lambda v: v[: len(v) // 2], kind, ""),
            Case(comparer, "one byte short", lambda v: v[:-1], kind, ""),
            Case(comparer, "empty", lambda _v: b"", kind, ""),
            Case(comparer, "trailing bytes", lambda v: v + b"junk", kind, ""),
            Case(comparer, "first byte changed", lambda v: bytes([v[0] ^ 0x20]) + v[1:], kind, ""),
        ]
    return cases


def _without_streamer_info(valid: bytes) -> bytes:
    data = bytearray(valid)
    data[37:41] = bytes(4)  # fSeekInfo of a small-file TFile header: as if Close() never ran
    return bytes(data)


def _without_end_card(valid: bytes) -> bytes:
    """The primary header alone, its END card blanked."""
    end = valid.index(b"END" + b" " * 77)
    return valid[:end] + b" " * 80 + valid[end + 80 : 2880]


def _bad_naxis(valid: bytes) -> bytes:
    start = valid.index(b"NAXIS   =")
    return valid[:start] + b"NAXIS   = 'two'".ljust(80) + valid[start + 80 :]


CASES = _cases()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.comparer}-{c.name}" for c in CASES])
def test_malformed_file_is_an_input_error_or_a_named_difference(tmp_path: Path, case: Case) -> None:
    good, bad = tmp_path / f"a.{case.comparer}", tmp_path / f"b.{case.comparer}"
    good.write_bytes(VALID[case.comparer])
    bad.write_bytes(case.make(VALID[case.comparer]))
    assert bad.read_bytes() != good.read_bytes()

    for a, b in ((good, bad), (bad, good)):
        side = "B:" if b == bad else "A:"
        if case.expect == "error":
            with pytest.raises(VerifyInputError) as caught:
                compare_paths(a, b)
            message = caught.value.message
            assert case.message.replace("B:", side) in message
            assert str(bad) in message
            assert caught.value.hint
        else:
            report = compare_paths(a, b)
            assert not report.equal
            first = report.differences[0]
            assert first.kind == case.expect
            if b == bad:
                assert first.location.startswith(case.message)


@pytest.mark.parametrize("comparer", ["root", "fits", "fits.gz"])
def test_random_damage_never_escapes_as_another_exception(tmp_path: Path, comparer: str) -> None:
    """Bytes overwritten anywhere: the comparison reports or refuses, with no exception of the readers'."""
    good = tmp_path / "good"
    good.write_bytes(VALID[comparer])
    rng = random.Random(f"verify-{comparer}")
    outcomes = set()
    for attempt in range(25):
        data = bytearray(VALID[comparer])
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        damaged = tmp_path / f"damaged-{attempt}"
        damaged.write_bytes(bytes(data))
        try:
            outcomes.add("equal" if compare_paths(good, damaged).equal else "different")
        except VerifyInputError as error:
            assert str(damaged) in error.message or "B:" in error.message or "cannot compare" in error.message
            outcomes.add("error")
    assert "error" in outcomes


def test_byte_identical_files_are_equal_without_being_parsed(tmp_path: Path) -> None:
    data = b"root" + bytes(200)
    (tmp_path / "a").write_bytes(data)
    (tmp_path / "b").write_bytes(data)
    assert compare_paths(tmp_path / "a", tmp_path / "b").equal


def test_a_text_file_starting_with_root_is_text(tmp_path: Path) -> None:
    session = "root@host:~# make -j2 all && make install DESTDIR=/tmp/stage\n"
    (tmp_path / "a.log").write_text(f"{session}ok\n")
    (tmp_path / "b.log").write_text(f"{session}failed\n")
    [difference] = compare_paths(tmp_path / "a.log", tmp_path / "b.log").differences
    assert (difference.kind, difference.location) == ("text", "line 2")


# --- what the paths are ------------------------------------------------------------------------------


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    """Two equal output directories: a/ and b/ with out.root, sub/events.fits, job.log."""
    for side in ("a", "b"):
        (tmp_path / side / "sub").mkdir(parents=True)
        (tmp_path / side / "out.root").write_bytes(VALID["root"])
        (tmp_path / side / "sub" / "events.fits").write_bytes(VALID["fits"])
        (tmp_path / side / "job.log").write_bytes(VALID["text"])
    return tmp_path / "a", tmp_path / "b"


def _loop(b: Path) -> None:
    (b / "sub" / "again").symlink_to("..")


def _dangling(b: Path) -> None:
    (b / "sub" / "gone.root").symlink_to("nowhere.root")


def _self_link(b: Path) -> None:
    (b / "self").symlink_to("self")


def _socket(b: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(b / "sub" / "control.sock"))
    server.close()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_loop, "is a symlink loop (it leads back to a directory that contains it)"),
        (_self_link, "is a symlink loop"),
        (_dangling, "is a dangling symlink (to nowhere.root, which does not exist)"),
        (_socket, "is a socket, not a regular file"),
        (lambda b: (b / "job.log").unlink() or (b / "job.log").mkdir(), None),
    ],
    ids=["symlink loop", "self symlink", "dangling symlink", "socket", "file vs directory"],
)
def test_special_entries_in_directories(
    pair: tuple[Path, Path], change: Callable[[Path], object], message: str | None
) -> None:
    a, b = pair
    change(b)
    if message is None:
        [difference] = compare_paths(a, b).differences
        assert (difference.file, difference.kind, difference.a, difference.b) == (
            "job.log",
            "format",
            "file",
            "directory",
        )
        return
    with pytest.raises(VerifyInputError) as caught:
        compare_paths(a, b)
    assert caught.value.message.startswith("B: ")
    assert message in caught.value.message
    assert caught.value.hint


def test_directories_on_one_side_are_differences_even_empty(pair: tuple[Path, Path]) -> None:
    a, b = pair
    (b / "empty").mkdir()
    (b / "more" / "deeper").mkdir(parents=True)
    (b / "more" / "deeper" / "x.txt").write_text("x\n")
    (b / "sub" / "events.fits").unlink()

    report = compare_paths(a, b)

    assert [(d.file, d.kind, d.location) for d in report.differences] == [
        ("empty", "extra", "directory"),
        ("more", "extra", "directory"),  # its contents are not listed again, as with diff -r
        ("sub/events.fits", "missing", "file"),
    ]


def test_symlinked_directories_are_followed_and_compared(pair: tuple[Path, Path]) -> None:
    a, b = pair
    elsewhere = b.parent / "elsewhere"
    (b / "sub").rename(elsewhere)
    (b / "sub").symlink_to(elsewhere)
    assert compare_paths(a, b).equal

    (elsewhere / "events.fits").write_bytes(VALID["fits"] + b"junk")
    [difference] = compare_paths(a, b).differences
    assert (difference.file, difference.kind) == ("sub/events.fits", "bytes")


@pytest.mark.parametrize(
    ("make_b", "message"),
    [
        (lambda b: b.mkdir(), "cannot compare file {a} with directory {b}"),
        (lambda b: b.symlink_to(b.name), "B: {b} is a symlink loop"),
        (lambda b: b.symlink_to("missing.root"), "B: {b} is a dangling symlink (to missing.root"),
    ],
    ids=["directory", "symlink loop", "dangling symlink"],
)
def test_top_level_inputs_that_are_not_files(
    tmp_path: Path, make_b: Callable[[Path], object], message: str
) -> None:
    a, b = tmp_path / "a.root", tmp_path / "b.root"
    a.write_bytes(VALID["root"])
    make_b(b)
    with pytest.raises(VerifyInputError) as caught:
        compare_paths(a, b)
    assert message.format(a=a, b=b) in caught.value.message


# --- through the command line: exit 2, no traceback, no hang -----------------------------------------


def _assert_input_error(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 2, result
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: ")
    assert message in lines[0]
    assert lines[-1].startswith("hint: ")


def test_issue_cases_exit_two(tmp_path: Path) -> None:
    """The three reported cases: 'root' and zeros of two sizes (said equal), a corrupt .fits.gz
    (a zlib.error traceback, exit 1), 'SIMPLE  =' and zeros (3.2 GB of memory)."""
    (tmp_path / "a.root").write_bytes(b"root" + bytes(1000))
    (tmp_path / "b.root").write_bytes(b"root" + bytes(3000))
    (tmp_path / "good.fits.gz").write_bytes(VALID["fits.gz"])
    (tmp_path / "bad.fits.gz").write_bytes(_flip_middle(VALID["fits.gz"]))
    for name in ("a.fits", "b.fits"):
        with (tmp_path / name).open("wb") as file:
            file.write(FITS_SIZED_ZEROS)
            file.truncate(8 * 1024 * 1024)

    _assert_input_error(
        run_cli("verify", str(tmp_path / "a.root"), str(tmp_path / "b.root")),
        f"A: {tmp_path / 'a.root'} starts with 'root' but its TFile header is invalid: fVersion is 0",
    )
    _assert_input_error(
        run_cli("verify", str(tmp_path / "good.fits.gz"), str(tmp_path / "bad.fits.gz")),
        f"B: {tmp_path / 'bad.fits.gz'}: the gzip stream is corrupt after ",
    )
    with (tmp_path / "b.fits").open("r+b") as file:
        file.seek(5_000_000)
        file.write(b"x")
    _assert_input_error(
        run_cli("verify", str(tmp_path / "a.fits"), str(tmp_path / "b.fits")),
        "byte 30 of the header is 0x00, not ASCII text",
    )


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "pipe.root"
    os.mkfifo(path)
    yield path


def test_a_fifo_is_refused_without_opening_it(tmp_path: Path, fifo: Path) -> None:
    (tmp_path / "a.root").write_bytes(VALID["root"])
    _assert_input_error(
        run_cli("verify", str(tmp_path / "a.root"), str(fifo), timeout=60),
        f"cannot compare file {tmp_path / 'a.root'} with a FIFO (named pipe) {fifo}",
    )
    for side in ("a", "b"):
        (tmp_path / side).mkdir()
        (tmp_path / side / "out.root").write_bytes(VALID["root"])
    os.mkfifo(tmp_path / "b" / "pipe")
    _assert_input_error(
        run_cli("verify", str(tmp_path / "a"), str(tmp_path / "b"), timeout=60),
        f"B: {tmp_path / 'b' / 'pipe'} is a FIFO (named pipe), not a regular file",
    )


@pytest.fixture
def readable_pair() -> Iterator[Path]:
    """A directory outside pytest's private tmp tree, so permissions are the only thing that denies."""
    folder = Path(tempfile.mkdtemp(prefix="verify-permissions-"))
    folder.chmod(0o755)
    yield folder
    for path in sorted(folder.rglob("*"), reverse=True):
        path.chmod(0o700) if path.is_dir() else path.chmod(0o600)
    subprocess.run(["rm", "-rf", str(folder)], check=True)


@pytest.mark.parametrize("what", ["file", "directory", "file in a directory"])
def test_permission_denied_is_exit_two(readable_pair: Path, what: str) -> None:
    folder = readable_pair
    for side in ("a", "b"):
        (folder / side / "sub").mkdir(parents=True)
        (folder / side / "sub" / "out.root").write_bytes(VALID["root"])
    target = folder / "b" / "sub" if what == "directory" else folder / "b" / "sub" / "out.root"
    target.chmod(0)
    if what == "file":
        a, b = folder / "a" / "sub" / "out.root", target
    else:
        a, b = folder / "a", folder / "b"

    result = run_cli("verify", str(a), str(b), unprivileged=True)

    _assert_input_error(result, f"{target}")
    assert "Permission denied" in result.stderr.splitlines()[0]
    assert "hint: verify needs read permission" in result.stderr


def test_unprivileged_run_is_really_denied(readable_pair: Path) -> None:
    """The permission tests mean something only if the child cannot read a mode-000 file."""
    secret = readable_pair / "secret"
    secret.write_text("x")
    secret.chmod(0)
    code = f"open({str(secret)!r}).read()"
    result = subprocess.run(
        [*UNPRIVILEGED, sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert "PermissionError" in result.stderr
