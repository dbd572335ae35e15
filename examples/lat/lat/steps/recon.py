"""recon: calorimeter energy (calibration constants from a file), tracker straight-line fit,
and the sky direction through the spacecraft pointing."""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import yaml

from lat import geometry
from lat.framework import portable
from lat.framework.errors import InputError
from lat.framework.module import Event, Producer
from lat.framework.params import Param, Table

STRIP_SIGMA_MM = geometry.TKR_STRIP_PITCH_MM / math.sqrt(12.0)


def load_calibration(path: Any) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            content = handle.read()
        data = yaml.safe_load(content)
        cal = data["cal"]
        constants = {
            "name": str(data.get("name", "")),
            "comment": str(data.get("comment", "")),
            "sha256": hashlib.sha256(content).hexdigest(),
            "version": [int(v) for v in data["version"]],
            "pedestal": np.array([cal["pedestal"]["fine"], cal["pedestal"]["coarse"]], dtype=np.float64),
            "gain": np.array([cal["gain"]["fine"], cal["gain"]["coarse"]], dtype=np.float64),
            "noise": float(cal["noiseAdc"]),
        }
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: not a calibration file ({exc!r})") from None
    if constants["pedestal"].shape != (2, geometry.CAL_CHANNELS) or constants["gain"].shape != (
        2,
        geometry.CAL_CHANNELS,
    ):
        raise InputError(f"{path}: expected 2 x {geometry.CAL_CHANNELS} pedestals and gains")
    return constants


def calibration_label(constants: Mapping[str, Any]) -> str:
    """What recon outputs record (metadata key ``calibration``): name, version, content digest.

    Not the path: the same constants named by another path give the same bytes.
    """
    version = ".".join(str(v) for v in constants["version"])
    return f"{constants['name']} {version} sha256:{constants['sha256'][:16]}"


