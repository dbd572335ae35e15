"""YAML into plain data that remembers where every key came from, within size, depth and alias budgets.

libyaml's parser (PyYAML's C binding) turns the text into events with line numbers; it keeps its own
stacks, not Python frames, so nesting cannot overflow the interpreter, and it reads ~1.5 us an event
(ruamel.yaml's pure-Python parser, used before, ~80 us: a 20,000-node file took 1.6 s, now 0.03 s).
The composer below builds dicts, lists, strings, numbers, booleans and None from the events, one at a
time, and stops at the first event past a limit (:class:`~hepstack.spec.reading.Limits`):

- nesting deeper than ``max_depth``;
- more than ``max_nodes`` nodes or ``max_text`` characters, each alias counted as the nodes and text it
  stands for, so a "billion laughs" document stops at its first alias past the budget instead of
  expanding (an alias is the same Python object as its anchor, never a copy);
- a scalar longer than ``max_scalar``, a NUL or lone surrogate in a string, an integer outside 64 bits,
  an infinite or NaN number;
- any tag but the core schema's (``!!python/object``, ``!!binary``, local tags), a second document,
  a duplicate key, a key that is a mapping or list.

Plain scalars are resolved by YAML 1.2's core schema, with ruamel.yaml's extensions that hepstack's
files were written against (``1_000``, ``0b101``, ``0o17``; a date stays a string). ``<<`` merges.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hepstack.errors import LocatedErrors, SpecError
from hepstack.spec.reading import DEFAULT_LIMITS, FileProblem, Limits, line_and_column, read_text
from hepstack.spec.scalars import CORE, construct, resolve_plain

KeyPath = tuple[str | int, ...]

_SCALAR_TAGS = {f"{CORE}{name}" for name in ("str", "int", "float", "bool", "null")} | {"!"}
_COLLECTION_TAGS = {f"{CORE}map", f"{CORE}seq", "!"}
_LONGEST_KEY_SHOWN = 80
_BAD_CHARACTER = re.compile("[\0\ud800-\udfff]")
# YAML's printable characters (1.2.2 section 5.1) are allowed in the text, and only those.
_UNPRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _shown_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(CORE) if tag.startswith(CORE) else tag


_TAG_HINT = "hepstack files hold plain strings, numbers, booleans, lists and mappings: remove the tag"


def format_key_path(path: Sequence[str | int]) -> str:
    """``('layers', 'base', 'packages', 0)`` -> ``layers.base.packages[0]`` (long keys cut)."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            key = part if len(part) <= _LONGEST_KEY_SHOWN else part[:_LONGEST_KEY_SHOWN] + "..."
            text += f".{key}" if text else key
    return text or "(top level)"


class SourceMap:
    """Line numbers (1-based) of the keys and list items of one YAML document.

    Keys inside an alias or brought in by a ``<<`` merge are located where the alias or merge is written.
    """

    def __init__(self, file: str, lines: dict[KeyPath, int]) -> None:
        self.file = file
        self._lines = lines

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """Line of ``path``, or of its nearest enclosing key when the path itself is not in the file."""
        path = tuple(path)
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path[:-1]
        return self._lines.get((), None)

    def error(
        self, path: Sequence[str | int], message: str, *, value: object = None, hint: str | None = None
    ) -> SpecError:
        return SpecError(
            message,
            file=self.file,
            line=self.line_of(path),
            key_path=format_key_path(path),
            value=value,
            hint=hint,
        )


def file_error(file: str, problem: FileProblem) -> SpecError:
    """A :class:`FileProblem` of ``file`` as a located error."""
    return SpecError(
        problem.message, file=file, line=problem.line, key_path=problem.key_path, hint=problem.hint
    )


def load_yaml(path: Path, limits: Limits = DEFAULT_LIMITS) -> tuple[Any, SourceMap]:
    """Read and parse ``path`` into plain data and a :class:`SourceMap`; raises
    :class:`~hepstack.errors.LocatedErrors` with the one problem. (Most callers want
    :func:`~hepstack.spec.validation.load_document`, which validates too.)"""
    shown = str(path)
    try:
        return parse_yaml(read_text(path, limits), shown, limits)
    except FileProblem as problem:
        raise LocatedErrors([file_error(shown, problem)]) from None


