"""Detector simulation: tracker strip hits, calorimeter ADC words, GEM trigger word."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import yaml

from lat import geometry
from lat.framework import portable
from lat.framework.module import Event, Producer
from lat.framework.params import Param, Table
from lat.sim.response import PSF_PARAMETERS, PointSpread, erf, rotate_away

BACKGROUND_ID = -3
SILICON_THICKNESS_MM = 0.4
MIP_MEV_PER_LAYER = 11.0  # CsI: 5.6 MeV/cm x ~2 cm


def load_constants(path: Any) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    cal = data["cal"]
    return {
        "version": data["version"],
        "pedestal": np.array([cal["pedestal"]["fine"], cal["pedestal"]["coarse"]], dtype=np.float64),
        "gain": np.array([cal["gain"]["fine"], cal["gain"]["coarse"]], dtype=np.float64),
        "noise": float(cal["noiseAdc"]),
    }


class TrackerSim(Producer):
    """The e+e- pair as one track: PSF-smeared direction, multiple-scattering random walk,
    strip quantisation, charge sharing, inefficiency and noise hits.  Puts ``Raw`` (tracker
    part) and ``McTrack`` (the smeared direction and conversion point)."""

    parameters: ClassVar[Mapping[str, Param | Table]] = {
        "psf": PSF_PARAMETERS,
        "msKick100": Param("float", 0.004, "rms multiple-scattering kick per layer at 100 MeV (rad)"),
        "hitEfficiency": Param("float", 0.98),
        "chargeSharing": Param("float", 0.25, "probability that the nearer neighbour strip fires"),
        "noiseHitsPerPlane": Param("float", 0.02),
    }

    def begin_job(self) -> None:
        self._rng = self.context.rng(self.label)
        self._psf = PointSpread.from_params(self.params["psf"])

    def produce(self, event: Event) -> None:
        truth = event.get("McTruth")
        rng = self._rng
        if int(truth["sourceId"]) == BACKGROUND_ID:
            cos_t = rng.uniform(0.5, 1.0)
            az = rng.uniform(0, 2 * math.pi)
            sin_t = math.sqrt(1 - cos_t * cos_t)
            sin_az, cos_az = portable.sincos(az)
            source_dir = np.array([[sin_t * cos_az, sin_t * sin_az, cos_t]])
            kick, first_layer = 0.0005, 0
        else:
            energy = float(truth["energy"])
            first_layer = int(truth["convLayer"])
            back = first_layer >= geometry.TKR_FRONT_LAYERS
            theta, phi = math.radians(float(truth["theta"])), math.radians(float(truth["phi"]))
            sin_theta, cos_theta = portable.sincos(theta)
            sin_phi, cos_phi = portable.sincos(phi)
            true_dir = np.array([[sin_theta * cos_phi, sin_theta * sin_phi, cos_theta]])
            sigma = float(self._psf.sigma_rad(energy, back))
            angle = sigma * math.sqrt(-2.0 * math.log(1.0 - rng.random()))
            source_dir = rotate_away(true_dir, np.array([angle]), np.array([rng.uniform(0, 2 * math.pi)]))
            kick = min(self.params["msKick100"] * 100.0 / energy, 0.05)
        d = source_dir[0]
        z = geometry.TKR_LAYER_Z_MM[first_layer:]
        n = len(z)
        layers = np.arange(first_layer, geometry.TKR_LAYERS)
        gaps = np.diff(z)  # negative: the track goes down
        layer_list, view_list, strip_list = [], [], []
        for view, (start, slope0) in enumerate(
            ((float(truth["convX"]), d[0] / d[2]), (float(truth["convY"]), d[1] / d[2]))
        ):
            slopes = (
                slope0 + np.concatenate([[0.0], np.cumsum(rng.normal(0.0, kick, n - 1))])
                if n > 1
                else np.array([slope0])
            )
            pos = start + np.concatenate([[0.0], np.cumsum(slopes[:-1] * gaps)])
            strip = geometry.position_to_strip(pos)
            hit = (strip >= 0) & (rng.random(n) < self.params["hitEfficiency"])
            width = 1 + np.floor(np.abs(slopes) * SILICON_THICKNESS_MM / geometry.TKR_STRIP_PITCH_MM).astype(
                np.int64
            )
            frac = (pos + geometry.TKR_WIDTH_MM / 2) / geometry.TKR_STRIP_PITCH_MM - strip
            share = rng.random(n) < self.params["chargeSharing"]
            for j in np.nonzero(hit)[0]:
                lo = strip[j] - (width[j] - 1) // 2
                hi = lo + width[j] - 1
                if share[j]:
                    if frac[j] >= 0.5:
                        hi += 1
                    else:
                        lo -= 1
                strips = np.arange(max(lo, 0), min(hi, geometry.TKR_STRIPS - 1) + 1)
                layer_list.append(np.full(len(strips), layers[j]))
                view_list.append(np.full(len(strips), view))
                strip_list.append(strips)
        noise = rng.poisson(self.params["noiseHitsPerPlane"], 2 * geometry.TKR_LAYERS)
        for plane in np.nonzero(noise)[0]:
            layer_list.append(np.full(noise[plane], plane // 2))
            view_list.append(np.full(noise[plane], plane % 2))
            strip_list.append(rng.integers(0, geometry.TKR_STRIPS, noise[plane]))
        if layer_list:
            key = (np.concatenate(layer_list) * 2 + np.concatenate(view_list)) * 65536 + np.concatenate(
                strip_list
            )
            key = np.unique(key)
        else:
            key = np.zeros(0, dtype=np.int64)
        plane, strip_out = np.divmod(key, 65536)
        event.put(
            "RawTkr",
            {
                "tkrLayer": (plane // 2).astype(np.int16),
                "tkrView": (plane % 2).astype(np.int16),
                "tkrStrip": strip_out.astype(np.int32),
            },
        )
        event.put(
            "McTrack",
            {
                "x0": float(truth["convX"]),
                "y0": float(truth["convY"]),
                "z0": float(geometry.TKR_LAYER_Z_MM[first_layer]),
                "dirX": float(d[0]),
                "dirY": float(d[1]),
                "dirZ": float(d[2]),
            },
        )


class CalSim(Producer):
    """Energy dispersion (Gaussian in ln E), longitudinal gamma-function and transverse Gaussian
    shower profiles (no leakage), two-range ADC words with pedestals, gains and noise."""

    parameters: ClassVar[Mapping[str, Param | Table]] = {
        "energyResolution": Param("float", 0.10, "sigma of ln(E_measured / E_true)"),
        "detectorConstants": Param("str", "@lat/calib/calib_v1.yaml", "true pedestals and gains"),
        "criticalEnergyMeV": Param("float", 11.2),
        "layerThicknessX0": Param("float", 1.08),
        "moliereRadiusMm": Param("float", 35.7),
    }

    def check_inputs(self) -> None:
        self.input_path("detectorConstants", self.params["detectorConstants"])

    def begin_job(self) -> None:
        self._rng = self.context.rng(self.label)
        self._constants = load_constants(self.context.resolve(self.params["detectorConstants"]))
        edges = np.arange(geometry.CAL_LOGS + 1) * geometry.CAL_LOG_WIDTH_MM - geometry.TKR_WIDTH_MM / 2
        self._edges = edges
        self._depth = (np.arange(geometry.CAL_LAYERS) + 0.5) * self.params["layerThicknessX0"]

    def _deposits(self, energy: float, track: Mapping[str, Any], mip: bool) -> np.ndarray:
        dz = track["dirZ"]
        slope_x, slope_y = track["dirX"] / dz, track["dirY"] / dz
        z = geometry.CAL_LAYER_Z_MM
        x = np.clip(
            track["x0"] + slope_x * (z - track["z0"]), -geometry.TKR_WIDTH_MM / 2, geometry.TKR_WIDTH_MM / 2
        )
        y = np.clip(
            track["y0"] + slope_y * (z - track["z0"]), -geometry.TKR_WIDTH_MM / 2, geometry.TKR_WIDTH_MM / 2
        )
        if mip:
            path = math.sqrt(1.0 + slope_x**2 + slope_y**2)
            longitudinal = MIP_MEV_PER_LAYER * path * self._rng.gamma(30.0, 1.0 / 30.0, geometry.CAL_LAYERS)
            sigma = 5.0
        else:
            b = 0.5
            t_max = max(math.log(energy / self.params["criticalEnergyMeV"]) - 0.5, 0.2)
            a = b * t_max + 1.0
            profile = self._depth ** (a - 1.0) * np.exp(-b * self._depth)
            longitudinal = energy * profile / profile.sum()
            sigma = self.params["moliereRadiusMm"] / 1.5
        coordinate = np.where(np.arange(geometry.CAL_LAYERS) % 2 == 0, x, y)
        cdf = 0.5 * (1.0 + erf((self._edges[None, :] - coordinate[:, None]) / (sigma * math.sqrt(2.0))))
        share = np.diff(cdf, axis=1)
        share[:, 0] += cdf[:, 0]
        share[:, -1] += 1.0 - cdf[:, -1]
        return (longitudinal[:, None] * share).ravel()

    def produce(self, event: Event) -> None:
        truth, track = event.get("McTruth"), event.get("McTrack")
        mip = int(truth["sourceId"]) == BACKGROUND_ID
        energy = float(truth["energy"]) * math.exp(
            self.params["energyResolution"] * self._rng.standard_normal()
        )
        deposit = self._deposits(energy, track, mip)
        ped, gain, noise = self._constants["pedestal"], self._constants["gain"], self._constants["noise"]
        fine = ped[0] + deposit / gain[0]
        use_coarse = fine > 32000.0
        rng_index = use_coarse.astype(np.int64)
        channels = np.arange(geometry.CAL_CHANNELS)
        adc = ped[rng_index, channels] + deposit / gain[rng_index, channels]
        adc = np.clip(
            np.rint(adc + self._rng.normal(0.0, noise, geometry.CAL_CHANNELS)), 0, geometry.CAL_ADC_MAX
        )
        words = adc.astype(np.uint16) | (use_coarse.astype(np.uint16) << geometry.CAL_ADC_RANGE_BIT)
        event.put("RawCal", {"calWord": words, "mcEnergyMeasured": np.float64(energy)})


class TriggerSim(Producer):
    """GEM summary word: bit 0 TKR (three x-y layers in a row), bit 1 CAL_LO (a log above
    ``calLoMeV``), bit 2 CAL_HI (a log above ``calHiMeV``)."""

    parameters: ClassVar[Mapping[str, Param | Table]] = {
        "calLoMeV": Param("float", 100.0),
        "calHiMeV": Param("float", 1000.0),
        "detectorConstants": Param("str", "@lat/calib/calib_v1.yaml"),
    }

    def check_inputs(self) -> None:
        self.input_path("detectorConstants", self.params["detectorConstants"])

    def begin_job(self) -> None:
        self._constants = load_constants(self.context.resolve(self.params["detectorConstants"]))

    def produce(self, event: Event) -> None:
        tkr, cal = event.get("RawTkr"), event.get("RawCal")
        hit = np.zeros((geometry.TKR_LAYERS, 2), dtype=bool)
        hit[tkr["tkrLayer"], tkr["tkrView"]] = True
        both = hit.all(axis=1).astype(np.int64)
        three = np.convolve(both, np.ones(3, dtype=np.int64), mode="valid").max(initial=0) >= 3
        words = cal["calWord"].astype(np.int64)
        coarse = words >> geometry.CAL_ADC_RANGE_BIT
        adc = words & geometry.CAL_ADC_MAX
        channels = np.arange(geometry.CAL_CHANNELS)
        energy = (adc - self._constants["pedestal"][coarse, channels]) * self._constants["gain"][
            coarse, channels
        ]
        gem = (
            int(three)
            | (int(energy.max() > self.params["calLoMeV"]) << 1)
            | (int(energy.max() > self.params["calHiMeV"]) << 2)
        )
        event.put("Trigger", {"gem": np.int32(gem)})