class CalRecon(Producer):
    """Energy per log = (ADC - pedestal) x gain for the log's range; sums, centroid, profile.

    The constants come from ``calibFile`` (YAML, the offline fallback) or, with ``calibSource: db``, from
    the calibration database (lat.calib.database): calibration ``calibTag``, the interval of validity
    holding each event's run, all read at job start. Either way the same constants give the same bytes.
    """

    parameters: ClassVar[Mapping[str, Param | Table]] = {
        "calibSource": Param(
            "str", "file", "where the constants come from: file (calibFile) or db (calibDb)"
        ),
        "calibFile": Param("str", "@lat/calib/calib_v1.yaml", "calibration constants (YAML)"),
        "calibDb": Param(
            "str",
            "",
            "mysql://USER@HOST:PORT/DATABASE of the calibration DB; empty: $LAT_CALIB_DB (a site's env)",
        ),
        "calibTag": Param("str", "v1", "the calibration version in the database"),
        "calibPassword": Param(
            "str", "calibdb", "the DB password's file: a secret name (/run/secrets/NAME) or a path"
        ),
        "thresholdSigma": Param("float", 5.0, "zero suppression, in units of the pedestal noise"),
    }

    def check_inputs(self) -> None:
        source = self.params["calibSource"]
        if source == "file":
            self.input_path("calibFile", self.params["calibFile"])
        elif source == "db":
            from lat.calib import database
            from lat.framework.errors import LatError

            if not self._db_url():
                raise self.config_error("calibDb", "is empty and $LAT_CALIB_DB is not set")
            checks = (("calibDb", database.parse_url, self._db_url()), ("calibTag", database.check_tag, None))
            for param, check, value in checks:
                try:
                    check(value or self.params[param])
                except LatError as exc:
                    raise self.config_error(param, exc.message) from None
        else:
            raise self.config_error("calibSource", f"is {source!r}: write file or db")

    def begin_job(self) -> None:
        self._intervals: list[Any] = []
        if self.params["calibSource"] == "db":
            from lat.calib import database

            endpoint = database.parse_url(self._db_url())
            self._intervals = database.fetch_intervals(
                endpoint, self.params["calibPassword"], self.params["calibTag"]
            )
            self._calib_origin = f"{endpoint} calibration {self.params['calibTag']}"
            self._valid = (1, 0)  # no run yet: the first event picks its interval
        else:
            self._calib = load_calibration(self.context.resolve(self.params["calibFile"]))
            self.context.add_metadata("calibration", calibration_label(self._calib), self.params["calibFile"])
            self._valid = (0, 2**63)
        self._channels = np.arange(geometry.CAL_CHANNELS)
        logs = self._channels % geometry.CAL_LOGS
        self._log_position = geometry.cal_log_centre_mm(logs)
        self._layer = self._channels // geometry.CAL_LOGS

    def _db_url(self) -> str:
        """``calibDb``, or the endpoint the site gives every job (``env: {LAT_CALIB_DB: ...}``)."""
        return str(self.params["calibDb"] or os.environ.get("LAT_CALIB_DB", ""))

    def _use_interval(self, run: int) -> None:
        """The database interval that holds ``run`` (its label must agree with the job's others)."""
        for interval in self._intervals:
            if interval.first_run <= run <= interval.last_run:
                self._calib, self._valid = interval.constants, (interval.first_run, interval.last_run)
                self.context.add_metadata("calibration", calibration_label(self._calib), self._calib_origin)
                return
        raise InputError(f"{self._calib_origin} has no constants for run {run}")

    def produce(self, event: Event) -> None:
        if not self._valid[0] <= event.run <= self._valid[1]:
            self._use_interval(event.run)
        digi = event.get("CalDigi")
        rng_index = digi["range"].astype(np.int64)
        counts = digi["adc"].astype(np.float64) - self._calib["pedestal"][rng_index, self._channels]
        threshold = self.params["thresholdSigma"] * self._calib["noise"]
        energy = np.where(counts > threshold, counts * self._calib["gain"][rng_index, self._channels], 0.0)
        layer_energy = np.bincount(self._layer, weights=energy, minlength=geometry.CAL_LAYERS)
        total = float(energy.sum())
        even = (self._layer % 2) == 0
        if total > 0:
            e_even, e_odd = energy[even].sum(), energy[~even].sum()
            cx = float((energy[even] * self._log_position[even]).sum() / e_even) if e_even > 0 else 0.0
            cy = float((energy[~even] * self._log_position[~even]).sum() / e_odd) if e_odd > 0 else 0.0
            cz = float((layer_energy * geometry.CAL_LAYER_Z_MM).sum() / total)
            centre = np.where(even, cx, cy)
            trans_rms = float(math.sqrt((energy * (self._log_position - centre) ** 2).sum() / total))
            max_to_mean = float(layer_energy.max() / layer_energy.mean())
        else:
            cx = cy = cz = trans_rms = max_to_mean = 0.0
        version = self._calib["version"]
        event.put(
            "CalRecon",
            {
                "energy": total,
                "nLogs": np.int32(np.count_nonzero(energy)),
                "layerEnergy": layer_energy.astype(np.float32),
                "centroidX": cx,
                "centroidY": cy,
                "centroidZ": cz,
                "transRms": trans_rms,
                "maxToMean": max_to_mean,
                "calibTkr": np.int16(version[0]),
                "calibCal": np.int16(version[1]),
                "calibAcd": np.int16(version[2]),
            },
        )


def fit_line(
    z: np.ndarray, x: np.ndarray, sigma: np.ndarray
) -> tuple[float, float, float, np.ndarray, float]:
    """Weighted least squares x = a + b (z - z0): returns (a, b, chi2, residuals, var_b)."""
    w = 1.0 / sigma**2
    z0 = z[0]
    dz = z - z0
    s, sz, szz = w.sum(), (w * dz).sum(), (w * dz * dz).sum()
    sx, szx = (w * x).sum(), (w * dz * x).sum()
    det = s * szz - sz * sz
    b = (s * szx - sz * sx) / det
    a = (sx - b * sz) / s
    residuals = x - (a + b * dz)
    return a, b, float((w * residuals**2).sum()), residuals, s / det


