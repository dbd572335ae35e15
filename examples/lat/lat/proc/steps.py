"""The job steps of L1 and reprocessing: one command line each, with ``${VARIABLE}`` from the planners.

This table is what a pipeline definition writes as its steps' commands and what ``lat-l1 delivery``
runs natively, so both make the same files byte for byte.  A merge *gathers*: its inputs are the
output of one step of every substream below it that succeeded, in substream order (the stream ids
sort so: k00 < k01, c000 < c001).  ``lat-l1 steps`` prints the table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

VARIABLE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


@dataclass(frozen=True)
class StepCommand:
    name: str
    level: str  # the stream it runs in: run, chunk or crumb
    image: str  # the slim image (layer of examples/lat/stack.yaml) that carries what it needs
    argv: tuple[str, ...]
    output: str  # the variable that names its output file
    after: tuple[str, ...] = ()  # steps it waits for: NAME in its own stream, LEVEL.NAME below it
    gathers: str | None = None  # LEVEL.NAME: appends that step's output of every substream
    reprocess: bool = True  # also a step of reprocessing (digi is not: it reads the old digi)
    description: str = field(default="", compare=False)

    def expand(self, variables: Mapping[str, str], gathered: Sequence[str] = ()) -> list[str]:
        """The argv for one stream: every ``${NAME}`` replaced, the gathered inputs appended."""

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in variables:
                raise KeyError(f"step {self.name}: no variable {name} in its {self.level} stream")
            return variables[name]

        argv = [VARIABLE.sub(value, arg) for arg in self.argv]
        if self.gathers is not None:
            argv.extend(gathered)
        return argv

    def text(self) -> str:
        words = list(self.argv)
        if self.gathers is not None:
            level, step = self.gathers.split(".")
            output = next(s.output for s in L1_STEPS if s.name == step)
            words.append(f"<${{{output}}} of every {level} whose {step} succeeded, in {level} order>")
        return " ".join(words)


def _timing(step: str, tags: str) -> tuple[str, str]:
    return ("--timing-db", f"${{TIMING_DIR}}/{step}_{tags}.db")


CHUNK_TAGS = "${CHUNK_TAG}"
CRUMB_TAGS = "${CHUNK_TAG}_${CRUMB_TAG}"

L1_STEPS: tuple[StepCommand, ...] = (
    StepCommand(
        "digi",
        "chunk",
        "digi",
        ("lat-run", "digi", "-q", "-s", "${RAW_FILE}", "-o", "${DIGI_FILE}", *_timing("digi", CHUNK_TAGS)),
        "DIGI_FILE",
        reprocess=False,
        description="raw chunk -> digi",
    ),
    StepCommand(
        "recon",
        "crumb",
        "recon",
        (
            "lat-run",
            "recon",
            "-q",
            "-s",
            "${DIGI_FILE}",
            "-o",
            "${RECON_CRUMB_FILE}",
            "--set",
            "source.firstEntry=${FIRST_ENTRY}",
            "--set",
            "source.lastEntry=${LAST_ENTRY}",
            "--set",
            "physics.producers.cal.calibFile=${CALIB}",
            *_timing("recon", CRUMB_TAGS),
        ),
        "RECON_CRUMB_FILE",
        description="entries [FIRST_ENTRY, LAST_ENTRY) of the chunk's digi",
    ),
    StepCommand(
        "merit",
        "crumb",
        "recon",
        (
            "lat-run",
            "merit",
            "-q",
            "-s",
            "${RECON_CRUMB_FILE}",
            "-o",
            "${MERIT_CRUMB_FILE}",
            *_timing("merit", CRUMB_TAGS),
        ),
        "MERIT_CRUMB_FILE",
        after=("recon",),
    ),
    StepCommand(
        "mergeReconCrumbs",
        "chunk",
        "recon",
        ("lat-merge", "root", "-o", "${RECON_CHUNK_FILE}"),
        "RECON_CHUNK_FILE",
        after=("crumb.recon",),
        gathers="crumb.recon",
    ),
    StepCommand(
        "mergeMeritCrumbs",
        "chunk",
        "recon",
        ("lat-merge", "root", "-o", "${MERIT_CHUNK_FILE}"),
        "MERIT_CHUNK_FILE",
        after=("crumb.merit",),
        gathers="crumb.merit",
    ),
    StepCommand(
        "makeFT1",
        "chunk",
        "ft1",
        (
            "lat-run",
            "makeFT1",
            "-q",
            "-s",
            "${MERIT_CHUNK_FILE}",
            "-o",
            "${FT1_CHUNK_FILE}",
            *_timing("makeFT1", CHUNK_TAGS),
        ),
        "FT1_CHUNK_FILE",
        after=("mergeMeritCrumbs",),
        description="FT1 of the chunk, from its merged merit",
    ),
    StepCommand(
        "mergeReconChunks",
        "run",
        "recon",
        ("lat-merge", "root", "-o", "${RECON_RUN_FILE}"),
        "RECON_RUN_FILE",
        after=("chunk.mergeReconCrumbs",),
        gathers="chunk.mergeReconCrumbs",
    ),
    StepCommand(
        "mergeMeritChunks",
        "run",
        "recon",
        ("lat-merge", "root", "-o", "${MERIT_RUN_FILE}"),
        "MERIT_RUN_FILE",
        after=("chunk.mergeMeritCrumbs",),
        gathers="chunk.mergeMeritCrumbs",
    ),
    StepCommand(
        "mergeFT1Chunks",
        "run",
        "ft1",
        ("lat-merge", "fits", "-o", "${FT1_RUN_FILE}"),
        "FT1_RUN_FILE",
        after=("chunk.makeFT1",),
        gathers="chunk.makeFT1",
    ),
)

#: MC production: the whole chain in one job of the full release image (lat-mc).
MC_STEP = StepCommand(
    "mc",
    "job",
    "release",
    (
        "lat-mc",
        "--seed",
        "${SEED}",
        "--events",
        "${EVENTS}",
        "--run-id",
        "${RUN_ID}",
        "--calib",
        "${CALIB}",
        "--out",
        "${OUT_DIR}",
    ),
    "MERIT_FILE",
    description="simulate, digi, recon, merit in one process: mc_, digi_, recon_, merit_${JOB_TAG}.root",
)


def steps_for(reprocessing: bool) -> list[StepCommand]:
    return [s for s in L1_STEPS if s.reprocess or not reprocessing]
