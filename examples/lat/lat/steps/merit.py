"""merit: recon products -> one flat row per event, with the event classification.

EVENT_CLASS bits (as in FT1, bit k has value 2**k):
  bit 0 TRANSIENT  good track in both views, chi2/ndf < transientChi2, energy > transientMinMeV
  bit 1 SOURCE     TRANSIENT and chi2/ndf < sourceChi2 and a shower-like calorimeter profile
                   (max/mean layer energy > showerMaxToMean, or energy > 1 GeV)
  bit 2 CLEAN      SOURCE and chi2/ndf < cleanChi2 and energy > cleanMinMeV
EVENT_TYPE bits: bit 0 FRONT (conversion in layers 0-11), bit 1 BACK.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from lat import geometry
from lat.framework.module import Event, Producer
from lat.framework.params import Param, Table

TRANSIENT, SOURCE, CLEAN = 1, 2, 4
FRONT, BACK = 1, 2


class MeritMaker(Producer):
    parameters: ClassVar[Mapping[str, Param | Table]] = {
        "reconVersion": Param("int", 1),
        "transientChi2": Param("float", 20.0),
        "transientMinMeV": Param("float", 20.0),
        "sourceChi2": Param("float", 8.0),
        "showerMaxToMean": Param("float", 1.6),
        "cleanChi2": Param("float", 4.0),
        "cleanMinMeV": Param("float", 100.0),
    }

    def classify(self, status: int, chi2: float, energy: float, max_to_mean: float) -> int:
        p = self.params
        bits = 0
        if status == 1 and 0 <= chi2 < p["transientChi2"] and energy > p["transientMinMeV"]:
            bits |= TRANSIENT
            if chi2 < p["sourceChi2"] and (max_to_mean > p["showerMaxToMean"] or energy > 1000.0):
                bits |= SOURCE
                if chi2 < p["cleanChi2"] and energy > p["cleanMinMeV"]:
                    bits |= CLEAN
        return bits

    def produce(self, event: Event) -> None:
        info, cal, tkr, astro = (
            event.get("EventInfo"),
            event.get("CalRecon"),
            event.get("TkrRecon"),
            event.get("Astro"),
        )
        energy = float(cal["energy"])
        status = int(tkr["status"])
        first = int(tkr["firstLayer"])
        conv_type = 0 if 0 <= first < geometry.TKR_FRONT_LAYERS else 1
        event_class = self.classify(status, float(tkr["chi2"]), energy, float(cal["maxToMean"]))
        event.put(
            "MeritTuple",
            {
                "EvtEventId": np.int64(info["eventId"]),
                "EvtElapsedTime": np.float64(info["met"]),
                "GltGemSummary": np.int32(info["gem"]),
                "TkrStatus": np.int32(status),
                "TkrNumClusters": np.int32(tkr["nClusters"]),
                "Tkr1NumHits": np.int32(int(tkr["nHitsX"]) + int(tkr["nHitsY"])),
                "Tkr1FirstLayer": np.int32(first),
                "Tkr1Chi2": np.float32(tkr["chi2"]),
                "Tkr1ThetaErr": np.float32(tkr["thetaErr"]),
                "CalEnergyRaw": np.float32(energy),
                "CalNumLogs": np.int32(cal["nLogs"]),
                "CalMaxToMean": np.float32(cal["maxToMean"]),
                "CalTransRms": np.float32(cal["transRms"]),
                "FT1Energy": np.float32(energy),
                "FT1Theta": np.float32(tkr["theta"]),
                "FT1Phi": np.float32(tkr["phi"]),
                "FT1Ra": np.float32(astro["ra"]),
                "FT1Dec": np.float32(astro["dec"]),
                "FT1L": np.float32(astro["l"]),
                "FT1B": np.float32(astro["b"]),
                "FT1ZenithTheta": np.float32(astro["zenithAngle"]),
                "FT1EarthAzimuth": np.float32(astro["earthAzimuth"]),
                "FT1ConvType": np.int16(conv_type if status == 1 else -1),
                "EventClass": np.int32(event_class),
                "EventType": np.int32((FRONT if conv_type == 0 else BACK) if status == 1 else 0),
                "ReconVersion": np.int16(self.params["reconVersion"]),
                "CalibVersionTkr": np.int16(cal["calibTkr"]),
                "CalibVersionCal": np.int16(cal["calibCal"]),
                "CalibVersionAcd": np.int16(cal["calibAcd"]),
            },
        )
