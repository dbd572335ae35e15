"""Instrument response used by the simulation: effective area, PSF and energy dispersion."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from lat.framework import portable
from lat.framework.params import Param, Table

# Gaussian (Rayleigh) PSF: the 68 % containment radius is sigma * sqrt(-2 ln 0.32).
CONTAINMENT_68_PER_SIGMA = math.sqrt(-2.0 * math.log(1.0 - 0.68))

AEFF_PARAMETERS = Table(
    {
        "peakCm2": Param("float", 9000.0, "on-axis effective area at high energy (cm2)"),
        "turnOnMeV": Param("float", 150.0, "energy where the area is half the peak"),
        "turnOnSlope": Param("float", 1.6),
        "thetaMaxDeg": Param("float", 75.0, "edge of the field of view"),
    }
)
PSF_PARAMETERS = Table(
    {
        "c0Deg": Param("float", 3.0, "68 % containment at 100 MeV (front), scaling term"),
        "c1Deg": Param("float", 0.1, "68 % containment floor at high energy (front)"),
        "beta": Param("float", 0.8, "energy slope of the scaling term"),
        "backScale": Param("float", 1.8, "back-converting events: PSF x this factor"),
    }
)


@dataclass(frozen=True)
class EffectiveArea:
    """A(E, theta) = peak * f(E) * g(theta), with f a smooth turn-on and g linear in cos(theta)."""

    peak_cm2: float
    turn_on_mev: float
    turn_on_slope: float
    theta_max_deg: float

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> EffectiveArea:
        return cls(params["peakCm2"], params["turnOnMeV"], params["turnOnSlope"], params["thetaMaxDeg"])

    def energy_factor(self, energy_mev: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + (np.asarray(energy_mev) / self.turn_on_mev) ** (-self.turn_on_slope))

    def angle_factor(self, cos_theta: np.ndarray) -> np.ndarray:
        edge = portable.cos(math.radians(self.theta_max_deg))
        return np.clip((np.asarray(cos_theta) - edge) / (1.0 - edge), 0.0, 1.0)


@dataclass(frozen=True)
class PointSpread:
    c0_deg: float
    c1_deg: float
    beta: float
    back_scale: float

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> PointSpread:
        return cls(params["c0Deg"], params["c1Deg"], params["beta"], params["backScale"])

    def containment68_deg(self, energy_mev: np.ndarray, back: np.ndarray | bool = False) -> np.ndarray:
        """The configured 68 % containment radius (deg) vs energy and conversion type."""
        e = np.asarray(energy_mev, dtype=np.float64)
        front = portable.hypot(self.c0_deg * (e / 100.0) ** (-self.beta), self.c1_deg)
        return np.where(back, front * self.back_scale, front)

    def sigma_rad(self, energy_mev: np.ndarray, back: np.ndarray | bool = False) -> np.ndarray:
        return np.radians(self.containment68_deg(energy_mev, back)) / CONTAINMENT_68_PER_SIGMA


class SpectrumSampler:
    """Samples E^-index * f_aeff(E) on [emin, emax] by inverse CDF on a log grid."""

    def __init__(self, emin: float, emax: float, aeff: EffectiveArea) -> None:
        self._log_e = np.linspace(math.log(emin), math.log(emax), 4001)
        self._energy = np.exp(self._log_e)
        self._aeff = aeff.energy_factor(self._energy)
        self._cdfs: dict[float, tuple[np.ndarray, float]] = {}

    def _cdf(self, index: float) -> tuple[np.ndarray, float]:
        if index not in self._cdfs:
            plain = self._energy ** (1.0 - index)  # dN/dlnE of the source spectrum
            weighted = plain * self._aeff
            step = np.diff(self._log_e)
            cdf = np.concatenate([[0.0], np.cumsum(0.5 * (weighted[1:] + weighted[:-1]) * step)])
            norm = np.sum(0.5 * (plain[1:] + plain[:-1]) * step)
            self._cdfs[index] = (cdf / cdf[-1], float(cdf[-1] / norm))
        return self._cdfs[index]

    def mean_aeff_factor(self, index: float) -> float:
        """Spectrum-weighted mean of f_aeff(E)."""
        return self._cdf(index)[1]

    def sample(self, index: float, uniform: np.ndarray) -> np.ndarray:
        cdf, _ = self._cdf(index)
        return np.exp(np.interp(uniform, cdf, self._log_e))


def rotate_away(direction: np.ndarray, angle: np.ndarray, azimuth: np.ndarray) -> np.ndarray:
    """Tilt unit vectors (n, 3) by ``angle`` (rad) towards azimuth ``azimuth`` around themselves."""
    d = np.atleast_2d(direction)
    helper = np.where(np.abs(d[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    u = np.cross(d, helper)
    u /= np.linalg.norm(u, axis=1)[:, None]
    v = np.cross(d, u)
    sin_a, cos_a = portable.sincos(angle)
    sin_az, cos_az = portable.sincos(azimuth)
    return cos_a[:, None] * d + sin_a[:, None] * (cos_az[:, None] * u + sin_az[:, None] * v)


def erf(x: np.ndarray) -> np.ndarray:
    """Error function (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7); numpy has none."""
    x = np.asarray(x, dtype=np.float64)
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))
