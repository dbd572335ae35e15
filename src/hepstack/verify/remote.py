"""`hepstack verify root://HOST//out /local/ref`: an xrootd file or directory, copied with xrdcp into a
private temporary directory (0700, removed afterwards), then compared like any local path.

Copying first keeps one comparison engine: ROOT files need random access that uproot would otherwise
do over the network, and a directory needs listing; xrdcp --recursive gives both, and --cksum adler32
proves the copy equals what the server holds, so "equal" is a statement about the server's files.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from hepstack.proc import require, run
from hepstack.storage import xrootd_url
from hepstack.verify._model import VerifyInputError

XRDCP_HINT = "apt-get install xrootd-client (xrdcp)"
# Without these xrdcp retries an unreachable server for minutes (docs/site-services.md); the user's
# own XRD_* settings win.
CLIENT_TIMEOUTS = {
    "XRD_CONNECTIONRETRY": "2",
    "XRD_CONNECTIONWINDOW": "10",
    "XRD_REQUESTTIMEOUT": "60",
    "XRD_STREAMTIMEOUT": "60",
}


def is_remote(text: str) -> bool:
    return text.startswith("root://")


@contextlib.contextmanager
def local_copy(text: str, which: str) -> Iterator[Path]:
    """``text`` itself for a local path; for a ``root://`` URL, a private copy of the file or directory
    (checked against the URL grammar first: no variable, option or CGI reaches xrdcp)."""
    if not is_remote(text):
        yield Path(text)
        return
    server, path = xrootd_url(text, which)
    if "\x00" in path:
        raise VerifyInputError(f"{which} {text} holds a variable", hint="give the file's own URL")
    tool = require("xrdcp", "verify of a root:// URL", XRDCP_HINT)
    directory = tempfile.mkdtemp(prefix="hepstack-verify-")  # 0700, this user's
    try:
        environment = {**CLIENT_TIMEOUTS, **{k: v for k, v in os.environ.items() if k.startswith("XRD_")}}
        result = run(
            [tool, "--nopbar", "--recursive", "--cksum", "adler32", f"{server}/{path}", f"{directory}/"],
            check=False,
            env=environment,
            timeout=3600,
        )
        if result.returncode != 0:
            said = (result.stderr or result.stdout).strip().splitlines()
            raise VerifyInputError(
                f"cannot copy {which} {text}: {said[-1] if said else f'xrdcp exited {result.returncode}'}",
                hint="check the URL with `xrdfs HOST ls PATH`; is the server up?",
            )
        yield Path(directory) / path.rsplit("/", 1)[-1]
    finally:
        shutil.rmtree(directory, ignore_errors=True)
