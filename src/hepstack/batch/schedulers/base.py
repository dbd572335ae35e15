"""What every scheduler backend shares. Methods are pure: they return argv, directives or parsed state;
:mod:`hepstack.batch.executor` runs them.

Why not psij-python (DESIGN decision 7)? psij 0.9.11 renders its own job script from its mustache
templates around a JobSpec executable, so hepstack could not hand it the script it rendered (one that
execs the container runtime and writes each task's exit code), and it has no job arrays (its SLURM
executor says so: "we're not really using job arrays"). hepstack drives sbatch/bsub itself, in psij's
shape: submit argv -> native id, queue argv -> state table -> job state, cancel argv.
"""

from __future__ import annotations

import shlex
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from hepstack import proc
from hepstack.batch.spec import JobSpec
from hepstack.batch.states import QueueEntry
from hepstack.errors import HepstackError
from hepstack.names import DIRECTIVE_OPTION
from hepstack.quoting import check_text, reject, shown

# Key for "every task of the job that the queue does not list one by one" (local jobs, pending ranges).
WHOLE_JOB = 0


@dataclass(frozen=True)
class QueuedJob:
    """One job of a user's queue, as one bulk query sees it: its name and its tasks' entries."""

    name: str
    tasks: dict[int, QueueEntry] = field(default_factory=dict)


class Scheduler(proc.Tool, ABC):
    # tool: the submit command; its absence is reported when this scheduler is chosen
    role = "scheduler"
    template: str  # file name in hepstack/batch/templates

    # set when the commands run on a site's login host (batch/transport.py): found on its PATH there
    on_remote_host = False

    def binary(self) -> str:
        return self.tool if self.on_remote_host else super().binary()

    directive_prefix = ""  # "#SBATCH", "#$", "#BSUB": how the scheduler finds its options in the script

    @abstractmethod
    def directives(self, spec: JobSpec) -> list[str]:
        """Directive lines (``#SBATCH ...``) for the job's name, array, output, resources and extras."""

    def word(self, value: str, what: str) -> str:
        """``value`` as one word of this scheduler's directives (hepstack.quoting, one per scheduler)."""
        raise HepstackError(
            f"the {self.name} scheduler takes no directives, so it cannot be given {what} {shown(value)}",
            hint="remove the site's directives, or choose another scheduler",
        )

    def directive(self, option: str, *values: str) -> str:
        """One directive line: ``--option=VALUE`` for a long option with one value, else
        ``-o VALUE ...``; every value quoted by :meth:`word`, the option checked against its grammar."""
        if not DIRECTIVE_OPTION.match(option):
            reject(
                option, "directive option", "is not an option", "write -x, -name or --name, then its value"
            )
        words = [self.word(value, f"the value of {option}") for value in values]
        if option.startswith("--") and len(words) == 1:
            return f"{self.directive_prefix} {option}={words[0]}"
        return " ".join([self.directive_prefix, option, *words])

    def site_directive(self, text: str) -> str:
        """A site's extra option, written as on the command line (``--constraint=cpu``, ``-l sps=1``,
        ``-R "span[hosts=1]"``): split into words like a shell would, then written by :meth:`directive`,
        so a site file can add one option per entry and nothing else."""
        check_text(text, "site directive")
        try:
            words = shlex.split(text)
        except ValueError as exc:
            raise HepstackError(
                f"site directive {shown(text)}: {exc}", hint="write one option and its values"
            ) from None
        if not words:
            reject(text, "site directive", "is empty", "write one option and its values, or remove it")
        option, values = words[0], words[1:]
        if option.startswith("--") and "=" in option:
            option, _, value = option.partition("=")
            values = [value, *values]
        return self.directive(option, *values)

    @abstractmethod
    def submit_argv(self, script: Path, spec: JobSpec) -> list[str]: ...

    def submit_input(self, script: Path) -> str | None:
        """Text for the submit command's stdin (bsub reads the script there); default none."""
        return None

    def extra_files(self, spec: JobSpec, script: Path) -> dict[str, str]:
        """Other files to write into the job directory before submitting (HTCondor's submit file)."""
        return {}

    @abstractmethod
    def parse_submit(self, stdout: str) -> str:
        """The native job id from the submit command's output."""

    @abstractmethod
    def queue_argv(self, native_id: str) -> list[str]: ...

    @abstractmethod
    def parse_queue(self, result: proc.Completed, native_id: str) -> dict[int, QueueEntry]:
        """Tasks the queue still holds, by 1-based task index (WHOLE_JOB for all unlisted tasks)."""

    def accounting_argv(self, native_id: str) -> list[str] | None:
        """A command that knows finished tasks' exit codes, if the scheduler has one."""
        return None

    def parse_accounting(self, result: proc.Completed, native_id: str) -> dict[int, QueueEntry]:
        return {}

    @abstractmethod
    def cancel_argv(self, native_id: str) -> list[str]: ...

    # --- many jobs at once (pipelines): one query per poll, whatever the number of jobs ---------------

    @abstractmethod
    def user_queue_argv(self, user: str) -> list[str]:
        """One query for every job of ``user`` the queue holds (names included, for re-attaching)."""

    @abstractmethod
    def parse_user_queue(self, result: proc.Completed) -> dict[str, QueuedJob]:
        """native id -> :class:`QueuedJob` for every job in the answer to ``user_queue_argv``."""

    def cancel_task_argv(self, native_id: str, task: int) -> list[str]:
        """Cancel one task of an array; default: the scheduler cannot, so the whole job."""
        return self.cancel_argv(native_id)

    @abstractmethod
    def ping_argv(self) -> list[str]:
        """A cheap command that succeeds only when the scheduler answers (for `hepstack doctor`)."""

    def refuses(self, uid: int, gid: int) -> str | None:
        """Why this scheduler would refuse a job of ``uid``/``gid`` here, read from its own
        configuration, or None; asked by `doctor` and before every submission."""
        return None


def not_found(result: proc.Completed, *phrases: str) -> bool:
    """The command failed only because the job is not (or no longer) known."""
    text = (result.stderr + result.stdout).lower()
    return any(phrase.lower() in text for phrase in phrases)
