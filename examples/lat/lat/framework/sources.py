"""Framework-provided sources (numpy-free)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar

from lat.framework.module import Event, Source
from lat.framework.params import Param, Table


class EmptySource(Source):
    """Events carrying only an id, like art's EmptyEvent."""

    parameters: ClassVar[Mapping[str, Param | Table]] = {
        **Source.parameters,
        "runNumber": Param("int", 1),
        "firstEvent": Param("int", 1),
    }

    def events(self) -> Iterator[Event]:
        number = self.params["firstEvent"]
        while True:
            yield Event(self.params["runNumber"], 0, number)
            number += 1

    def check_inputs(self) -> None:
        if self.params["maxEvents"] < 0:
            raise self.config_error("maxEvents", "EmptySource needs maxEvents >= 0 (or -n EVENTS)")
