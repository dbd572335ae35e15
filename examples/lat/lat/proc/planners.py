"""The planners: from a delivery, the substreams of each level of L1 and the variables their steps use.

    plan_runs     delivery stream -> one ``run`` substream per run
    plan_chunks   run stream      -> one ``chunk`` substream per raw chunk of the run
    plan_crumbs   chunk stream    -> one ``crumb`` substream per crumb (L1Proc's sizes, lat.proc.crumbs)
    plan_mc       MC stream       -> one ``job`` substream per seed

Every substream carries all the variables its steps and its own planner need (those of the levels
above included), so no step has to look a variable up in a parent stream.  Reprocessing is the same
plan with ``digi_from`` set: digi files are read from an earlier L1 output, chunks without one are
left out (and listed in ``MISSING_DIGI``), and nothing is written there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lat.framework.errors import InputError, LatError
from lat.proc.crumbs import CrumbRules
from lat.proc.layout import Layout, chunk_tag, crumb_tag, mc_job_files, mc_tag, run_tag
from lat.proc.manifest import Chunk, Delivery, Run, check_raw_file
from lat.proc.summary import Substream, Summary

DEFAULT_CALIB = "@lat/calib/calib_v1.yaml"


def checked_text(text: str, option: str) -> str:
    """A command-line value that becomes a variable: not empty, no control characters (newlines...)."""
    if not text or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise LatError(f"{option} {text!r}: not usable here", hint="no empty values, no control characters")
    return text


def checked_path(text: str, option: str) -> Path:
    """An absolute path from a command-line value (see :func:`checked_text`)."""
    return Path(checked_text(text, option)).absolute()


@dataclass(frozen=True)
class PlanSettings:
    """What every planner of one stream tree is given (the same at every level)."""

    delivery: Delivery
    out: Path
    digi_from: Path  # == out for L1; an earlier L1 output for reprocessing
    calib: str = DEFAULT_CALIB
    rules: CrumbRules = field(default_factory=CrumbRules)

    def __post_init__(self) -> None:
        checked_text(self.calib, "--calib")

    @property
    def reprocessing(self) -> bool:
        return self.digi_from != self.out

    @property
    def layout(self) -> Layout:
        return Layout(self.out)

    def digi_file(self, run: Run, chunk: Chunk) -> Path:
        return Layout(self.digi_from).product("digi", run.run_id, chunk.chunk_id)

    def planned_chunks(self, run: Run) -> tuple[list[Chunk], list[str]]:
        """The chunks to process, and ``r000001/c002`` for each left out (reprocessing: no digi file)."""
        if not self.reprocessing:
            return list(run.chunks), []
        present = [c for c in run.chunks if self.digi_file(run, c).is_file()]
        missing = [f"{run_tag(run.run_id)}/{chunk_tag(c.chunk_id)}" for c in run.chunks if c not in present]
        return present, missing

    def common_variables(self) -> dict[str, str]:
        return {
            "DELIVERY_DIR": str(self.delivery.directory),
            "DELIVERY_ID": self.delivery.delivery_id,
            "OUT_DIR": str(self.out),
            "DIGI_FROM": str(self.digi_from),
            "CALIB": self.calib,
            "CRUMB_MIN_AVERAGE": str(self.rules.min_events),
            "CRUMB_MAX_COUNT": str(self.rules.max_crumbs),
            "CRUMB_SIZE_RATIO": self.rules.ratio,
        }

    def run_variables(self, run: Run) -> dict[str, str]:
        layout, run_id = self.layout, run.run_id
        chunks, _ = self.planned_chunks(run)
        return {
            **self.common_variables(),
            "RUN_ID": str(run_id),
            "RUN_TAG": run_tag(run_id),
            "RUN_DIR": str(layout.run_dir(run_id)),
            "RUN_EVENTS": str(sum(c.events for c in chunks)),
            "RUN_CHUNKS": str(len(chunks)),
            "TRUTH_FILE": str(self.delivery.directory / run.truth),
            "TIMING_DIR": str(layout.timing_dir(run_id)),
            "RECON_RUN_FILE": str(layout.product("recon", run_id)),
            "MERIT_RUN_FILE": str(layout.product("merit", run_id)),
            "FT1_RUN_FILE": str(layout.product("ft1", run_id)),
        }

    def chunk_variables(self, run: Run, chunk: Chunk) -> dict[str, str]:
        layout, run_id, chunk_id = self.layout, run.run_id, chunk.chunk_id
        return {
            **self.run_variables(run),
            "CHUNK_ID": str(chunk_id),
            "CHUNK_TAG": chunk_tag(chunk_id),
            "CHUNK_EVENTS": str(chunk.events),
            "RAW_FILE": str(self.delivery.directory / chunk.file),
            "DIGI_FILE": str(self.digi_file(run, chunk)),
            "RECON_CHUNK_FILE": str(layout.product("recon", run_id, chunk_id)),
            "MERIT_CHUNK_FILE": str(layout.product("merit", run_id, chunk_id)),
            "FT1_CHUNK_FILE": str(layout.product("ft1", run_id, chunk_id)),
        }

    def crumb_variables(self, run: Run, chunk: Chunk, crumb_id: int, first: int, last: int) -> dict[str, str]:
        layout, run_id, chunk_id = self.layout, run.run_id, chunk.chunk_id
        return {
            **self.chunk_variables(run, chunk),
            "CRUMB_ID": str(crumb_id),
            "CRUMB_TAG": crumb_tag(crumb_id),
            "FIRST_ENTRY": str(first),
            "LAST_ENTRY": str(last),
            "CRUMB_EVENTS": str(last - first),
            "RECON_CRUMB_FILE": str(layout.product("recon", run_id, chunk_id, crumb_id)),
            "MERIT_CRUMB_FILE": str(layout.product("merit", run_id, chunk_id, crumb_id)),
        }


def plan_runs(settings: PlanSettings, pipeline: str = "run") -> Summary:
    runs, missing = [], []
    for run in settings.delivery.runs:
        chunks, left_out = settings.planned_chunks(run)
        missing.extend(left_out)
        if chunks:
            runs.append(run)
    if not runs:
        raise InputError(
            f"no digi file of delivery {settings.delivery.delivery_id} under {settings.digi_from}",
            hint="--digi-from names the OUT directory of the earlier L1 (it holds r000001/digi/...)",
        )
    variables = {
        "DELIVERY_ID": settings.delivery.delivery_id,
        "RUN_TAGS": " ".join(run_tag(r.run_id) for r in runs),
        "DELIVERY_EVENTS": str(sum(int(settings.run_variables(r)["RUN_EVENTS"]) for r in runs)),
    }
    if settings.reprocessing:
        variables["MISSING_DIGI"] = " ".join(missing)
    return Summary(
        variables, [Substream(pipeline, run_tag(r.run_id), settings.run_variables(r)) for r in runs]
    )


def plan_chunks(settings: PlanSettings, run_id: int, pipeline: str = "chunk") -> Summary:
    run = settings.delivery.run(run_id)
    chunks, missing = settings.planned_chunks(run)
    for chunk in chunks:
        check_raw_file(settings.delivery, run, chunk)
    if not chunks:
        raise InputError(
            f"run {run_id}: no digi file under {settings.digi_from}", hint="nothing to reprocess"
        )
    variables = {"CHUNK_TAGS": " ".join(chunk_tag(c.chunk_id) for c in chunks)}
    if settings.reprocessing:
        variables["MISSING_DIGI"] = " ".join(missing)
    substreams = [
        Substream(pipeline, chunk_tag(c.chunk_id), settings.chunk_variables(run, c)) for c in chunks
    ]
    return Summary(variables, substreams)


def plan_crumbs(settings: PlanSettings, run_id: int, chunk_id: int, pipeline: str = "crumb") -> Summary:
    run = settings.delivery.run(run_id)
    chunk = run.chunk(chunk_id, str(settings.delivery.manifest))
    check_raw_file(settings.delivery, run, chunk)
    if settings.reprocessing and not settings.digi_file(run, chunk).is_file():
        raise InputError(f"{settings.digi_file(run, chunk)}: no such digi file to reprocess")
    ranges = settings.rules.ranges(chunk.events)
    substreams = [
        Substream(pipeline, crumb_tag(k), settings.crumb_variables(run, chunk, k, first, last))
        for k, (first, last) in enumerate(ranges)
    ]
    variables = {
        "N_CRUMBS": str(len(ranges)),
        "CRUMB_TAGS": " ".join(s.id for s in substreams),
        "CRUMB_SIZES": " ".join(str(last - first) for first, last in ranges),
    }
    return Summary(variables, substreams)


@dataclass(frozen=True)
class RunPlan:
    """One run of a delivery as the pipeline will see it: its variables, its chunks', their crumbs'."""

    variables: dict[str, str]
    chunks: list[tuple[dict[str, str], list[dict[str, str]]]]


def plan_delivery(settings: PlanSettings) -> list[RunPlan]:
    """The three levels of planning, done the way the pipeline does them (lat-l1 delivery)."""
    plans = []
    for run_stream in plan_runs(settings).substreams:
        run_id = int(run_stream.variables["RUN_ID"])
        chunks = []
        for chunk_stream in plan_chunks(settings, run_id).substreams:
            crumbs = plan_crumbs(settings, run_id, int(chunk_stream.variables["CHUNK_ID"])).substreams
            chunks.append((chunk_stream.variables, [c.variables for c in crumbs]))
        plans.append(RunPlan(run_stream.variables, chunks))
    return plans


def plan_mc(jobs: int, first_seed: int, events: int, out: Path, calib: str, pipeline: str = "job") -> Summary:
    """``jobs`` MC production jobs with seeds first_seed, first_seed + 1, ... (one ``lat-mc`` each)."""
    if not 1 <= jobs <= 100_000 or first_seed < 0 or first_seed + jobs - 1 >= 2**32 or events < 1:
        raise LatError(
            f"--jobs {jobs}, --first-seed {first_seed}, --events {events}: out of range",
            hint="jobs 1..100000, seeds 0..4294967295, events >= 1",
        )
    checked_text(calib, "--calib")
    substreams = []
    for seed in range(first_seed, first_seed + jobs):
        tag = mc_tag(seed)
        files = mc_job_files(out, tag)
        variables = {
            "SEED": str(seed),
            "EVENTS": str(events),
            "RUN_ID": str(seed),
            "JOB_TAG": tag,
            "OUT_DIR": str(out),
            "CALIB": calib,
            **{f"{product.upper()}_FILE": str(path) for product, path in files.items()},
        }
        substreams.append(Substream(pipeline, tag, variables))
    return Summary({"MC_JOBS": str(jobs), "MC_EVENTS": str(jobs * events)}, substreams)
