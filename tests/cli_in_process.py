"""The hepstack CLI in this process (no start-up per call): exit code, stdout and stderr of one command."""

from __future__ import annotations

import sys

import pytest


def run_cli(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    from hepstack.cli import main

    saved = sys.argv
    sys.argv = ["hepstack", *arguments]
    try:
        main()
        code = 0
    except SystemExit as exited:
        code = exited.code if isinstance(exited.code, int) else (0 if exited.code is None else 1)
    finally:
        sys.argv = saved
    captured = capsys.readouterr()
    return code, captured.out, captured.err
