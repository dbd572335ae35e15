"""Schedulers, registered by name. A missing scheduler command is reported only when it is chosen."""

from __future__ import annotations

from hepstack.batch.schedulers.base import WHOLE_JOB, QueuedJob, Scheduler
from hepstack.batch.schedulers.htcondor import HTCondorScheduler
from hepstack.batch.schedulers.local import LocalScheduler
from hepstack.batch.schedulers.lsf import LsfScheduler
from hepstack.batch.schedulers.sge import SgeScheduler
from hepstack.batch.schedulers.slurm import SlurmScheduler
from hepstack.errors import UnknownName

SCHEDULERS: dict[str, type[Scheduler]] = {
    "local": LocalScheduler,
    "slurm": SlurmScheduler,
    "sge": SgeScheduler,
    "lsf": LsfScheduler,
    "htcondor": HTCondorScheduler,
}
# UGE is Univa's (now Altair's) Grid Engine: same commands and directives as SGE for what hepstack uses.
ALIASES = {"uge": "sge"}


def get_scheduler(name: str) -> Scheduler:
    try:
        return SCHEDULERS[ALIASES.get(name, name)]()
    except KeyError:
        raise UnknownName("scheduler", name, [*SCHEDULERS, *ALIASES]) from None


__all__ = ["ALIASES", "SCHEDULERS", "WHOLE_JOB", "QueuedJob", "Scheduler", "get_scheduler"]
