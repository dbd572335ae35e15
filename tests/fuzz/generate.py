"""Seeded generator of hostile stack specs, site files and study files (docs/input-limits.md).

Each case starts from a valid document of ``corpus`` and gets one mutation of a named kind (and, in a
third of the cases, a few random bytes flipped on top). The same seed gives the same cases.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fuzz import corpus

TARGETS = {"stack": "stack.yaml", "site": "fuzzsite.yaml", "study": "study.yaml"}
BASES = {"stack": corpus.STACK, "site": corpus.SITE, "study": corpus.STUDY}
FILES = {"stack": corpus.STACK_FILES, "site": {}, "study": corpus.STUDY_FILES}
MiB = 2**20


@dataclass
class Case:
    """One generated input: a directory of files, the document to load, and how it was made."""

    number: int
    target: str  # stack | site | study
    kind: str
    document: bytes
    entry: str  # what is loaded: the document's name, a special file's, or an absolute path (/dev/zero)
    files: dict[str, bytes] = field(default_factory=dict)
    extra_site_files: dict[str, str] = field(default_factory=dict)  # name -> special kind

    def materialize(self, root: Path) -> Path:
        """Write the case under ``root``/case-NNNN; returns that directory."""
        directory = root / f"case-{self.number:05d}"
        directory.mkdir()
        for name, content in {**self.files, TARGETS[self.target]: self.document}.items():
            path = directory / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        # the special files a document names, in its own directory (a Containerfile's is its context)
        texts = {TARGETS[self.target]: self.document + b"\n" + self.entry.encode(), **self.files}
        for file, text in texts.items():
            for name, make in SPECIALS.items():
                place = (directory / file).parent / name
                if name.encode() in text and not place.exists() and not place.is_symlink():
                    make(place)
        for name, special in self.extra_site_files.items():
            SPECIALS[special](directory / name)
        return directory


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))


def _loop(path: Path) -> None:
    path.symlink_to(path.name + "-2")
    path.with_name(path.name + "-2").symlink_to(path.name)


def _tree(inside: Callable[[Path], None]) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.mkdir()
        (path / "ok.txt").write_text("ok\n")
        inside(path / "bad")

    return make


def _deep(path: Path) -> None:
    current = path
    for _ in range(120):
        current = current / "d"
    current.mkdir(parents=True)
    (current / "leaf.txt").write_text("leaf\n")


SPECIALS: dict[str, Callable[[Path], None]] = {
    "fifo": _fifo,
    "sock": _socket,
    "loop": _loop,
    "link-zero": lambda path: path.symlink_to("/dev/zero"),
    "link-passwd": lambda path: path.symlink_to("/etc/passwd"),
    "link-up": lambda path: path.symlink_to(".."),
    "treefifo": _tree(_fifo),
    "treesock": _tree(_socket),
    "treeloop": _tree(_loop),
    "treedev": _tree(lambda path: path.symlink_to("/dev/zero")),
    "treedeep": _deep,
    "directory": lambda path: path.mkdir(),
}


# --- mutations: each takes (random, target, text) and returns (kind detail, new text, extra files) --------

Mutation = Callable[[random.Random, str, str], tuple[str, str | bytes]]


def valid(rng: random.Random, target: str, text: str) -> tuple[str, str | bytes]:
    return "valid", text


def bytes_changed(rng: random.Random, target: str, text: str) -> tuple[str, str | bytes]:
    data = bytearray(text.encode())
    for _ in range(rng.randint(1, 8)):
        position = rng.randrange(len(data) + 1)
        choice = rng.random()
        if choice < 0.4 and data:
            data[min(position, len(data) - 1)] = rng.randrange(256)
        elif choice < 0.7:
            data[position:position] = rng.choice([*corpus.CONTROL_BYTES, bytes([rng.randrange(256)])])
        elif choice < 0.85:
            del data[position : position + rng.randint(1, 40)]
        else:
            data[position:position] = rng.choice(corpus.TOKENS).encode()
    return "bytes", bytes(data)


def lines_changed(rng: random.Random, target: str, text: str) -> tuple[str, str | bytes]:
    lines = text.splitlines()
    for _ in range(rng.randint(1, 4)):
        index = rng.randrange(len(lines))
        action = rng.choice(["swap", "duplicate", "delete", "indent", "dedent", "tab", "truncate"])
        if action == "swap":
            other = rng.randrange(len(lines))
            lines[index], lines[other] = lines[other], lines[index]
        elif action == "duplicate":
            lines.insert(index, lines[index])
        elif action == "delete" and len(lines) > 1:
            del lines[index]
        elif action == "indent":
            lines[index] = " " * rng.randint(1, 5) + lines[index]
        elif action == "dedent":
            lines[index] = lines[index].lstrip()
        elif action == "tab":
            lines[index] = "\t" + lines[index]
        else:
            lines[index] = lines[index][: rng.randrange(len(lines[index]) + 1)]
    return "lines", "\n".join(lines) + rng.choice(["\n", "", "\r\n"])


def token_inserted(rng: random.Random, target: str, text: str) -> tuple[str, str | bytes]:
    lines = text.splitlines(keepends=True)
    for _ in range(rng.randint(1, 3)):
        index = rng.randrange(len(lines))
        line = lines[index]
        cut = rng.randrange(len(line) + 1)
        lines[index] = line[:cut] + rng.choice(corpus.TOKENS) + line[cut:]
    return "yaml token", "".join(lines)


def value_replaced(rng: random.Random, target: str, text: str) -> tuple[str, str | bytes]:
    data = _load(text)
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(_paths(data))
        data = _set(data, path, copy.deepcopy(rng.choice(corpus.VALUES)))
    return "value", _dump(rng, data)


def key_changed(rng: random.Random, target: str, text: str) -> tuple[str, str | bytes]:
    data = _load(text)
    mappings = [path for path in _paths(data) if isinstance(_get(data, path), dict) and _get(data, path)]
    path = rng.choice(mappings)
    mapping = _get(data, path)
    key = rng.choice(list(mapping))
    action = rng.choice(["delete", "typo", "unknown", "non-string"])
    if action == "delete":
        del mapping[key]
    elif action == "typo" and len(str(key)) > 1:
        position = rng.randrange(len(str(key)) - 1)
        typo = str(key)[:position] + str(key)[position + 1] + str(key)[position] + str(key)[position + 2 :]
        mapping[typo] = mapping.pop(key)
    elif action == "unknown":
        mapping[rng.choice(["extra", "x" * 200, "", "é", "1"])] = copy.deepcopy(rng.choice(corpus.VALUES))
    else:
        mapping[rng.choice([1, 2.5, True, None])] = mapping.pop(key)
    return f"key {action}", _dump(rng, data)


def alias_bomb(rng: random.Random, target: str, text: str) -> tuple[str, str | bytes]:
    width, depth = rng.randint(5, 12), rng.randint(6, 12)
    style = rng.choice(["list", "mapping", "long string", "merge"])
    if style == "long string":
        head = f'b0: &b0 "{"x" * rng.randint(1000, 60_000)}"\n'
    else:
        head = "b0: &b0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    lines = [head]
    for level in range(1, depth):
        refs = ", ".join([f"*b{level - 1}"] * width)
        if style == "mapping":
            refs = ", ".join(f"k{i}: *b{level - 1}" for i in range(width))
            lines.append(f"b{level}: &b{level} {{{refs}}}\n")
        elif style == "merge":
            lines.append(f"b{level}: &b{level} {{<<: *b{level - 1}, k{level}: *b{level - 1}}}\n")
        else:
            lines.append(f"b{level}: &b{level} [{refs}]\n")
    key = {"stack": "description", "site": "description", "study": "description"}[target]
    body = text.replace(f"\n{key}:", f"\nunused_{key}:", 1)
    return f"alias bomb ({style})", "".join(lines) + body + f"{key}: *b{depth - 1}\n"


def deep_nesting(rng: random.Random, target: str, text: str) -> tuple[str, str | bytes]:
    depth = rng.choice([45, 60, 500, 3000, 100_000])
    if rng.random() < 0.5:
        nested = "[" * depth + "x" + "]" * depth
        return f"nesting (flow, {depth})", text + f"extra: {nested}\n"
    depth = min(depth, 1400)  # deeper is over the size limit
    block = "".join(f"{' ' * (level + 1)}k{level}:\n" for level in range(depth)) + " " * (depth + 1) + "x\n"
    return f"nesting (block, {depth})", text + "extra:\n" + block


def large(rng: random.Random, target: str, text: str) -> tuple[str, str | bytes]:
    kinds = ["comment", "trailing comment", "comment over", "scalar", "many items", "many keys", "many lines"]
    choice = rng.choice(kinds)
    if choice == "comment":
        return "large: 1 MB comment", text + "# " + "x" * (MiB - len(text) - 10) + "\n"
    if choice == "trailing comment":  # after a value: ruamel's round-trip loader took 36 s over it
        line = text.index("\n", text.index("description: "))
        return "large: 1 MB trailing comment", text[:line] + " # " + "x" * (MiB - len(text) - 10) + text[
            line:
        ]
    if choice == "comment over":
        return "large: over the size limit", text + "# " + "x" * (MiB + 100) + "\n"
    if choice == "scalar":
        size = rng.choice([64 * 1024, 65 * 1024, 900_000])
        key = rng.choice({"stack": ["description", "stack"], "site": ["name"], "study": ["study"]}[target])
        changed = text.replace(f"\n{key}: ", f"\n{key}: " + "n" * size, 1)
        return f"large: {size} byte {key}", changed
    if choice == "many items":
        count = rng.choice([15_000, 100_000, 300_000])
        return f"large: {count} items", text + "extra: [" + ",".join(["a"] * count) + "]\n"
    if choice == "many keys":
        count = rng.choice([3_000, 30_000])
        return f"large: {count} unknown keys", text + "".join(f"k{i}: v\n" for i in range(count))
    return "large: 60,000 lines", text + "extra:\n" + "  - item\n" * 60_000


def numbers(rng: random.Random, target: str, text: str) -> tuple[str, str | bytes]:
    value = rng.choice(
        [
            "9" * 400,
            "9" * 5000,
            "-" + "9" * 30,
            "1e999",
            "-.inf",
            ".nan",
            "0x" + "f" * 40,
            "0o777",
            "1_000",
            "0b" + "1" * 70,
            "9223372036854775808",
            "-9223372036854775809",
            "1e-400",
            "+12",
        ]
    )
    field_name = {"stack": "layer", "site": "cpus", "study": rng.choice(["events", "seed", "confidence"])}
    pattern = {"stack": "{layer: 1GB,", "site": "cpus: 4", "study": f"\n{field_name['study']}: "}[target]
    if target == "stack":
        changed = text.replace(pattern, f"{{layer: {value},", 1)
    elif target == "site":
        changed = text.replace(pattern, f"cpus: {value}", 1)
    else:
        start = text.index(pattern) + len(pattern)
        end = text.index("\n", start)
        changed = text[:start] + value + text[end:]
    return "number", changed


def encoding(rng: random.Random, target: str, text: str) -> tuple[str, str | bytes]:
    choice = rng.choice(["latin-1", "utf-16", "utf-8 bom", "crlf", "cr", "overlong", "truncated", "nul"])
    if choice == "latin-1":
        return "encoding: latin-1", text.replace("description: ", "description: caf\xe9 ", 1).encode(
            "latin-1"
        )
    if choice == "utf-16":
        return "encoding: utf-16", text.encode("utf-16")
    if choice == "utf-8 bom":
        return "encoding: utf-8 BOM", b"\xef\xbb\xbf" + text.encode()
    if choice == "crlf":
        return "encoding: CRLF", text.replace("\n", "\r\n")
    if choice == "cr":
        return "encoding: CR", text.replace("\n", "\r")
    if choice == "overlong":
        return "encoding: overlong UTF-8", text.encode().replace(
            b"description: ", b"description: \xc0\xaf", 1
        )
    if choice == "truncated":
        return "encoding: truncated UTF-8", text.encode() + b"x: \xe2\x82"
    return "encoding: NUL byte", text.encode().replace(b"\n", b"\n\x00", 1)


def documents(rng: random.Random, target: str, text: str) -> tuple[str, str | bytes]:
    choice = rng.choice(
        [
            "",
            " \n",
            "# only a comment\n",
            "~\n",
            "[]\n",
            "just a string\n",
            "- a\n- b\n",
            "42\n",
            text + "---\n" + text,
            "---\n" + text + "...\n",
            text + "\n...\n---\nx: 1\n",
        ]
    )
    return "document shape", choice


def escapes(rng: random.Random, target: str, text: str) -> tuple[str, str | bytes]:
    escape = rng.choice(
        [
            "\\0",
            "\\x00",
            "\\ud800",
            "\\udfff\\ud800",
            "\\x1b[2J",
            "\\a",
            "\\e",
            "\\N",
            "\\L",
            "\\_",
            "\\U0010ffff",
            "\\U00110000",
            "\\q",
            "\\u12",
        ]
    )
    return "string escape", text.replace("description: ", f'description: "a{escape}b" #', 1)


# --- target-specific -------------------------------------------------------------------------------------


def stack_paths(rng: random.Random, target: str, text: str) -> tuple[str, str | bytes]:
    path = rng.choice(corpus.PATHS)
    quoted = json.dumps(path)
    where = rng.choice(["copy", "profile", "containerfile", "pip -r", "pip ./", "copy value"])
    replacements = {
        "copy": ("      app.py: /opt/demo/app.py", f"      {quoted}: /opt/demo/x"),
        "profile": ("profile: setup.sh", f"profile: {quoted}"),
        "containerfile": ("containerfile: files/study.Containerfile", f"containerfile: {quoted}"),
        "pip -r": ('"-r req.txt"', json.dumps("-r " + path)),
        "pip ./": ('"./pkg"', json.dumps("./" + path)),
        "copy value": ("      pkg/: /opt/demo/pkg/", f"      pkg/: {quoted}"),
    }
    old, new = replacements[where]
    return f"path in {where}", text.replace(old, new, 1)


def stack_sizes(rng: random.Random, target: str, text: str) -> tuple[str, str | bytes]:
    value = json.dumps(rng.choice(corpus.SIZES))
    return "size budget", text.replace("{layer: 500MB}", f"{{layer: {value}}}", 1)


def stack_graph(rng: random.Random, target: str, text: str) -> tuple[str, str | bytes]:
    choice = rng.choice(["cycle", "self", "long chain", "many layers", "unknown parent"])
    if choice == "cycle":
        return "graph: cycle", text.replace(
            "    bootstrap: {suite: bookworm, variant: minbase}", "    from: study"
        )
    if choice == "self":
        return "graph: self parent", text.replace("    from: framework", "    from: release")
    if choice == "unknown parent":
        return "graph: unknown parent", text.replace("    from: framework", "    from: framwork")
    count = rng.choice([250, 4000])  # a stack may have 256 layers
    if choice == "long chain":  # written leaf first: the worst order for a naive topological sort
        layers = (
            "".join(f"  c{i}:\n    from: c{i + 1}\n" for i in range(count)) + f"  c{count}:\n    from: base\n"
        )
    else:
        layers = "".join(f"  m{i}:\n    from: base\n" for i in range(count))
    return f"graph: {choice} ({count})", text + layers


def containerfile(rng: random.Random, target: str, text: str) -> tuple[str, str | bytes]:
    return "containerfile content", text  # the content is set in `generate`


def site_dir(rng: random.Random, target: str, text: str) -> tuple[str, str | bytes]:
    return "site directory entry", text  # the entries are set in `generate`


def study_values(rng: random.Random, target: str, text: str) -> tuple[str, str | bytes]:
    choice = rng.choice(["inputs", "timing_db", "command", "counts"])
    if choice == "inputs":
        return "study inputs path", text.replace(
            "inputs: inputs", f"inputs: {json.dumps(rng.choice(corpus.PATHS))}"
        )
    if choice == "timing_db":
        value = rng.choice(["", "../x.db", "/tmp/x.db", "a/../../b", "a\0b", "x" * 300, "."])
        return "study timing_db", text.replace("timing_db: timing.db", f"timing_db: {json.dumps(value)}")
    if choice == "command":
        word = rng.choice(
            [
                "{",
                "}",
                "{0}",
                "{events!r}",
                "{events:>{x}}",
                "{ev[0]}",
                "{events.__class__}",
                "{{x}}",
                "{input",
                "{nope}",
                "%(x)s",
            ]
        )
        return "study command placeholder", text.replace('"{events}"', json.dumps(word), 1)
    field_name = rng.choice(["events", "repetitions", "warmup", "start_latency_runs", "seed"])
    value = rng.choice(["-1", "0", "true", "1e18", "1000001", "2.5", "null", "9223372036854775807"])
    start = text.index(f"\n{field_name}: ") + len(field_name) + 3
    return f"study {field_name}", text[:start] + value + text[text.index("\n", start) :]


COMMON: list[tuple[Mutation, int]] = [
    (valid, 2),
    (bytes_changed, 14),
    (lines_changed, 10),
    (token_inserted, 12),
    (value_replaced, 14),
    (key_changed, 8),
    (alias_bomb, 3),
    (deep_nesting, 3),
    (large, 4),
    (numbers, 4),
    (encoding, 4),
    (documents, 3),
    (escapes, 4),
]
SPECIFIC: dict[str, list[tuple[Mutation, int]]] = {
    "stack": [(stack_paths, 16), (stack_sizes, 4), (stack_graph, 3), (containerfile, 12)],
    "site": [(site_dir, 6)],
    "study": [(study_values, 12)],
}
ENTRIES = [
    "/dev/zero",
    "/dev/null",
    "/proc/self/status",
    "fifo",
    "sock",
    "loop",
    "link-zero",
    "directory",
    "missing.yaml",
    "a" * 300 + ".yaml",
    "treefifo",
]
TARGET_WEIGHTS = {"stack": 6, "site": 2, "study": 2}


def generate(seed: int, count: int) -> list[Case]:
    """``count`` cases from ``seed``: the same arguments give the same cases."""
    rng = random.Random(seed)
    cases = []
    for number in range(count):
        target = rng.choices(list(TARGET_WEIGHTS), weights=list(TARGET_WEIGHTS.values()))[0]
        cases.append(_case(rng, number, target))
    return cases


def _case(rng: random.Random, number: int, target: str) -> Case:
    files = {name: text.encode() for name, text in FILES[target].items()}
    entry = TARGETS[target]
    extra_site_files: dict[str, str] = {}
    if target != "site" and rng.random() < 0.03:
        entry = rng.choice(ENTRIES)
        return Case(number, target, f"entry: {entry[:20]}", BASES[target].encode(), entry, files)
    mutations = COMMON + SPECIFIC[target]
    mutation = rng.choices([m for m, _ in mutations], weights=[w for _, w in mutations])[0]
    kind, document = mutation(rng, target, BASES[target])
    if mutation is containerfile:
        files["files/study.Containerfile"] = rng.choice(corpus.CONTAINERFILES)
    if mutation is site_dir:
        special = rng.choice(["fifo", "sock", "loop", "link-zero", "directory", "treefifo"])
        extra_site_files[f"{special}.yaml"] = special
        kind = f"site directory entry: {special}"
    data = document if isinstance(document, bytes) else document.encode("utf-8", "surrogatepass")
    if kind != "valid" and not kind.startswith("large") and rng.random() < 0.3:
        _extra, changed = bytes_changed(rng, target, data.decode("utf-8", "replace"))
        data = changed if isinstance(changed, bytes) else changed.encode()
        kind += " + bytes"
    return Case(number, target, kind, data, entry, files, extra_site_files)


# --- structured documents --------------------------------------------------------------------------------


def _load(text: str) -> Any:
    """A fresh copy of the data of ``text`` (one of the valid documents; parsed once)."""
    return copy.deepcopy(_parsed(text))


@functools.cache
def _parsed(text: str) -> Any:
    import yaml

    return yaml.safe_load(text)


def _dump(rng: random.Random, data: Any) -> str:
    if rng.random() < 0.5:
        return json.dumps(data, indent=rng.choice([None, 1, 2]), ensure_ascii=True) + "\n"
    import yaml

    try:
        return str(yaml.safe_dump(data, allow_unicode=rng.random() < 0.5, sort_keys=False))
    except yaml.YAMLError:  # values PyYAML will not write (lone surrogates): JSON writes escapes
        return json.dumps(data, indent=2, ensure_ascii=True) + "\n"


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def _set(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    _get(data, path[:-1])[path[-1]] = value
    return data
