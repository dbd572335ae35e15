"""One test per reported reproducer (docs/input-limits.md): each gave a traceback, a hang or unbounded
memory before; now each is an error with file:line, key path and hint (or, where the input is fine, it loads).

Every test runs under a 10 s alarm, so a hang fails the test instead of the suite. The worst kinds
(/dev/zero, a FIFO as the spec, an alias bomb) run through the real CLI in tests/fuzz/.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from hepstack.bench.study import load_study
from hepstack.build.plan import make_plan
from hepstack.errors import LocatedErrors, SpecError
from hepstack.sites import load_sites
from hepstack.spec import load_stack

SPEC = """\
stack: demo
release: "1.0"
layers:
  base:
    bootstrap: {suite: bookworm}
  app:
    from: base
    copy: {app.py: /opt/app.py}
    profile: setup.sh
    pip: ["-r req.txt"]
  study:
    from: app
    containerfile: files/study.Containerfile
"""
CONTAINERFILE = "FROM debian\nCOPY app.py /opt/study/app.py\n"


@pytest.fixture(autouse=True)
def no_hang() -> Iterator[None]:
    def expired(signum: int, frame: object) -> None:
        raise TimeoutError("hung for 10 s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _spec(tmp_path: Path, text: str = SPEC, containerfile: str | bytes = CONTAINERFILE) -> Path:
    for name, content in {"app.py": "print(1)\n", "setup.sh": "X=1\n", "req.txt": "six\n"}.items():
        (tmp_path / name).write_text(content)
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "app.py").write_text("print(2)\n")
    raw = containerfile.encode() if isinstance(containerfile, str) else containerfile
    (tmp_path / "files" / "study.Containerfile").write_bytes(raw)
    spec = tmp_path / "stack.yaml"
    spec.write_text(text, encoding="utf-8", errors="surrogatepass")
    return spec


def _errors(spec: Path) -> list[SpecError]:
    """The problems of the dry run (load the spec, plan and hash every layer) of ``spec``."""
    with pytest.raises(LocatedErrors) as caught:
        make_plan(load_stack(spec))
    return caught.value.errors


def _one(spec: Path, line: int | None, key_path: str, *words: str) -> SpecError:
    errors = _errors(spec)
    assert len(errors) == 1, [str(e) for e in errors]
    (error,) = errors
    assert (error.file, error.line, error.key_path) == (str(spec), line, key_path), str(error)
    for word in words:
        assert word in str(error), str(error)
    assert error.hint
    return error


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _socket(path: Path) -> Path:
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
    return path


# --- the YAML itself -----------------------------------------------------------------------------------


def test_alias_bomb_stops_at_the_budget(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    spec = _spec(tmp_path, "\n".join(lines) + "\n" + SPEC.replace("stack: demo", "stack: *a9"))
    _one(spec, 5, "a4[1]", "more than 20,000 nodes, aliases expanded")


def test_aliases_of_a_long_string_count_its_length(tmp_path: Path) -> None:
    packages = "    profile: setup.sh\n    packages: [" + ", ".join(["*big"] * 100) + "]"
    text = f'big: &big "{"x" * 60_000}"\n' + SPEC.replace("    profile: setup.sh", packages)
    _one(_spec(tmp_path, text), 11, "layers.app.packages[68]", "characters of text, aliases expanded")


def test_control_bytes_are_located(tmp_path: Path) -> None:
    spec = _spec(tmp_path, SPEC.replace("stack: demo", "stack: de\x01mo"))
    _one(spec, 1, "(file)", "character U+0001 at line 1, column 10 is not allowed")


def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path: Path) -> None:
    spec = _spec(tmp_path, SPEC + "description: " + "[" * 600 + "]" * 600 + "\n")
    _one(spec, 14, "description[0][0]" + "[0]" * 47, "nested deeper than 50 levels")


@pytest.mark.parametrize(
    ("value", "key_path", "words"),
    [
        ("9" * 400, "size_budget.layer", "a number of 400 characters is out of range"),
        ('"' + "9" * 400 + 'GB"', "size_budget.layer", "not a size"),
        ("-5", "size_budget.layer", "out of range"),
        ("0", "size_budget.layer", "out of range"),
        ("true", "size_budget.layer", "not a size"),
        ("1e999", "size_budget.layer", "not a finite number"),
    ],
)
def test_numbers_are_range_checked(tmp_path: Path, value: str, key_path: str, words: str) -> None:
    spec = _spec(tmp_path, SPEC.replace("layers:\n", f"size_budget: {{layer: {value}}}\nlayers:\n", 1))
    errors = _errors(spec)
    assert [(e.line, e.key_path) for e in errors][:1] == [(3, key_path)], [str(e) for e in errors]
    assert words in str(errors[0])


@pytest.mark.parametrize(
    ("escape", "words"), [("\\0", "a NUL character"), ("\\x00", "a NUL character"), ("\\ud800", "escape")]
)
def test_nul_and_lone_surrogates_in_strings(tmp_path: Path, escape: str, words: str) -> None:
    spec = _spec(tmp_path, SPEC.replace('release: "1.0"', f'release: "1.0"\ndescription: "a{escape}b"'))
    errors = _errors(spec)
    assert [e.line for e in errors] == [3] and words in str(errors[0]), [str(e) for e in errors]


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system", "!!python/name:os.system", "!!binary"])
def test_python_and_other_tags_are_refused(tmp_path: Path, tag: str) -> None:
    spec = _spec(tmp_path, SPEC.replace("stack: demo", f"stack: {tag} ZGVtbw=="))
    _one(spec, 1, "stack", f"the YAML tag {tag.split()[0]} is not allowed")


def test_a_one_megabyte_comment_loads(tmp_path: Path) -> None:
    # ruamel.yaml's round-trip loader took 20 s over a comment after a value, at the end of a line
    spec = _spec(tmp_path, SPEC.replace("stack: demo", "stack: demo # " + "x" * 1_000_000))
    assert load_stack(spec).name == "demo"


def test_one_megabyte_name(tmp_path: Path) -> None:
    spec = _spec(tmp_path, SPEC.replace("stack: demo", "stack: " + "n" * 1_000_000))
    _one(spec, 1, "stack", "a value of 1,000,000 characters, over the limit of 65,536")


def test_long_names_are_refused_before_they_reach_an_argv(tmp_path: Path) -> None:
    errors = _errors(_spec(tmp_path, SPEC.replace("stack: demo", "stack: " + "n" * 64)))
    assert [(e.line, e.key_path) for e in errors] == [(1, "stack")]


def test_a_file_over_the_size_limit(tmp_path: Path) -> None:
    spec = _spec(tmp_path, SPEC + "#" * (2 * 2**20) + "\n")
    _one(spec, None, "(file)", "over the limit of 1,048,576")


def test_invalid_utf8_in_the_spec(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    spec.write_bytes(SPEC.encode().replace(b"demo", b"d\xe9mo", 1))
    _one(spec, 1, "(file)", "not valid UTF-8: byte 0xe9 at line 1, column 9")


# --- paths the layers read --------------------------------------------------------------------------------


def test_fifo_as_copy_source_profile_or_containerfile(tmp_path: Path) -> None:
    _fifo(tmp_path / "pipe")
    text = SPEC.replace("app.py: /opt/app.py", "pipe: /opt/pipe").replace("setup.sh", "pipe")
    spec = _spec(tmp_path, text.replace("files/study.Containerfile", "pipe"))
    assert {(e.line, e.key_path) for e in _errors(spec)} == {
        (8, "layers.app.copy.pipe"),
        (9, "layers.app.profile"),
        (13, "layers.study.containerfile"),
    }
    assert all("is a FIFO" in str(e) for e in _errors(spec))


@pytest.mark.parametrize("special", ["fifo", "socket"])
def test_special_files_inside_a_copied_directory(tmp_path: Path, special: str) -> None:
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "ok.py").write_text("")
    (_fifo if special == "fifo" else _socket)(tmp_path / "tree" / "bad")
    spec = _spec(tmp_path, SPEC.replace("app.py: /opt/app.py", "tree/: /opt/tree/"))
    _one(spec, 8, "layers.app.copy.tree/", f"holds a {'FIFO' if special == 'fifo' else 'socket'}")


def test_symlink_loop_as_copy_source(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    spec = _spec(tmp_path, SPEC.replace("app.py: /opt/app.py", "a: /opt/a"))
    _one(spec, 8, "layers.app.copy.a", "is a symlink loop")


def test_path_component_over_255_bytes(tmp_path: Path) -> None:
    spec = _spec(tmp_path, SPEC.replace("app.py: /opt/app.py", f"{'a' * 300}: /opt/a"))
    error = _one(spec, 8, "layers.app.copy." + "a" * 80 + "...", "is too long")
    assert len(str(error)) < 1000


@pytest.mark.parametrize(
    ("old", "new", "line", "key_path"),
    [
        (
            "    containerfile: files/study.Containerfile",
            '    containerfile: ""',
            13,
            "layers.study.containerfile",
        ),
        ("    profile: setup.sh", '    profile: ""', 9, "layers.app.profile"),
        ("{app.py: /opt/app.py}", '{"": /opt/app}', 8, "layers.app.copy."),
        ('["-r req.txt"]', '["-r "]', 10, "layers.app.pip[0]"),
    ],
)
def test_empty_paths_are_refused_not_the_whole_directory(
    tmp_path: Path, old: str, new: str, line: int, key_path: str
) -> None:
    _one(_spec(tmp_path, SPEC.replace(old, new)), line, key_path, "is empty")


def test_copy_source_outside_the_spec_directory(tmp_path: Path) -> None:
    spec = _spec(tmp_path, SPEC.replace("app.py: /opt/app.py", "../../../../etc/shadow: /x"))
    _one(spec, 8, "layers.app.copy.../../../../etc/shadow", "must be inside")


# --- Containerfile layers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("containerfile", "words"),
    [
        (
            "FROM debian\nCOPY ../../../../etc/shadow /x\n",
            "COPY source '../../../../etc/shadow' must be inside",
        ),
        ("FROM debian\nCOPY /etc/passwd /x\n", "COPY source '/etc/passwd' not found"),  # context-relative
        ("FROM debian\nCOPY *.nothing /x/\n", "COPY source '*.nothing' matches no file"),
        ("FROM debian\nCOPY [app.py, /x]\n", "COPY in JSON form must be a list of strings"),
        ("FROM debian\nCOPY $SRC /x\n", "COPY source '$SRC' uses a variable"),
        ("FROM debian\nCOPY app.py\n", "COPY needs a source and a destination"),
    ],
)
def test_containerfile_copy_sources_are_checked(tmp_path: Path, containerfile: str, words: str) -> None:
    spec = _spec(tmp_path, containerfile=containerfile)
    error = _one(spec, 13, "layers.study.containerfile", f"{tmp_path}/files/study.Containerfile:2: {words}")
    assert "/etc" not in "".join(str(p) for p in getattr(error, "inputs", []))


def test_containerfile_absolute_json_and_glob_sources_are_read_from_the_context(tmp_path: Path) -> None:
    containerfile = 'FROM debian\nCOPY /app.py /a\nCOPY ["data/", "/d/"]\nCOPY --chown=1:1 *.txt /t/\n'
    spec = _spec(tmp_path, containerfile=containerfile)
    (tmp_path / "files" / "data").mkdir()
    (tmp_path / "files" / "data" / "x").write_text("")
    for name in ("one.txt", "two.txt"):
        (tmp_path / "files" / name).write_text(name)
    plan = {layer.name: layer for layer in make_plan(load_stack(spec))}
    context = (tmp_path / "files").resolve()
    assert plan["study"].inputs == sorted(context / name for name in ("app.py", "data", "one.txt", "two.txt"))


@pytest.mark.parametrize(
    ("containerfile", "line", "words"),
    [
        (b"FROM --platform=linux/amd64\n", 1, "FROM without an image"),
        (b"FROM debian\nRUN echo \xe9t\xe9\n", 2, "not valid UTF-8: byte 0xe9 at line 2, column 10"),
        (b"", None, "the first instruction (after ARG) must be FROM"),
    ],
)
def test_containerfile_that_cannot_be_used(
    tmp_path: Path, containerfile: bytes, line: int | None, words: str
) -> None:
    spec = _spec(tmp_path, containerfile=containerfile)
    where = f"study.Containerfile:{line}: " if line else "study.Containerfile: "
    _one(spec, 13, "layers.study.containerfile", where + words)


# --- site and study files share the mechanism ------------------------------------------------------------


def test_site_files_that_are_fifos_control_bytes_or_deep(tmp_path: Path) -> None:
    _fifo(tmp_path / "a.yaml")
    (tmp_path / "b.yaml").write_text("name: b\nscheduler: slurm\x01\nruntime: podman\n")
    (tmp_path / "c.yaml").write_text("name: c\nscheduler: slurm\nruntime: podman\nenv: " + "[" * 600 + "\n")
    with pytest.raises(LocatedErrors) as caught:
        load_sites({"HEPSTACK_SITES_PATH": str(tmp_path)})
    located = {(Path(e.file).name, e.line, e.key_path) for e in caught.value.errors}
    assert located == {
        ("a.yaml", None, "(file)"),
        ("b.yaml", 2, "(file)"),
        ("c.yaml", 4, "env[0]" + "[0]" * 48),
    }
    assert caught.value.message.startswith("the site files have 3 problems (nothing was submitted):")


STUDY = """\
study: toy
image: lat/release
events: 10
workloads:
  - name: sorter
    command: [lat-run, "{events}"]
    inputs: prepared
