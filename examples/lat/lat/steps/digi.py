"""digi: raw strip hits -> tracker clusters (runs of adjacent strips); calorimeter words decoded."""

from __future__ import annotations

import numpy as np

from lat import geometry
from lat.framework.module import Event, Producer

PLANE_SHIFT = 65536  # strip numbers < 2^16


def find_clusters(layer: np.ndarray, view: np.ndarray, strip: np.ndarray) -> dict[str, np.ndarray]:
    """Group adjacent strips of each plane into clusters.

    >>> c = find_clusters(np.array([0, 0, 0, 1]), np.array([0, 0, 0, 1]), np.array([5, 6, 9, 3]))
    >>> c["firstStrip"].tolist(), c["width"].tolist()
    ([5, 9, 3], [2, 1, 1])
    """
    key = np.unique((layer.astype(np.int64) * 2 + view) * PLANE_SHIFT + strip)
    if not len(key):
        empty = np.zeros(0, dtype=np.int16)
        return {"layer": empty, "view": empty, "firstStrip": np.zeros(0, np.int32), "width": empty}
    starts = np.concatenate([[True], np.diff(key) != 1])
    start_index = np.nonzero(starts)[0]
    widths = np.diff(np.concatenate([start_index, [len(key)]]))
    plane, first = np.divmod(key[start_index], PLANE_SHIFT)
    return {
        "layer": (plane // 2).astype(np.int16),
        "view": (plane % 2).astype(np.int16),
        "firstStrip": first.astype(np.int32),
        "width": widths.astype(np.int16),
    }


class Digitize(Producer):
    """Puts ``TkrCluster`` (layer, view, firstStrip, width) and ``CalDigi`` (adc, range per log)."""

    def produce(self, event: Event) -> None:
        tkr, cal = event.get("RawTkr"), event.get("RawCal")
        event.put("TkrCluster", find_clusters(tkr["tkrLayer"], tkr["tkrView"], tkr["tkrStrip"]))
        words = cal["calWord"]
        event.put(
            "CalDigi",
            {
                "adc": (words & geometry.CAL_ADC_MAX).astype(np.uint16),
                "range": (words >> geometry.CAL_ADC_RANGE_BIT).astype(np.uint8),
            },
        )
