"""Detector geometry, orbit, pointing and good-time model shared by simulation and reconstruction.

Only numpy is imported: digi, recon, merit and makeFT1 all use this module.  Trigonometry
goes through lat.framework.portable, so directions do not depend on the platform's libm.

The orbit is a circular low-Earth orbit (period 5790 s, inclination 25.6 deg, node precession
period 53.4 d, as for Fermi) described in the equatorial (ICRS-like) frame.  The spacecraft
points in survey ("rocking") mode: the instrument z axis is the local zenith tilted by the
rocking angle towards the north orbital pole on even orbits and the south pole on odd ones.
The instrument x axis is the velocity direction.  Passages through a toy South Atlantic
Anomaly (SAA) happen on 9 of every 15 orbits; no data are taken there.
"""

from __future__ import annotations

import math

import numpy as np

from lat.framework import portable

# --- tracker -------------------------------------------------------------------------------
TKR_LAYERS = 18
TKR_LAYER_PITCH_MM = 32.0
TKR_BOTTOM_Z_MM = 30.0
TKR_STRIP_PITCH_MM = 0.228
TKR_STRIPS = 6491
TKR_WIDTH_MM = TKR_STRIPS * TKR_STRIP_PITCH_MM
# thin (front) converters in layers 0-11, thick (back) in 12-15, none in the last two.
TKR_FRONT_LAYERS = 12
TKR_BACK_LAYERS = 4
TKR_LAYER_Z_MM = TKR_BOTTOM_Z_MM + TKR_LAYER_PITCH_MM * np.arange(TKR_LAYERS - 1, -1, -1)

# --- calorimeter ---------------------------------------------------------------------------
CAL_LAYERS = 8
CAL_LOGS = 12
CAL_CHANNELS = CAL_LAYERS * CAL_LOGS
CAL_TOP_Z_MM = -30.0
CAL_LAYER_PITCH_MM = 22.0
CAL_LAYER_Z_MM = CAL_TOP_Z_MM - CAL_LAYER_PITCH_MM * np.arange(CAL_LAYERS)
CAL_LOG_WIDTH_MM = TKR_WIDTH_MM / CAL_LOGS
CAL_ADC_RANGE_BIT = 15  # raw word: bit 15 = range (0 fine, 1 coarse), bits 0-14 = ADC
CAL_ADC_MAX = (1 << CAL_ADC_RANGE_BIT) - 1


def strip_centre_mm(strip: np.ndarray) -> np.ndarray:
    """Lateral position (mm) of the centre of a (possibly fractional) strip number."""
    return (np.asarray(strip, dtype=np.float64) + 0.5) * TKR_STRIP_PITCH_MM - TKR_WIDTH_MM / 2


def position_to_strip(position_mm: np.ndarray) -> np.ndarray:
    """Strip number hit at a lateral position; -1 outside the active area."""
    strip = np.floor((np.asarray(position_mm) + TKR_WIDTH_MM / 2) / TKR_STRIP_PITCH_MM)
    strip = strip.astype(np.int64)
    return np.where((strip >= 0) & (strip < TKR_STRIPS), strip, -1)


def cal_log_centre_mm(log: np.ndarray) -> np.ndarray:
    return (np.asarray(log, dtype=np.float64) + 0.5) * CAL_LOG_WIDTH_MM - TKR_WIDTH_MM / 2


# --- orbit and pointing --------------------------------------------------------------------
ORBIT_PERIOD_S = 5790.0
ORBIT_INCLINATION_DEG = 25.6
NODE_PRECESSION_PERIOD_S = 53.4 * 86400.0
ROCKING_ANGLE_DEG = 50.0
EARTH_LIMB_ZENITH_DEG = 113.0
SAA_ORBITS_PER_CYCLE = (9, 15)  # SAA passage on 9 of every 15 orbits
SAA_PHASE = (0.30, 0.42)  # fraction of the orbit spent in the SAA on those orbits
LIVETIME_FRACTION = 0.92  # dead time of the readout outside the SAA
# Mission elapsed time (MET) counts seconds from 2001-01-01T00:00:00 UTC.
MET_EPOCH_MJD = 51910.0 + 7.428703703703703e-4
MJDREFI = 51910
MJDREFF = 7.428703703703703e-4
_SIN_INCLINATION, _COS_INCLINATION = portable.sincos(math.radians(ORBIT_INCLINATION_DEG))
_SIN_ROCKING, _COS_ROCKING = portable.sincos(math.radians(ROCKING_ANGLE_DEG))


