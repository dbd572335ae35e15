"""The I/O exercise of the FNAL art container study: per event a vector of 250,000 integers
goes through about ten small modules, each doing modest numpy work, and is written to ROOT.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from lat.framework.module import Analyzer, Event, Filter, Producer
from lat.framework.params import Param, Table

VECTOR = "IntVector"
SLICE = Param("int", 25_000, "number of leading values used")


def _vector(event: Event) -> np.ndarray:
    return event.get(VECTOR)["values"]


class IntVectorProducer(Producer):
    """Generates the per-event vector of integers (PCG64, seeded per job)."""

    parameters: ClassVar[Mapping[str, Param | Table]] = {
        "length": Param("int", 250_000),
        "maxValue": Param("int", 1 << 16, "values are drawn uniformly in [0, maxValue)"),
    }

    def begin_job(self) -> None:
        self._rng = self.context.rng(self.label)

    def produce(self, event: Event) -> None:
        values = self._rng.integers(0, self.params["maxValue"], self.params["length"], dtype=np.int32)
        event.put(VECTOR, {"values": values})


class VectorSum(Producer):
    def produce(self, event: Event) -> None:
        event.put("Sum", {"total": np.int64(_vector(event).sum(dtype=np.int64))})


class VectorMoments(Producer):
    def produce(self, event: Event) -> None:
        v = _vector(event).astype(np.float64)
        mean = v.mean()
        event.put("Moments", {"mean": mean, "variance": ((v - mean) ** 2).mean()})


class VectorHistogram(Producer):
    parameters: ClassVar[Mapping[str, Param | Table]] = {
        "bins": Param("int", 64),
        "maxValue": Param("int", 1 << 16),
    }

    def produce(self, event: Event) -> None:
        scale = max(self.params["maxValue"] // self.params["bins"], 1)
        counts = np.bincount(_vector(event) // scale, minlength=self.params["bins"])
        event.put("Histogram", {"counts": counts.astype(np.int32)})


class SortSlice(Producer):
    parameters: ClassVar[Mapping[str, Param | Table]] = {"slice": SLICE}

    def produce(self, event: Event) -> None:
        ordered = np.sort(_vector(event)[: self.params["slice"]])
        n = len(ordered)
        event.put("Sorted", {"median": np.int32(ordered[n // 2]), "p90": np.int32(ordered[(9 * n) // 10])})


class RunningMax(Producer):
    parameters: ClassVar[Mapping[str, Param | Table]] = {"slice": SLICE}

    def produce(self, event: Event) -> None:
        running = np.maximum.accumulate(_vector(event)[: self.params["slice"]])
        records = np.count_nonzero(np.diff(running)) + 1
        event.put("RunningMax", {"records": np.int32(records), "last": np.int32(running[-1])})


class UniqueCount(Producer):
    parameters: ClassVar[Mapping[str, Param | Table]] = {"slice": Param("int", 10_000)}

    def produce(self, event: Event) -> None:
        event.put("Unique", {"count": np.int32(len(np.unique(_vector(event)[: self.params["slice"]])))})


class XorChecksum(Producer):
    def produce(self, event: Event) -> None:
        event.put("Checksum", {"xor": np.int32(np.bitwise_xor.reduce(_vector(event)))})


class SignChanges(Producer):
    def produce(self, event: Event) -> None:
        signs = np.sign(np.diff(_vector(event)))
        event.put("SignChanges", {"count": np.int32(np.count_nonzero(signs[1:] != signs[:-1]))})


class SmoothSlice(Producer):
    parameters: ClassVar[Mapping[str, Param | Table]] = {
        "slice": Param("int", 10_000),
        "width": Param("int", 16),
    }

    def produce(self, event: Event) -> None:
        kernel = np.full(self.params["width"], 1.0 / self.params["width"])
        smooth = np.convolve(_vector(event)[: self.params["slice"]].astype(np.float64), kernel, mode="valid")
        event.put("Smooth", {"max": smooth.max(), "min": smooth.min()})


class ThresholdFilter(Filter):
    """Passes events with at least ``minCount`` values above ``threshold``."""

    parameters: ClassVar[Mapping[str, Param | Table]] = {
        "threshold": Param("int", 60_000),
        "minCount": Param("int", 1),
    }

    def filter(self, event: Event) -> bool:
        above = int(np.count_nonzero(_vector(event) > self.params["threshold"]))
        event.put("Threshold", {"above": np.int32(above)})
        return above >= self.params["minCount"]


class VectorSummary(Analyzer):
    """Accumulates a job-level checksum of the vectors; prints it at the end of the job."""

    def begin_job(self) -> None:
        self._events = 0
        self._xor = 0

    def analyze(self, event: Event) -> None:
        self._events += 1
        self._xor ^= int(event.get("Checksum")["xor"])

    def end_job(self) -> None:
        print(f"{self.label}: {self._events} vectors, xor of checksums {self._xor:#010x}")
