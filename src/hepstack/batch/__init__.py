"""Batch submission: scheduler backends, job-script templates, the state DB, and the executor.

>>> from hepstack.batch import get_scheduler
>>> get_scheduler("slurm").template
'slurm.tmpl'
"""

from __future__ import annotations

from hepstack.batch.schedulers import SCHEDULERS, Scheduler, get_scheduler
from hepstack.batch.spec import JobSpec, Resources
from hepstack.batch.states import TaskState, TaskStatus

__all__ = ["SCHEDULERS", "JobSpec", "Resources", "Scheduler", "TaskState", "TaskStatus", "get_scheduler"]
