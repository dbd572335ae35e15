"""xrootd URLs as hepstack takes them (root://HOST[:PORT]//PATH, names.XROOTD_URL): for job staging
(batch/staging.py) and `hepstack verify` (verify/remote.py). A unit of its own so that neither needs
the other."""

from __future__ import annotations

import re

from hepstack.names import VARIABLE_REFERENCE, XROOTD_URL, XROOTD_URL_RULE
from hepstack.quoting import check_text, job_variable, reject

# The variables a URL may hold: known in every job (a site's $SCRATCH means nothing on a server).
URL_VARIABLES = frozenset({"HEPSTACK_TASK_INDEX", "HEPSTACK_TASK_COUNT"})


def with_variables(text: str, what: str, allowed: frozenset[str] | None) -> str:
    """``$NAME`` and ``${NAME}`` as job-time variables (only ``allowed`` ones, when given)."""

    def replace(match: re.Match[str]) -> str:
        name = match[1] or match[2]
        if allowed is not None and name not in allowed:
            reject(
                text,
                what,
                f"uses ${name}, which the server cannot know",
                f"a URL may use only {', '.join('$' + v for v in sorted(allowed))}",
            )
        return job_variable(str(name))

    return VARIABLE_REFERENCE.sub(replace, text)


def xrootd_url(text: str, what: str) -> tuple[str, str]:
    """``(server, path)`` of a ``root://`` URL, refused unless it matches the grammar exactly."""
    check_text(text, what)
    spliced = with_variables(text, what, URL_VARIABLES)
    # a variable stands for digits: check the URL with "1" in its place
    plain = VARIABLE_REFERENCE.sub("1", text)
    match = XROOTD_URL.match(plain)
    if match is None:
        reject(text, what, "is not an xrootd URL", f"write {XROOTD_URL_RULE}")
    if any(piece in (".", "..") for piece in match["path"].split("/")):
        reject(text, what, "has a '.' or '..' component", "write the file's path from the server's root")
    if match["port"] is not None and not 0 < int(match["port"]) < 65536:
        reject(text, what, "has a port outside 1..65535", "write root://HOST:PORT//PATH")
    server = match["server"]
    return server, spliced[len(server) + 1 :]
