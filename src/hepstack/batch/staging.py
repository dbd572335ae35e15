"""xrootd stage-in and stage-out of a job's files: parsed and checked here, run by the job script.

``--stage-in URL=PATH`` copies ``root://HOST[:PORT]//FILE`` to PATH on the compute node before the
command; ``--stage-out PATH=URL`` copies PATH to the server after the command succeeded. Both may use
``$HEPSTACK_TASK_INDEX`` (and a node's ``$SCRATCH``, ``$TMPDIR`` in PATH), so each task of an array has
its own files. The copying is bash in the job (batch/templates/staging.tmpl): xrdcp with adler32
verified on both ends, the final name reached only by a rename, a failure exiting 75 (EX_TEMPFAIL).
docs/storage.md says why each step is there.
"""

from __future__ import annotations

from dataclasses import dataclass

from hepstack.quoting import bash_word, check_text, reject
from hepstack.storage import with_variables, xrootd_url

# Exit code of a task whose staging failed (sysexits.h EX_TEMPFAIL: "try again later"): the data
# server, not the payload, failed, so a pipeline may retry it as it is.
STAGING_EXIT_CODE = 75


@dataclass(frozen=True)
class Transfer:
    """One file between the xrootd server ``server`` (``root://host:port``) at ``path`` and the node's
    ``local`` path; job-time variables in ``path`` and ``local`` are placeholders (quoting.job_variable)."""

    server: str
    path: str
    local: str

    @property
    def url(self) -> str:
        return f"{self.server}/{self.path}"


def _local_path(text: str, what: str) -> str:
    check_text(text, what)
    spliced = with_variables(text, what, None)
    # absolute, or starting with a node variable ($SCRATCH/...): "$(x)/a" stays a relative path
    if not spliced.startswith(("/", "\x00")) or text.endswith("/"):
        reject(
            text,
            what,
            "is not an absolute file path on the node",
            "write /path/FILE or $SCRATCH/FILE (a file the task reads or writes)",
        )
    return spliced


def parse_stage_in(text: str) -> Transfer:
    """``URL=PATH`` (the URL holds no '=': the first one separates)."""
    url, separator, local = text.partition("=")
    if not separator:
        reject(text, "--stage-in", "has no '='", "write --stage-in root://HOST//FILE=/node/path")
    server, path = xrootd_url(url, "the --stage-in URL")  # before the path: a URL error first
    return Transfer(server, path, _local_path(local, "the --stage-in path"))


def parse_stage_out(text: str) -> Transfer:
    """``PATH=URL`` (the URL holds no '=': the last one separates)."""
    local, separator, url = text.rpartition("=")
    if not separator:
        reject(text, "--stage-out", "has no '='", "write --stage-out /node/path=root://HOST//FILE")
    server, path = xrootd_url(url, "the --stage-out URL")
    return Transfer(server, path, _local_path(local, "the --stage-out path"))


def staging_blocks(
    stage_in: tuple[Transfer, ...], stage_out: tuple[Transfer, ...], functions: str
) -> dict[str, str]:
    """The task body's ``{{stage_in}}`` (the staging functions, then one stage-in per file, before the
    command) and ``{{stage_out}}`` (one stage-out per file, only after the command succeeded): whole
    lines, or nothing at all, so a job without staging is the same script as before staging existed."""
    if not stage_in and not stage_out:
        return {"stage_in": "", "stage_out": ""}
    calls = [
        f"hepstack_stage_in {bash_word(t.server)} {bash_word(t.path)} {bash_word(t.local)} "
        "|| hepstack_staging_failed"
        for t in stage_in
    ]
    outs = [
        f'[ "$status" -ne 0 ] || hepstack_stage_out {bash_word(t.local)} {bash_word(t.server)} '
        f"{bash_word(t.path)} || status=$?"
        for t in stage_out
    ]
    stage_out_lines = (
        ["# stage-out only after the command succeeded, and stopping at the first failure", *outs]
        if outs
        else []
    )
    return {
        "stage_in": "".join(f"{line}\n" for line in [functions.rstrip("\n"), *calls]),
        "stage_out": "".join(f"{line}\n" for line in stage_out_lines),
    }