arms:
  - {name: native, runtime: native}
"""


@pytest.mark.parametrize(
    ("inputs", "words"), [("a" * 300, "inputs is too long"), ("loop", "inputs is a symlink loop")]
)
def test_study_inputs_that_cannot_be_looked_up(tmp_path: Path, inputs: str, words: str) -> None:
    (tmp_path / "loop").symlink_to("loop")
    path = tmp_path / "study.yaml"
    path.write_text(STUDY.replace("prepared", inputs))
    with pytest.raises(LocatedErrors) as caught:
        load_study(path)
    assert [(e.line, e.key_path) for e in caught.value.errors] == [(7, "workloads[0].inputs")]
    assert words in str(caught.value.errors[0])


def test_study_counts_are_range_checked(tmp_path: Path) -> None:
    path = tmp_path / "study.yaml"
    path.write_text(
        STUDY.replace("    inputs: prepared\n", "").replace("events: 10", "events: 10\nrepetitions: 99999")
    )
    with pytest.raises(LocatedErrors) as caught:
        load_study(path)
    assert [(e.line, e.key_path) for e in caught.value.errors] == [(4, "repetitions")]


def test_study_file_that_is_a_fifo(tmp_path: Path) -> None:
    with pytest.raises(LocatedErrors, match=r"study.yaml: \(file\): not a regular file \(a FIFO\)"):
        load_study(_fifo(tmp_path / "study.yaml"))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", 1),
        ("-12", -12),
        ("012", 12),
        ("1_000", 1000),
        ("0x1f", 31),
        ("0o17", 15),
        ("0b101", 5),
        ("1.5", 1.5),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("true", True),
        ("False", False),
        ("~", None),
        ("null", None),
        ("yes", "yes"),
        ("_1", "_1"),
        ("2024-01-01", "2024-01-01"),
        ("1.0.0", "1.0.0"),
        ("'1'", "1"),
    ],
)
def test_plain_scalars_resolve_as_ruamel_resolved_them_for_yaml_1_2(text: str, value: object) -> None:
    from hepstack.spec.source_map import parse_yaml

    data, _source = parse_yaml(f"key: {text}\n", "test.yaml")
    assert data == {"key": value} and type(data["key"]) is type(value)
