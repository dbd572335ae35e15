"""YAML loading that remembers where every key came from, so spec errors can name the line."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hepstack.errors import SpecError, SpecErrors

KeyPath = tuple[str | int, ...]


def format_key_path(path: Sequence[str | int]) -> str:
    """``('layers', 'base', 'packages', 0)`` -> ``layers.base.packages[0]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


class SourceMap:
    """Line numbers (1-based) of the keys and list items of one YAML document."""

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


def load_yaml(path: Path) -> tuple[Any, SourceMap]:
    """Parse ``path`` into plain Python data plus a :class:`SourceMap`; YAML syntax errors name the line."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError

    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecErrors(
            [
                SpecError(
                    "file not found",
                    file=shown,
                    line=None,
                    key_path="(file)",
                    hint="give the path of a stack spec, e.g. examples/lat/stack.yaml",
                )
            ]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecErrors(
            [SpecError(f"cannot read: {exc}", file=shown, line=None, key_path="(file)")]
        ) from None
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        document = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "YAML syntax error"
        raise SpecErrors(
            [
                SpecError(
                    f"YAML syntax error: {problem}",
                    file=shown,
                    line=line,
                    key_path="(syntax)",
                    hint="check indentation and quoting around this line",
                )
            ]
        ) from None
    lines: dict[KeyPath, int] = {(): 1}
    _collect_lines(document, (), lines)
    return _plain(document), SourceMap(shown, lines)


def _collect_lines(node: Any, path: KeyPath, lines: dict[KeyPath, int]) -> None:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(node, CommentedMap):
        for key, child in node.items():
            try:
                line = node.lc.key(key)[0] + 1
            except KeyError:  # merged in with `<<: *anchor`: located where that mapping is written
                line = lines.get(path, 1)
            lines[(*path, str(key))] = line
            _collect_lines(child, (*path, str(key)), lines)
    elif isinstance(node, CommentedSeq):
        for index, child in enumerate(node):
            line, _column = node.lc.item(index)
            lines[(*path, index)] = line + 1
            _collect_lines(child, (*path, index), lines)


def _plain(node: Any) -> Any:
    """ruamel's round-trip types turned into dict/list/str/int/float/bool/None."""
    if isinstance(node, dict):
        return {
            str(key) if not isinstance(key, (int, float, bool)) else key: _plain(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_plain(item) for item in node]
    if isinstance(node, str):
        return str(node)
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node