def _orbit_frame(met: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Position unit vector, velocity unit vector and orbit normal at each MET (shape (n, 3))."""
    met = np.atleast_1d(np.asarray(met, dtype=np.float64))
    node = 2 * math.pi * (0.3 - met / NODE_PRECESSION_PERIOD_S)
    phase = 2 * math.pi * met / ORBIT_PERIOD_S
    sin_node, cos_node = portable.sincos(node)
    sin_p, cos_p = portable.sincos(phase)
    # ascending-node direction and the in-plane direction 90 deg ahead of it
    node_vec = np.stack([cos_node, sin_node, np.zeros_like(node)], axis=-1)
    ahead_vec = np.stack(
        [-sin_node * _COS_INCLINATION, cos_node * _COS_INCLINATION, np.full_like(node, _SIN_INCLINATION)],
        axis=-1,
    )
    normal = np.cross(node_vec, ahead_vec)
    cos_p, sin_p = cos_p[:, None], sin_p[:, None]
    position = cos_p * node_vec + sin_p * ahead_vec
    velocity = -sin_p * node_vec + cos_p * ahead_vec
    return position, velocity, normal


def orbit_number(met: np.ndarray) -> np.ndarray:
    return np.floor(np.asarray(met, dtype=np.float64) / ORBIT_PERIOD_S).astype(np.int64)


def spacecraft_axes(met: np.ndarray) -> dict[str, np.ndarray]:
    """Instrument x, y, z axes and the zenith direction, as unit vectors in the equatorial frame.

    >>> axes = spacecraft_axes([0.0, 100.0]); axes["z"].shape
    (2, 3)
    """
    position, velocity, normal = _orbit_frame(met)
    sign = np.where(orbit_number(met) % 2 == 0, 1.0, -1.0)[:, None]
    z_axis = _COS_ROCKING * position + sign * _SIN_ROCKING * normal
    x_axis = velocity
    y_axis = np.cross(z_axis, x_axis)
    return {"x": x_axis, "y": y_axis, "z": z_axis, "zenith": position}


def in_saa(met: np.ndarray) -> np.ndarray:
    met = np.asarray(met, dtype=np.float64)
    orbit = orbit_number(met)
    phase = met / ORBIT_PERIOD_S - orbit
    saa_orbit = (orbit % SAA_ORBITS_PER_CYCLE[1]) < SAA_ORBITS_PER_CYCLE[0]
    return saa_orbit & (phase >= SAA_PHASE[0]) & (phase < SAA_PHASE[1])


def good_time_intervals(start: float, stop: float) -> list[tuple[float, float]]:
    """Intervals in [start, stop] outside the SAA, in MET seconds."""
    if stop <= start:
        return []
    intervals: list[tuple[float, float]] = []
    cursor = start
    first_orbit = math.floor(start / ORBIT_PERIOD_S)
    last_orbit = math.floor(stop / ORBIT_PERIOD_S)
    for orbit in range(first_orbit, last_orbit + 1):
        if orbit % SAA_ORBITS_PER_CYCLE[1] >= SAA_ORBITS_PER_CYCLE[0]:
            continue
        saa_start = (orbit + SAA_PHASE[0]) * ORBIT_PERIOD_S
        saa_stop = (orbit + SAA_PHASE[1]) * ORBIT_PERIOD_S
        if saa_stop <= cursor or saa_start >= stop:
            continue
        if saa_start > cursor:
            intervals.append((cursor, saa_start))
        cursor = max(cursor, saa_stop)
    if cursor < stop:
        intervals.append((cursor, stop))
    return intervals


def livetime_since_mission_start(met: np.ndarray) -> np.ndarray:
    """Accumulated livetime (s) from MET 0, as carried by the FT1 LIVETIME column."""
    met = np.asarray(met, dtype=np.float64)
    orbit = orbit_number(met)
    cycles, rest = np.divmod(orbit, SAA_ORBITS_PER_CYCLE[1])
    saa_orbits_before = cycles * SAA_ORBITS_PER_CYCLE[0] + np.minimum(rest, SAA_ORBITS_PER_CYCLE[0])
    saa_length = (SAA_PHASE[1] - SAA_PHASE[0]) * ORBIT_PERIOD_S
    phase_time = met - orbit * ORBIT_PERIOD_S
    in_this = np.clip(phase_time - SAA_PHASE[0] * ORBIT_PERIOD_S, 0.0, saa_length)
    in_this = np.where(rest < SAA_ORBITS_PER_CYCLE[0], in_this, 0.0)
    good = met - saa_orbits_before * saa_length - in_this
    return good * LIVETIME_FRACTION


# --- celestial coordinates -----------------------------------------------------------------
# Rotation from equatorial (J2000) to Galactic coordinates (Hipparcos, ESA SP-1200 vol. 1, eq. 1.5.11)
EQUATORIAL_TO_GALACTIC = np.array(
    [
        [-0.0548755604162154, -0.8734370902348850, -0.4838350155487132],
        [+0.4941094278755837, -0.4448296299600112, +0.7469822444972189],
        [-0.8676661490190047, -0.1980763734312015, +0.4559837761750669],
    ]
)


def radec_to_vector(ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    sin_ra, cos_ra = portable.sincos(np.radians(ra_deg))
    sin_dec, cos_dec = portable.sincos(np.radians(dec_deg))
    return np.stack([cos_dec * cos_ra, cos_dec * sin_ra, sin_dec], axis=-1)


def vector_to_radec(vec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vec = np.asarray(vec, dtype=np.float64)
    norm = np.linalg.norm(vec, axis=-1)
    ra = np.degrees(portable.arctan2(vec[..., 1], vec[..., 0])) % 360.0
    dec = np.degrees(portable.arcsin(np.clip(vec[..., 2] / norm, -1.0, 1.0)))
    return ra, dec


def equatorial_to_galactic(ra_deg: np.ndarray, dec_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return vector_to_radec(portable.rotate3(radec_to_vector(ra_deg, dec_deg), EQUATORIAL_TO_GALACTIC.T))


def galactic_to_equatorial(l_deg: np.ndarray, b_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return vector_to_radec(portable.rotate3(radec_to_vector(l_deg, b_deg), EQUATORIAL_TO_GALACTIC))


def angular_separation_deg(vec_a: np.ndarray, vec_b: np.ndarray) -> np.ndarray:
    """Angle between unit vectors, accurate at small angles (atan2 of cross and dot)."""
    cross = np.linalg.norm(np.cross(vec_a, vec_b), axis=-1)
    dot = np.sum(np.asarray(vec_a) * np.asarray(vec_b), axis=-1)
    return np.degrees(portable.arctan2(cross, dot))


def instrument_to_celestial(direction: np.ndarray, met: np.ndarray) -> np.ndarray:
    """Rotate instrument-frame unit vectors (n, 3) to the equatorial frame at each MET."""
    axes = spacecraft_axes(met)
    d = np.atleast_2d(direction)
    return d[:, :1] * axes["x"] + d[:, 1:2] * axes["y"] + d[:, 2:3] * axes["z"]


def celestial_to_instrument(vec: np.ndarray, met: np.ndarray) -> np.ndarray:
    axes = spacecraft_axes(met)
    v = np.atleast_2d(vec)
    return np.stack([np.sum(v * axes["x"], -1), np.sum(v * axes["y"], -1), np.sum(v * axes["z"], -1)], -1)


def earth_angles(vec: np.ndarray, met: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zenith angle and Earth azimuth angle (deg) of celestial directions seen from the spacecraft.

    The azimuth is measured in the local horizontal plane from geographic north towards east
    (FT1 EARTH_AZIMUTH_ANGLE convention).
    """
    zenith = spacecraft_axes(met)["zenith"]
    v = np.atleast_2d(vec)
    zenith_angle = angular_separation_deg(v, zenith)
    pole = np.array([0.0, 0.0, 1.0])
    north = pole - np.sum(zenith * pole, -1)[:, None] * zenith
    north /= np.linalg.norm(north, axis=-1)[:, None]
    east = np.cross(north, zenith)
    azimuth = np.degrees(portable.arctan2(np.sum(v * east, -1), np.sum(v * north, -1))) % 360.0
    return zenith_angle, azimuth


def met_to_isot(met: float) -> str:
    """UTC calendar string of a MET (no leap seconds: toy mission clock)."""
    import datetime

    moment = datetime.datetime(2001, 1, 1) + datetime.timedelta(seconds=float(met))
    return moment.strftime("%Y-%m-%dT%H:%M:%S")
