"""lat.framework.portable: libm-free trigonometry, accurate to an ulp, the same bits on any path.

Accuracy is measured two ways: against numpy (which calls this platform's libm) on 10**6 random
arguments per function, and against a 60-digit decimal reference on fewer arguments (independent
of any libm, so those bounds hold everywhere).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lat.framework import portable

N_RANDOM = 10**6
LAT = Path(__file__).resolve().parent.parent / "lat"


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Number of doubles between a and b (0 when bit-identical; signed zeros count as equal)."""
    as_int = [np.asarray(v, dtype=np.float64).view(np.int64) for v in (a, b)]
    ordered = [np.where(v < 0, np.int64(-(2**63)) - v, v) for v in as_int]
    return np.abs(ordered[0] - ordered[1])


def _uniform(low: float, high: float) -> Callable[[np.random.Generator], tuple[np.ndarray, ...]]:
    return lambda rng: (rng.uniform(low, high, N_RANDOM),)


def _wide_pairs(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    return tuple(rng.normal(size=N_RANDOM) * 10 ** rng.uniform(-30, 30, N_RANDOM) for _ in range(2))


# name: (ours, numpy's, arguments).  The ranges are those of the example: angles of directions (ra,
# dec, azimuths, PSF angles), the orbit phase (~3e5 rad at MET 2.4e8), unit-vector components.
RANDOM_CASES: dict[str, tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]]] = {
    "sin [-2pi, 2pi]": (portable.sin, np.sin, _uniform(-2 * np.pi, 2 * np.pi)),
    "cos [-2pi, 2pi]": (portable.cos, np.cos, _uniform(-2 * np.pi, 2 * np.pi)),
    "sin [-1e6, 1e6]": (portable.sin, np.sin, _uniform(-1e6, 1e6)),
    "cos [-1e6, 1e6]": (portable.cos, np.cos, _uniform(-1e6, 1e6)),
    "sin small": (portable.sin, np.sin, _uniform(-1e-3, 1e-3)),
    "arcsin [-1, 1]": (portable.arcsin, np.arcsin, _uniform(-1.0, 1.0)),
    "arccos [-1, 1]": (portable.arccos, np.arccos, _uniform(-1.0, 1.0)),
    "arccos near 1": (portable.arccos, np.arccos, _uniform(1.0 - 1e-6, 1.0)),
    "arcsin near -1": (portable.arcsin, np.arcsin, _uniform(-1.0, -1.0 + 1e-6)),
    "arctan2 unit vectors": (
        portable.arctan2,
        np.arctan2,
        lambda rng: (rng.normal(size=N_RANDOM), rng.normal(size=N_RANDOM)),
    ),
    "arctan2 wide range": (portable.arctan2, np.arctan2, _wide_pairs),
    "hypot": (
        portable.hypot,
        np.hypot,
        lambda rng: (rng.uniform(0, 10, N_RANDOM), rng.normal(size=N_RANDOM)),
    ),
}


@pytest.mark.parametrize("case", list(RANDOM_CASES))
def test_within_one_ulp_of_numpy(case: str) -> None:
    ours, numpy_function, make_arguments = RANDOM_CASES[case]
    arguments = make_arguments(np.random.default_rng(2024))
    distance = ulp_distance(ours(*arguments), numpy_function(*arguments))
    assert distance.max() <= 1, (case, int(distance.max()))


# --- a 60-digit reference, from pi by Machin's formula (independent of the module's digits) ------
def _atan_taylor(x: Decimal) -> Decimal:
    total, term, n = x, x, 1
    while abs(term) > Decimal(10) ** -70:
        term = -term * x * x
        total += term / (2 * n + 1)
        n += 1
    return total


def _reference(name: str, x: float, y: float = 0.0) -> Decimal:
    with localcontext() as context:
        context.prec = 70
        pi = 16 * _atan_taylor(Decimal(1) / 5) - 4 * _atan_taylor(Decimal(1) / 239)

        def atan(v: Decimal) -> Decimal:  # Euler's series: every term positive, ratio <= 1/2 for |v| <= 1
            if abs(v) > 1:
                return (pi / 2 if v > 0 else -pi / 2) - atan(1 / v)
            ratio, term, total, n = v * v / (1 + v * v), v / (1 + v * v), Decimal(0), 0
            while abs(term) > Decimal(10) ** -70:
                total += term
                n += 1
                term = term * ratio * (2 * n) / (2 * n + 1)
            return total

        if name in ("sin", "cos"):
            turns = (Decimal(x) / (pi / 2)).to_integral_value()
            r = Decimal(x) - turns * pi / 2
            s, c, term, n = Decimal(0), Decimal(0), Decimal(1), 0
            while abs(term) > Decimal(10) ** -70:  # term = r**n / n!
                if n % 2:
                    s += term if n % 4 == 1 else -term
                else:
                    c += term if n % 4 == 0 else -term
                n += 1
                term = term * r / n
            return [s, c, -s, -c][(int(turns) + (1 if name == "cos" else 0)) % 4]
        if name == "arcsin":
            return pi / 2 if x == 1 else atan(Decimal(x) / (1 - Decimal(x) ** 2).sqrt())
        if name == "arccos":
            return pi / 2 - (pi / 2 if x == 1 else atan(Decimal(x) / (1 - Decimal(x) ** 2).sqrt()))
        if name == "hypot":
            return (Decimal(x) ** 2 + Decimal(y) ** 2).sqrt()
        angle = atan(Decimal(x) / Decimal(y))  # arctan2(x, y) with y > 0 here
        return angle


