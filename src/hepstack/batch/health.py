"""Which schedulers answer on this host (for `hepstack doctor`)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from hepstack import proc
from hepstack.batch.schedulers import SCHEDULERS
from hepstack.errors import ProcessError


@dataclass(frozen=True)
class SchedulerReport:
    name: str
    answers: bool
    detail: str


def check_schedulers(timeout: float = 20) -> list[SchedulerReport]:
    reports = []
    for name, scheduler_class in SCHEDULERS.items():
        scheduler = scheduler_class()
        path = proc.which(scheduler.tool)
        if path is None:
            reports.append(
                SchedulerReport(name, False, f"'{scheduler.tool}' not installed ({scheduler.install_hint})")
            )
            continue
        ping = scheduler.ping_argv()
        try:
            result = proc.run(ping, check=False, timeout=timeout)
        except ProcessError as exc:
            reports.append(SchedulerReport(name, False, f"`{' '.join(ping)}`: {exc.stderr.strip()}"))
            continue
        if result.returncode != 0:
            last = (
                result.stderr.strip() or result.stdout.strip() or f"exit {result.returncode}"
            ).splitlines()[-1]
            reports.append(SchedulerReport(name, False, f"{path} is installed but `{ping[0]}` fails: {last}"))
            continue
        first = (result.stdout.strip().splitlines() or ["answers"])[0]
        detail = f"{path}; `{' '.join(ping)}`: {' '.join(first.split())}"
        refusal = scheduler.refuses(os.geteuid(), os.getegid())
        if refusal is not None:  # it answers, but not to you: say so before anyone submits
            detail = f"{refusal} (you are uid {os.geteuid()}); {detail}"
        reports.append(SchedulerReport(name, refusal is None, detail))
    return reports
