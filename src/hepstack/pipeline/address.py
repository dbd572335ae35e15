"""How operators name things: ``PIPELINE``, ``PIPELINE/STREAM[/SUBSTREAM...]`` and, for one process
instance, ``PIPELINE/STREAM...:STEP[#EXECUTION]``, e.g. ``lat-l1/d1/r000001/c000/k02:recon#2``.

The stream part may use shell-style wildcards (``lat-l1/d1/r000001/c001/*:recon``) where a command takes
several instances (rollback, cancel).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hepstack.errors import HepstackError

_ADDRESS = re.compile(
    r"^(?P<pipeline>[A-Za-z][A-Za-z0-9_-]{0,47})"
    r"(?:/(?P<stream>[A-Za-z0-9*?\[\]][A-Za-z0-9_.*?\[\]/-]*))?"
    r"(?::(?P<step>[A-Za-z*?\[\]][A-Za-z0-9_*?\[\]-]*))?"
    r"(?:#(?P<execution>[0-9]{1,6}))?$"
)


@dataclass(frozen=True)
class Address:
    pipeline: str
    stream: str | None = None
    step: str | None = None
    execution: int | None = None

    @property
    def is_pattern(self) -> bool:
        return any(c in (self.stream or "") + (self.step or "") for c in "*?[")

    def __str__(self) -> str:
        text = self.pipeline
        if self.stream:
            text += f"/{self.stream}"
        if self.step:
            text += f":{self.step}"
        if self.execution is not None:
            text += f"#{self.execution}"
        return text


def parse_address(text: str, *, instance: bool = False) -> Address:
    match = _ADDRESS.match(text)
    if match is None or "//" in text or (match["stream"] or "").endswith("/"):
        raise HepstackError(
            f"bad address {text!r}",
            hint="write PIPELINE, PIPELINE/STREAM or PIPELINE/STREAM/SUB...:STEP[#EXECUTION], "
            "e.g. lat-l1/d1/r000001/c000/k02:recon",
        )
    address = Address(
        match["pipeline"],
        match["stream"],
        match["step"],
        int(match["execution"]) if match["execution"] else None,
    )
    if instance and (address.stream is None or address.step is None):
        raise HepstackError(
            f"{text!r} names no process instance",
            hint="add the stream and the step: PIPELINE/STREAM...:STEP, e.g. lat-l1/d1:findRuns",
        )
    return address