class TkrRecon(Producer):
    """Per view: cluster positions, pattern recognition (nearest cluster per layer to an
    iteratively refitted line), outlier rejection, weighted straight-line fit.

    Hit errors combine the strip resolution with multiple scattering, estimated from the
    calorimeter energy (so CalRecon runs first).  The photon comes from (dx/dz, dy/dz, 1).
    """

    parameters: ClassVar[Mapping[str, Param | Table]] = {
        "msKick100": Param("float", 0.004, "rms scattering per layer at 100 MeV (rad), as in the simulation"),
        "minLayers": Param("int", 3, "layers with a cluster needed per view"),
        "outlierSigma": Param("float", 5.0),
        "iterations": Param("int", 3),
    }

    def _hit_sigma(self, depth: np.ndarray, kick: float) -> np.ndarray:
        # random-walk displacement after m layers: variance ~ (kick * pitch)^2 * m^3 / 3
        depth = np.maximum(depth, 0.0)
        return np.sqrt(STRIP_SIGMA_MM**2 + (kick * geometry.TKR_LAYER_PITCH_MM) ** 2 * (depth**3 / 3.0 + 1.0))

    def _find_track(self, layer: np.ndarray, pos: np.ndarray, kick: float) -> np.ndarray:
        """Indices of the clusters on the best line through any two clusters (one per layer).

        Every pair of clusters in different layers defines a candidate line; the candidate
        with the most clusters inside its road wins (ties: smallest normalised residuals).
        """
        z = geometry.TKR_LAYER_Z_MM[layer]
        first, second = np.triu_indices(len(layer), 1)
        pairs = layer[first] != layer[second]
        first, second = first[pairs], second[pairs]
        slope = (pos[second] - pos[first]) / (z[second] - z[first])
        predicted = pos[first][:, None] + slope[:, None] * (z[None, :] - z[first][:, None])
        top = np.minimum(layer[first], layer[second])
        road = self.params["outlierSigma"] * self._hit_sigma(
            (layer[None, :] - top[:, None]).astype(np.float64), kick
        )
        pull = np.abs(pos[None, :] - predicted) / road
        inside = pull < 1.0
        score = inside.sum(axis=1) - 0.01 * np.where(inside, pull, 0.0).sum(axis=1)
        best = int(np.argmax(score))
        members = np.nonzero(inside[best])[0]
        # one cluster per layer: the nearest to the candidate line
        order = np.lexsort((pull[best, members], layer[members]))
        members = members[order]
        _, unique_index = np.unique(layer[members], return_index=True)
        return members[unique_index]

    def _fit_view(self, layer: np.ndarray, pos: np.ndarray, kick: float) -> dict[str, Any] | None:
        if len(np.unique(layer)) < self.params["minLayers"]:
            return None
        members = self._find_track(layer, pos, kick)
        iterations = self.params["iterations"]
        for attempt in range(iterations + 1):  # fit, drop outliers, refit; the last fit drops nothing
            if len(members) < self.params["minLayers"]:
                return None
            hit_layer, hit_pos = layer[members], pos[members]
            z = geometry.TKR_LAYER_Z_MM[hit_layer]
            sigma = self._hit_sigma((hit_layer - hit_layer[0]).astype(np.float64), kick)
            a, b, chi2, residuals, var_b = fit_line(z, hit_pos, sigma)
            good = np.abs(residuals / sigma) < self.params["outlierSigma"]
            if good.all() or attempt == iterations:
                break
            members = members[good]
        return {
            "slope": b,
            "intercept": a,
            "z0": float(z[0]),
            "chi2": chi2,
            "ndof": len(members) - 2,
            "nHits": len(members),
            "firstLayer": int(hit_layer[0]),
            "varSlope": var_b,
        }

    def produce(self, event: Event) -> None:
        clusters = event.get("TkrCluster")
        energy = float(event.get("CalRecon")["energy"])
        kick = min(self.params["msKick100"] * 100.0 / max(energy, 10.0), 0.05)
        centre = geometry.strip_centre_mm(
            clusters["firstStrip"] + (clusters["width"].astype(np.float64) - 1.0) / 2.0
        )
        views = []
        for view in (0, 1):
            mask = clusters["view"] == view
            views.append(self._fit_view(clusters["layer"][mask], centre[mask], kick))
        fx, fy = views
        product: dict[str, Any] = {
            "status": np.int32(0),
            "nHitsX": np.int32(0),
            "nHitsY": np.int32(0),
            "firstLayer": np.int32(-1),
            "slopeX": 0.0,
            "slopeY": 0.0,
            "x0": 0.0,
            "y0": 0.0,
            "z0": 0.0,
            "chi2": -1.0,
            "theta": -1.0,
            "phi": -1.0,
            "thetaErr": -1.0,
            "nClusters": np.int32(len(centre)),
        }
        if fx is not None and fy is not None:
            direction = np.array([fx["slope"], fy["slope"], 1.0])
            direction /= portable.norm3(direction)
            ndof = fx["ndof"] + fy["ndof"]
            # angular error: slope errors projected, small-angle
            cos_t = direction[2]
            theta_err = math.degrees(math.sqrt(fx["varSlope"] + fy["varSlope"]) * cos_t**2)
            product.update(
                {
                    "status": np.int32(1),
                    "nHitsX": np.int32(fx["nHits"]),
                    "nHitsY": np.int32(fy["nHits"]),
                    "firstLayer": np.int32(min(fx["firstLayer"], fy["firstLayer"])),
                    "slopeX": fx["slope"],
                    "slopeY": fy["slope"],
                    "x0": fx["intercept"],
                    "y0": fy["intercept"],
                    "z0": max(fx["z0"], fy["z0"]),
                    "chi2": (fx["chi2"] + fy["chi2"]) / max(ndof, 1),
                    "theta": math.degrees(portable.arccos(cos_t)),
                    "phi": math.degrees(portable.arctan2(direction[1], direction[0])) % 360.0,
                    "thetaErr": theta_err,
                }
            )
        event.put("TkrRecon", product)


