"""SkySource: time-ordered photon events from the sky model seen through the survey pointing."""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterator, Mapping
from typing import ClassVar

import numpy as np

from lat import geometry
from lat.framework import portable
from lat.framework.module import Event, Source
from lat.framework.params import Param, Table
from lat.sim.response import AEFF_PARAMETERS, EffectiveArea, SpectrumSampler
from lat.sim.skymodel import SkyModel, load_sky_model

BACKGROUND_ID = -3
ISOTROPIC_ID = -2
GALACTIC_ID = -1


class SkySource(Source):
    """Generates photons (and a fraction of charged-particle background events).

    In each time step the expected rate of every component is (flux x effective area x
    livetime fraction), zero in the SAA and for directions below the Earth limb; the number of
    events is Poisson, times uniform within the step.  SubRun = event index // eventsPerSubRun
    (one raw chunk per SubRun).  Puts ``EventInfo`` and ``McTruth``.
    """

    parameters: ClassVar[Mapping[str, Param | Table]] = {
        **Source.parameters,
        "runId": Param("int", 1),
        "startMET": Param("float", 239557417.0, "MET of the start of the run (s)"),
        "firstEventId": Param("int", 0),
        "eventsPerSubRun": Param("int", 1000, "events per raw chunk"),
        "subRunEvents": Param(
            "list[int]", [], "events of each raw chunk, in order (instead of eventsPerSubRun); ends the run"
        ),
        "timeStep": Param("float", 30.0, "seconds per rate/pointing step"),
        "skyModel": Param("str", "@lat/data/sky_model.yaml"),
        "backgroundFraction": Param("float", 0.05, "fraction of charged-particle events"),
        "conversionEdge": Param("float", 0.95, "conversion points cover this fraction of the width"),
        "effectiveArea": AEFF_PARAMETERS,
    }

    def check_inputs(self) -> None:
        self.input_path("skyModel", self.params["skyModel"])
        if self.params["eventsPerSubRun"] <= 0:
            raise self.config_error("eventsPerSubRun", "must be positive")
        if any(n <= 0 for n in self.params["subRunEvents"]):
            raise self.config_error(
                "subRunEvents", f"every chunk needs events: {self.params['subRunEvents']}"
            )

    def begin_job(self) -> None:
        self._rng = self.context.rng(self.label)
        self._sky: SkyModel = load_sky_model(self.context.resolve(self.params["skyModel"]))
        self._aeff = EffectiveArea.from_params(self.params["effectiveArea"])
        self._spectra = SpectrumSampler(self._sky.emin, self._sky.emax, self._aeff)
        self._source_vectors = geometry.radec_to_vector(
            np.array([s.ra for s in self._sky.point_sources]),
            np.array([s.dec for s in self._sky.point_sources]),
        ).reshape(-1, 3)
        thin = np.full(geometry.TKR_FRONT_LAYERS, 0.03)
        thick = np.full(geometry.TKR_BACK_LAYERS, 0.18)
        p_layer = np.concatenate([thin, thick])
        survive = np.concatenate([[1.0], np.cumprod(1.0 - p_layer)[:-1]])
        conversion = survive * p_layer
        self._conversion_cdf = np.cumsum(conversion / conversion.sum())

    def _component_weights(self, axes: Mapping[str, np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Rate (Hz) per component at one pointing, and per-pixel weights of diffuse components."""
        z_axis, zenith = axes["z"][0], axes["zenith"][0]
        limb = portable.cos(math.radians(geometry.EARTH_LIMB_ZENITH_DEG))
        peak = self._aeff.peak_cm2 * geometry.LIVETIME_FRACTION
        rates = []
        for source, vec in zip(self._sky.point_sources, self._source_vectors):
            visible = float(portable.dot3(vec, zenith) > limb)
            rates.append(
                source.flux
                * peak
                * self._spectra.mean_aeff_factor(source.index)
                * float(self._aeff.angle_factor(portable.dot3(vec, z_axis)))
                * visible
            )
        pixel_weights = []
        for component in self._sky.diffuse:
            visible = portable.dot3(component.vectors, zenith) > limb
            weight = (
                component.intensity
                * component.solid_angle
                * self._aeff.angle_factor(portable.dot3(component.vectors, z_axis))
            )
            weight = weight * visible * peak * self._spectra.mean_aeff_factor(component.index)
            pixel_weights.append(weight)
            rates.append(float(weight.sum()))
        return np.array(rates), pixel_weights

    def _diffuse_directions(self, component_index: int, weights: np.ndarray, n: int) -> np.ndarray:
        component = self._sky.diffuse[component_index]
        pixel = self._rng.choice(len(weights), size=n, p=weights / weights.sum())
        if component.cube is None:
            # isotropic points: jitter around the lattice point by up to a pixel radius
            radius = math.sqrt(component.solid_angle[0] / math.pi)
            from lat.sim.response import rotate_away

            angle = radius * np.sqrt(self._rng.random(n))
            return rotate_away(component.vectors[pixel], angle, self._rng.uniform(0, 2 * math.pi, n))
        l_deg, b_deg = component.cube.sample(pixel, self._rng)  # a 0.125° pixel inside the 2° block
        ra, dec = geometry.galactic_to_equatorial(l_deg, b_deg)
        return geometry.radec_to_vector(ra, dec)

    def _step(self, start: float, step: float) -> dict[str, np.ndarray]:
        """Photons generated in [start, start + step), sorted in time."""
        axes = geometry.spacecraft_axes([start + step / 2])
        rates, pixel_weights = self._component_weights(axes)
        total = rates.sum()
        n = int(self._rng.poisson(total * step)) if total > 0 else 0
        times = np.sort(self._rng.uniform(start, start + step, n))
        component = self._rng.choice(len(rates), size=n, p=rates / total) if n else np.zeros(0, int)
        n_points = len(self._sky.point_sources)
        vectors = np.zeros((n, 3))
        energy = np.zeros(n)
        source_id = np.zeros(n, dtype=np.int32)
        uniform = self._rng.random(n)
        for c in range(len(rates)):
            mask = component == c
            count = int(mask.sum())
            if not count:
                continue
            if c < n_points:
                vectors[mask] = self._source_vectors[c]
                energy[mask] = self._spectra.sample(self._sky.point_sources[c].index, uniform[mask])
                source_id[mask] = c
            else:
                d = c - n_points
                vectors[mask] = self._diffuse_directions(d, pixel_weights[d], count)
                energy[mask] = self._spectra.sample(self._sky.diffuse[d].index, uniform[mask])
                source_id[mask] = GALACTIC_ID if self._sky.diffuse[d].name == "galactic" else ISOTROPIC_ID
        # exact geometry at each photon's time: drop the ones outside the FoV, the SAA or the Earth
        instrument = geometry.celestial_to_instrument(vectors, times) if n else np.zeros((0, 3))
        zenith_angle, _ = geometry.earth_angles(vectors, times) if n else (np.zeros(0), None)
        keep = (self._aeff.angle_factor(instrument[:, 2]) > 0) & ~geometry.in_saa(times)
        keep &= zenith_angle < geometry.EARTH_LIMB_ZENITH_DEG
        return {
            "met": times[keep],
            "vector": vectors[keep],
            "instrument": instrument[keep],
            "energy": energy[keep],
            "sourceId": source_id[keep],
        }

    def _subrun(self, index: int) -> int:
        """The SubRun (raw chunk) of the ``index``-th event."""
        edges = self._subrun_edges
        return bisect.bisect_right(edges, index) if edges else index // self.params["eventsPerSubRun"]

    def events(self) -> Iterator[Event]:
        p = self.params
        met = p["startMET"]
        index = 0
        self._subrun_edges = list(itertools.accumulate(p["subRunEvents"]))
        last = self._subrun_edges[-1] if self._subrun_edges else -1
        edge = geometry.TKR_WIDTH_MM / 2 * p["conversionEdge"]
        while True:
            batch = self._step(met, p["timeStep"])
            met += p["timeStep"]
            n = len(batch["met"])
            if not n:
                continue
            background = self._rng.random(n) < p["backgroundFraction"]
            layer = np.searchsorted(self._conversion_cdf, self._rng.random(n), side="right")
            conv_x = self._rng.uniform(-edge, edge, n)
            conv_y = self._rng.uniform(-edge, edge, n)
            ra, dec = geometry.vector_to_radec(batch["vector"])
            inst = batch["instrument"]
            theta = np.degrees(portable.arccos(np.clip(inst[:, 2], -1, 1)))
            phi = np.degrees(portable.arctan2(inst[:, 1], inst[:, 0])) % 360.0
            for i in range(n):
                if index == last:
                    return
                event_id = p["firstEventId"] + index
                event = Event(p["runId"], self._subrun(index), event_id)
                event.put(
                    "EventInfo",
                    {"eventId": np.int64(event_id), "met": np.float64(batch["met"][i]), "gem": np.int32(0)},
                )
                is_bkg = bool(background[i])
                event.put(
                    "McTruth",
                    {
                        "sourceId": np.int32(BACKGROUND_ID if is_bkg else batch["sourceId"][i]),
                        "energy": np.float64(batch["energy"][i]),
                        "ra": np.float64(ra[i]),
                        "dec": np.float64(dec[i]),
                        "theta": np.float64(theta[i]),
                        "phi": np.float64(phi[i]),
                        "convLayer": np.int32(0 if is_bkg else layer[i]),
                        "convX": np.float64(conv_x[i]),
                        "convY": np.float64(conv_y[i]),
                    },
                )
                index += 1
                yield event