def parse_yaml(text: str, file: str, limits: Limits = DEFAULT_LIMITS) -> tuple[Any, SourceMap]:
    """Parse one YAML document into plain data; raises :class:`FileProblem` with the line."""
    import yaml

    unprintable = _UNPRINTABLE.search(text)
    if unprintable is not None:  # located here: libyaml reports only an offset
        line, column = line_and_column(text, unprintable.start())
        code = ord(unprintable.group())
        raise FileProblem(
            f"character U+{code:04X} at line {line}, column {column} is not allowed in YAML",
            line,
            hint="remove the control character, or write it as an escape in a double-quoted string",
        )
    composer = _Composer(limits)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)  # libyaml, if PyYAML was built with it
    try:
        data = composer.compose(_events(loader))
    except FileProblem as refused:  # a limit or a rule of the composer: located at the current key
        refused.key_path = format_key_path(composer.where())
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise FileProblem(
            f"YAML syntax error: {exc.problem or exc.context or 'not valid YAML'}",
            mark.line + 1 if mark is not None else None,
            hint="check indentation and quoting around this line",
            key_path="(syntax)",
        ) from None
    except yaml.YAMLError as exc:
        raise FileProblem(f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    return data, SourceMap(file, composer.lines)


def _events(loader: Any) -> Iterator[Any]:
    while loader.check_event():
        yield loader.get_event()


@dataclass
class _Anchor:
    value: Any
    nodes: int
    text: int


@dataclass
class _Open:
    """A mapping or list being composed."""

    value: dict[Any, Any] | list[Any]
    path: KeyPath
    line: int
    anchor: str | None
    nodes_before: int
    text_before: int
    key: Any = None
    key_line: int = 0
    has_key: bool = False
    key_is_merge: bool = False
    merges: list[dict[Any, Any]] = field(default_factory=list)
    key_lines: dict[Any, int] = field(default_factory=dict)


class _Composer:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.lines: dict[KeyPath, int] = {(): 1}
        self.anchors: dict[str, _Anchor] = {}
        self.open: list[_Open] = []
        self.nodes = 0
        self.text = 0
        self.documents = 0
        self.aliases = 0
        self.root: Any = None

    def compose(self, events: Iterable[Any]) -> Any:
        import yaml as kinds

        for event in events:
            line = event.start_mark.line + 1
            if isinstance(event, kinds.ScalarEvent):
                value = self._scalar(event, line)
                size = len(value) if isinstance(value, str) else len(event.value)
                self._count(1, size, line)
                plain = event.tag is None and event.implicit[0]
                self._add(value, line, event.anchor, 1, size, merge=plain and event.value == "<<")
            elif isinstance(event, kinds.AliasEvent):
                self._alias(event.anchor, line)
            elif isinstance(event, (kinds.MappingStartEvent, kinds.SequenceStartEvent)):
                self._start(event, line, {} if isinstance(event, kinds.MappingStartEvent) else [])
            elif isinstance(event, (kinds.MappingEndEvent, kinds.SequenceEndEvent)):
                self._end()
            elif isinstance(event, kinds.DocumentStartEvent):
                self.documents += 1
                if self.documents > 1:
                    raise FileProblem(
                        "a second YAML document ('---'): a hepstack file holds one",
                        line,
                        hint="remove the '---' line and what follows, or move it to its own file",
                    )
        return self.root

    def where(self) -> KeyPath:
        """The key path of the node being composed."""
        if not self.open:
            return ()
        parent = self.open[-1]
        if isinstance(parent.value, list):
            return (*parent.path, len(parent.value))
        return (*parent.path, str(parent.key)) if parent.has_key else parent.path

    # --- events -------------------------------------------------------------------------------------

    def _start(self, event: Any, line: int, value: dict[Any, Any] | list[Any]) -> None:
        if event.tag is not None and event.tag not in _COLLECTION_TAGS:
            raise FileProblem(f"the YAML tag {_shown_tag(event.tag)} is not allowed", line, hint=_TAG_HINT)
        if len(self.open) >= self.limits.max_depth:
            raise FileProblem(
                f"nested deeper than {self.limits.max_depth} levels (docs/input-limits.md)",
                line,
                hint="hepstack files nest a few levels deep; is a bracket not closed?",
            )
        path: KeyPath = ()
        if self.open:
            parent = self.open[-1]
            if isinstance(parent.value, list):
                path = (*parent.path, len(parent.value))
            elif not parent.has_key:
                raise FileProblem("a mapping key must be a plain value, not a mapping or list", line)
            else:
                path = (*parent.path, str(parent.key))
        self._count(1, 0, line)
        self.open.append(_Open(value, path, line, event.anchor, self.nodes - 1, self.text))

    def _end(self) -> None:
        done = self.open.pop()
        if isinstance(done.value, dict):
            for merged in done.merges:  # keys written in the mapping win, then earlier merges
                for key, item in merged.items():
                    done.value.setdefault(key, item)
        nodes, text = self.nodes - done.nodes_before, self.text - done.text_before
        self._add(done.value, done.line, done.anchor, nodes, text)

    def _alias(self, name: str, line: int) -> None:
        anchor = self.anchors.get(name)
        if anchor is None:
            if any(node.anchor == name for node in self.open):
                raise FileProblem(f"the alias *{name} is inside the node it names (a loop)", line)
            raise FileProblem(f"unknown alias *{name}", line, hint=f"define it first with &{name}")
        self.aliases += 1
        self._count(anchor.nodes, anchor.text, line)
        self._add(anchor.value, line, None, anchor.nodes, anchor.text)

    # --- building -----------------------------------------------------------------------------------

    def _add(
        self, value: Any, line: int, anchor: str | None, nodes: int, text: int, *, merge: bool = False
    ) -> None:
        if anchor is not None:
            self.anchors[anchor] = _Anchor(value, nodes, text)
        if not self.open:
            self.root = value
            return
        parent = self.open[-1]
        if isinstance(parent.value, list):
            self.lines[(*parent.path, len(parent.value))] = line
            parent.value.append(value)
        elif not parent.has_key:
            if isinstance(value, (dict, list)):
                raise FileProblem("a mapping key must be a plain value, not a mapping or list", line)
            parent.key, parent.key_line, parent.has_key, parent.key_is_merge = value, line, True, merge
        else:
            parent.has_key = False
            if parent.key_is_merge:
                parent.merges.extend(_merged_mappings(value, line))
                return
            key = parent.key
            if key in parent.value:
                raise FileProblem(
                    f"duplicate key {key!r} (first at line {parent.key_lines[key]})",
                    parent.key_line,
                    hint="a key may appear once in a mapping",
                )
            parent.value[key] = value
            parent.key_lines[key] = parent.key_line
            self.lines[(*parent.path, str(key))] = parent.key_line

    def _count(self, nodes: int, text: int, line: int) -> None:
        self.nodes += nodes
        self.text += text
        limits = self.limits
        if self.nodes <= limits.max_nodes and self.text <= limits.max_text:
            return
        what = f"{limits.max_nodes:,} nodes" if self.nodes > limits.max_nodes else "text"
        if what == "text":
            what = f"{limits.max_text:,} characters of text"
        expanded = ", aliases expanded" if self.aliases else ""
        raise FileProblem(
            f"the document holds more than {what}{expanded} (docs/input-limits.md)",
            line,
            hint="is an alias repeated (a 'billion laughs' document)? real files are far smaller",
        )

    def _scalar(self, event: Any, line: int) -> Any:
        text: str = event.value
        if len(text) > self.limits.max_scalar:
            raise FileProblem(
                f"a value of {len(text):,} characters, over the limit of {self.limits.max_scalar:,}",
                line,
                hint="values are names, paths and commands; put long content in a file",
            )
        bad = _BAD_CHARACTER.search(text)
        if bad is not None:
            what = "a NUL character" if bad.group() == "\0" else "a lone surrogate (not encodable as UTF-8)"
            raise FileProblem(f"{what} in a string", line, hint="remove the escape (\\0, \\uD800...)")
        if event.tag is not None and event.tag not in _SCALAR_TAGS:
            raise FileProblem(f"the YAML tag {_shown_tag(event.tag)} is not allowed", line, hint=_TAG_HINT)
        if event.tag is not None:
            tag = f"{CORE}str" if event.tag == "!" else event.tag
        elif event.implicit[0]:
            tag = resolve_plain(text)
        else:
            return text  # quoted
        return construct(tag, text, line, implicit=event.tag is None)


def _merged_mappings(value: Any, line: int) -> list[dict[Any, Any]]:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(item, dict) for item in values):
        raise FileProblem("'<<' merges mappings", line, hint="write <<: *anchor or <<: [*first, *second]")
    return values
