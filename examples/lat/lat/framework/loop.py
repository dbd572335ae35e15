"""The event loop: source -> trigger paths -> end path (analyzers, then output writes)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any, TextIO

from lat.framework.config import JobConfig
from lat.framework.module import JobContext, Module
from lat.framework.timing import TimeTracker

END_PATH = "end_path"  # art records every end-path module under this path name


@dataclass
class JobReport:
    events: int
    written: dict[str, int]
    outputs: list[Path]


def _construct(config: JobConfig, context: JobContext) -> tuple[Any, dict[str, Module]]:
    spec = config.source
    source = spec.cls(spec.label, spec.params, context, spec.key_path)
    modules = {label: s.cls(label, s.params, context, s.key_path) for label, s in config.modules.items()}
    return source, modules


def run_job(config: JobConfig, log: TextIO) -> JobReport:
    """Run one job; every output (and the timing DB) appears only if the whole job succeeds."""
    seed = config.services.get("RandomNumberGenerator", {}).get("seed", 1)
    context = JobContext(config.file, config.process_name, seed)
    for key, value in config.services.get("Metadata", {}).get("entries", {}).items():
        context.add_metadata(key, value, "services.Metadata.entries (lat-run --metadata)")
    tracker_cfg = config.services.get("TimeTracker")
    try:
        with context.exit_stack:
            source, modules = _construct(config, context)
            source.check_inputs()
            for module in modules.values():
                check = getattr(module, "check_inputs", None)
                if check is not None:
                    check()
            tracker = None
            if tracker_cfg is not None:
                db_name = tracker_cfg["dbOutput"]["filename"]
                db_path = context.outputs.stage(db_name) if db_name else None
                tracker = TimeTracker(db_path, config.source.module_type)
            report = _loop(config, source, modules, tracker)
            if tracker is not None:
                summary = tracker.summary() if tracker_cfg["printSummary"] else None
                tracker.close()
                if summary:
                    log.write(summary + "\n")
        report.outputs = context.outputs.commit()
        return report
    finally:
        context.outputs.discard()


def _loop(
    config: JobConfig, source: Any, modules: dict[str, Module], tracker: TimeTracker | None
) -> JobReport:
    source.begin_job()
    for module in modules.values():
        module.begin_job()
    trigger_paths = [(name, [modules[label] for label in labels]) for name, labels in config.trigger_paths]
    end_analyzers = [modules[label] for label in config.end_path if modules[label].kind == "analyzer"]
    end_outputs = [modules[label] for label in config.end_path if modules[label].kind == "output"]
    written = {m.label: 0 for m in end_outputs}
    max_events = source.params["maxEvents"]
    events = source.events()
    count = 0
    while max_events < 0 or count < max_events:
        start = perf_counter()
        event = next(events, None)
        if event is None:
            break
        if tracker is not None:
            tracker.source_time(event.id, perf_counter() - start)
        event_start = perf_counter()
        accepted: dict[str, bool] = {}
        done: dict[str, bool] = {}
        for path_name, path_modules in trigger_paths:
            passed = True
            for module in path_modules:
                if module.label in done:
                    passed = done[module.label]
                else:
                    t0 = perf_counter()
                    if module.kind == "filter":
                        result = bool(module.filter(event))  # type: ignore[attr-defined]
                    else:
                        module.produce(event)  # type: ignore[attr-defined]
                        result = True
                    if tracker is not None:
                        tracker.module_time(
                            event.id, path_name, module.label, module.module_type, perf_counter() - t0
                        )
                    done[module.label] = result
                    passed = result
                if not passed:
                    break
            accepted[path_name] = passed
        for module in end_analyzers:
            t0 = perf_counter()
            module.analyze(event)  # type: ignore[attr-defined]
            if tracker is not None:
                tracker.module_time(event.id, END_PATH, module.label, module.module_type, perf_counter() - t0)
        if tracker is not None:
            tracker.event_time(event.id, perf_counter() - event_start)
        for module in end_outputs:
            select = module.params.get("SelectEvents") or []
            if select and not any(accepted.get(p, False) for p in select):
                continue
            t0 = perf_counter()
            module.write(event)  # type: ignore[attr-defined]
            if tracker is not None:
                tracker.module_time(
                    event.id, END_PATH, module.label, f"{module.module_type}(write)", perf_counter() - t0
                )
            written[module.label] += 1
        count += 1
    for module in modules.values():
        module.end_job()
    source.end_job()
    return JobReport(count, written, [])