def _true_error(name: str, value: float, x: float, y: float = 0.0) -> float:
    exact = _reference(name, x, y)
    return float(abs(Decimal(value) - exact) / Decimal(np.spacing(abs(float(exact)))))


@pytest.mark.parametrize(
    ("name", "low", "high", "bound"),
    [
        ("sin", -4.0, 4.0, 0.75),
        ("cos", -4.0, 4.0, 0.75),
        ("sin", 2e5, 3e5, 0.75),
        ("arcsin", -1.0, 1.0, 0.52),
        ("arccos", -1.0, 1.0, 0.52),
        ("arctan2", 0.01, 100.0, 0.52),
        ("hypot", 0.0, 10.0, 0.52),
    ],
)
def test_error_against_decimal_reference(name: str, low: float, high: float, bound: float) -> None:
    rng = np.random.default_rng(7)
    x = rng.uniform(low, high, 300)
    y = rng.uniform(0.5, 2.0, 300)
    function = getattr(portable, name)
    values = function(x, y) if name in ("arctan2", "hypot") else function(x)
    errors = [_true_error(name, v, a, b) for v, a, b in zip(values.tolist(), x.tolist(), y.tolist())]
    assert max(errors) <= bound, (name, max(errors))


# --- edges --------------------------------------------------------------------------------------
INF, NAN = math.inf, math.nan
EDGE_ARGUMENTS = {
    "sin": [0.0, -0.0, 1e-300, -5e-324, math.pi / 2, math.pi, 3 * math.pi / 2, 710.0, 1e5, 1e8, -1e8],
    "cos": [0.0, -0.0, 1e-300, math.pi / 2, math.pi, 3 * math.pi / 2, 710.0, 1e5, 1e8, -1e8],
    "arcsin": [0.0, -0.0, 1.0, -1.0, 1e-300, 0.5, -0.5, 1 - 2**-53, -(1 - 2**-53)],
    "arccos": [0.0, -0.0, 1.0, -1.0, 1e-300, 0.5, -0.5, 1 - 2**-53, -(1 - 2**-53)],
}
ARCTAN2_EDGES = [
    (y, x)
    for y in (0.0, -0.0, 1.0, -1.0, 1e-300, -1e300, INF, -INF, 5e-324)
    for x in (0.0, -0.0, 1.0, -1.0, 1e-300, -1e300, INF, -INF, 5e-324)
]
HYPOT_EDGES = [
    (0.0, 0.0),
    (3.0, 4.0),
    (-3.0, 4.0),
    (1e300, 1e300),
    (1e-300, 1e-300),
    (5e-324, 0.0),
    (1e200, 1.0),
]


@pytest.mark.parametrize("name", list(EDGE_ARGUMENTS))
def test_edges_match_numpy(name: str) -> None:
    x = np.array(EDGE_ARGUMENTS[name])
    ours, reference = getattr(portable, name)(x), getattr(np, name)(x)
    assert ulp_distance(ours, reference).max() <= 1, (x, ours, reference)
    assert np.array_equal(np.signbit(ours[ours == 0]), np.signbit(reference[ours == 0]))  # signed zeros


def test_arctan2_zeros_infinities_and_quadrants_follow_numpy() -> None:
    y, x = (np.array(column) for column in zip(*ARCTAN2_EDGES))
    ours, reference = portable.arctan2(y, x), np.arctan2(y, x)
    assert ulp_distance(ours, reference).max() <= 1
    assert np.array_equal(np.signbit(ours), np.signbit(reference))
    assert float(portable.arctan2(1.0, -1.0)) == 3 * math.pi / 4  # the octants meet exactly
    assert float(portable.arctan2(-1.0, -1.0)) == -3 * math.pi / 4
    assert float(portable.arctan2(1.0, 0.0)) == math.pi / 2
    assert math.isnan(portable.arctan2(NAN, 1.0)) and np.isnan(portable.arctan2(np.full(50, 1.0), NAN)).all()


def test_hypot_edges() -> None:
    a, b = (np.array(column) for column in zip(*HYPOT_EDGES))
    assert ulp_distance(portable.hypot(a, b), np.hypot(a, b)).max() <= 1
    assert portable.hypot(3.0, 4.0) == 5.0
    assert portable.hypot(INF, NAN) == INF and math.isnan(portable.hypot(1.0, NAN))