class AstroRecon(Producer):
    """Instrument direction -> RA/DEC (pointing at the event time), Galactic L/B, zenith angle
    and Earth azimuth."""

    def produce(self, event: Event) -> None:
        track = event.get("TkrRecon")
        met = float(event.get("EventInfo")["met"])
        product = {
            "ra": -1.0,
            "dec": -100.0,
            "l": -1.0,
            "b": -100.0,
            "zenithAngle": -1.0,
            "earthAzimuth": -1.0,
        }
        if int(track["status"]) == 1:
            theta, phi = math.radians(float(track["theta"])), math.radians(float(track["phi"]))
            sin_theta, cos_theta = portable.sincos(theta)
            sin_phi, cos_phi = portable.sincos(phi)
            local = np.array([[sin_theta * cos_phi, sin_theta * sin_phi, cos_theta]])
            sky = geometry.instrument_to_celestial(local, np.array([met]))
            ra, dec = geometry.vector_to_radec(sky[0])
            gl, gb = geometry.equatorial_to_galactic(ra, dec)
            zenith, azimuth = geometry.earth_angles(sky, np.array([met]))
            product = {
                "ra": float(ra),
                "dec": float(dec),
                "l": float(gl),
                "b": float(gb),
                "zenithAngle": float(zenith[0]),
                "earthAzimuth": float(azimuth[0]),
            }
        event.put("Astro", product)
