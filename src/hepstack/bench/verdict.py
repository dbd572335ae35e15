"""One comparison's outcome: a (workload, arm, repetition) run's outputs against the baseline's.

A leaf: the runner's records, the comparison (:mod:`hepstack.bench.outputs`) and the report all hold
verdicts without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Verdict:
    """The outcome for one (workload, arm, repetition) against the baseline's run."""

    workload: str
    arm: str
    repetition: int
    files_compared: list[str] = field(default_factory=list)
    difference_count: int = 0
    differences: list[dict[str, object]] = field(default_factory=list)

    @property
    def checked(self) -> bool:
        """Some output file existed on either side (else the `outputs` globs matched nothing)."""
        return bool(self.files_compared) or self.difference_count > 0

    @property
    def equal(self) -> bool:
        return self.checked and self.difference_count == 0

    def text(self) -> str:
        if not self.checked:
            return "no outputs matched"
        if self.equal:
            return f"equal ({len(self.files_compared)} files)"
        return f"{self.difference_count} differences"

    def to_json(self) -> dict[str, object]:
        return {
            "repetition": self.repetition,
            "checked": self.checked,
            "equal": self.equal,
            "files_compared": self.files_compared,
            "difference_count": self.difference_count,
            "differences": self.differences,
        }