@pytest.mark.parametrize(
    ("name", "argument"),
    [
        ("sin", INF),
        ("cos", -INF),
        ("sin", NAN),
        ("cos", 1.1e8),
        ("arcsin", 1 + 2**-52),
        ("arccos", -2.0),
        ("arccos", NAN),
    ],
)
def test_outside_the_domain_is_nan_without_warnings(name: str, argument: float) -> None:
    assert math.isnan(getattr(portable, name)(argument))
    assert np.isnan(getattr(portable, name)(np.full(100, argument))).all()  # the vector path too


def test_sin_is_odd_and_cos_even_exactly() -> None:
    x = np.random.default_rng(3).uniform(0, 1e4, 10**5)
    assert np.array_equal(portable.sin(-x), -portable.sin(x))
    assert np.array_equal(portable.cos(-x), portable.cos(x))
    assert np.array_equal(portable.arcsin(-x / 1e4), -portable.arcsin(x / 1e4))


# --- pure arithmetic: the bits do not depend on how the input is cut ---------------------------
def _mixed_inputs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    y = np.concatenate(
        [rng.normal(size=3000), rng.uniform(-1e6, 1e6, 1000), [0.0, -0.0, INF, -INF, NAN, 1.0]]
    )
    x = np.concatenate([rng.normal(size=3000), rng.uniform(-1, 1, 1000), [-0.0, 0.0, INF, 1.0, 2.0, NAN]])
    return y, x


@pytest.mark.parametrize("name", ["sin", "cos", "arcsin", "arccos", "arctan2", "hypot"])
def test_same_bits_in_chunks_of_any_size_and_for_python_floats(name: str) -> None:
    """Small inputs take the Python-float path, large ones numpy's: both give the same bits."""
    y, x = _mixed_inputs()
    if name in ("arcsin", "arccos"):
        y = np.clip(y, -1.5, 1.5) / 1.4
    function = getattr(portable, name)
    arguments = (y, x) if name in ("arctan2", "hypot") else (y,)
    whole = function(*arguments)
    assert isinstance(whole, np.ndarray) and whole.shape == y.shape
    for chunk in (1, 7, 33, 1000):
        pieces = np.concatenate(
            [function(*(a[i : i + chunk] for a in arguments)) for i in range(0, len(y), chunk)]
        )
        assert np.array_equal(pieces, whole, equal_nan=True), chunk
    floats = np.array([function(*(float(a[i]) for a in arguments)) for i in range(0, len(y), 37)])
    assert np.array_equal(floats, whole[::37], equal_nan=True)


def test_shapes_and_scalars_behave_like_numpy() -> None:
    assert isinstance(portable.sin(0.5), np.float64) and isinstance(portable.sin(np.float64(0.5)), np.float64)
    assert portable.sin(np.zeros((2, 3))).shape == (2, 3)
    assert portable.arctan2(np.ones((4, 1)), np.ones(5)).shape == (4, 5)  # broadcasting
    assert portable.sin(np.zeros(0)).shape == (0,)
    sin_values, cos_values = portable.sincos(np.linspace(0, 7, 50))
    assert np.array_equal(sin_values, portable.sin(np.linspace(0, 7, 50)))
    assert np.array_equal(cos_values, portable.cos(np.linspace(0, 7, 50)))


# --- no libm, anywhere in the release's physics ---------------------------------------------------
LIBM_NAMES = {
    "sin",
    "cos",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "arctan2",
    "asin",
    "acos",
    "atan",
    "atan2",
    "hypot",
}


def _libm_trig_calls(path: Path, names: set[str]) -> list[str]:
    calls = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in ("np", "numpy", "math")
            and node.attr in names
        ):
            calls.append(f"{path.relative_to(LAT)}:{node.lineno}: {node.value.id}.{node.attr}")
    return calls


def test_release_code_calls_no_libm_trigonometry() -> None:
    calls = [call for path in sorted(LAT.rglob("*.py")) for call in _libm_trig_calls(path, LIBM_NAMES)]
    assert calls == []


def test_portable_module_calls_no_libm_at_all() -> None:
    names = LIBM_NAMES | {
        "exp",
        "log",
        "log2",
        "log10",
        "expm1",
        "log1p",
        "power",
        "pow",
        "sinh",
        "cosh",
        "tanh",
    }
    assert _libm_trig_calls(LAT / "framework" / "portable.py", names) == []


def test_constants_are_the_mathematical_values() -> None:
    from fractions import Fraction

    with localcontext() as context:
        context.prec = 70
        pi = Fraction(16 * _atan_taylor(Decimal(1) / 5) - 4 * _atan_taylor(Decimal(1) / 239))
        parts = portable._PIO2_PARTS
        assert abs(sum(Fraction(p) for p in parts) - pi / 2) < Fraction(1, 2**130)
        for part in parts[:3]:  # k * part exact for |k| < 2**26
            mantissa = Fraction(part) / Fraction(2) ** (math.frexp(part)[1] - 27)
            assert mantissa.denominator == 1
        for j, (hi, lo) in enumerate(portable._ATAN_TABLE):
            exact = Fraction(_atan_taylor(Decimal(j) / 8)) if j < 8 else pi / 4
            assert abs(Fraction(hi) + Fraction(lo) - exact) <= abs(exact) / 2**104, j
