"""lat.framework.portable: libm-free trigonometry, accurate to an ulp, the same bits on any path.

Accuracy is measured against exact values: mpmath at 128 bits (independent of any libm and of the
CPU). numpy is no reference: on a CPU with AVX-512, numpy 1.26 computes float64 ``arcsin``,
``arccos`` and ``arctan2`` with its own SIMD kernels instead of libm, and those differ from libm,
and from one machine to the next, by up to a few ulp. Nothing here depends on the CPU.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import mpmath
import numpy as np
import pytest

from lat.framework import portable

N_RANDOM = 20_000  # per case; mpmath takes ~20 us per value
LAT = Path(__file__).resolve().parent.parent / "lat"
mpmath.mp.prec = 128

# name -> the exact function, for finite arguments (mpmath has no signed zero: signs are checked apart)
EXACT: dict[str, Callable[..., Any]] = {
    "sin": mpmath.sin,
    "cos": mpmath.cos,
    "arcsin": mpmath.asin,
    "arccos": mpmath.acos,
    "arctan2": mpmath.atan2,
    "hypot": mpmath.hypot,
}


def ulp_errors(name: str, values: np.ndarray, *arguments: np.ndarray) -> np.ndarray:
    """|value - exact| in units of the last place of the exact value, one per element."""
    errors = []
    for value, *args in zip(np.ravel(values).tolist(), *(np.ravel(a).tolist() for a in arguments)):
        exact = EXACT[name](*(mpmath.mpf(a) for a in args))
        rounded = float(exact)
        if rounded == 0.0:
            errors.append(0.0 if value == 0.0 else math.inf)
            continue
        errors.append(float(abs(mpmath.mpf(value) - exact) / mpmath.mpf(float(np.spacing(abs(rounded))))))
    return np.array(errors)


def _uniform(low: float, high: float) -> Callable[[np.random.Generator], tuple[np.ndarray, ...]]:
    return lambda rng: (rng.uniform(low, high, N_RANDOM),)


def _wide_pairs(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    return tuple(rng.normal(size=N_RANDOM) * 10 ** rng.uniform(-30, 30, N_RANDOM) for _ in range(2))


# name: (function, arguments, largest error in ulp).  The ranges are those of the example: angles of
# directions (ra, dec, azimuths, PSF angles), the orbit phase (~3e5 rad at MET 2.4e8), unit-vector
# components. Every bound is at most 1 ulp, the acceptance bound; each is a little above what was
# measured (sin, cos 0.75-0.77; the others 0.50-0.501): pure IEEE arithmetic, so the same on any CPU.
RANDOM_CASES: dict[str, tuple[str, Callable[..., Any], float]] = {
    "sin [-2pi, 2pi]": ("sin", _uniform(-2 * np.pi, 2 * np.pi), 0.8),
    "cos [-2pi, 2pi]": ("cos", _uniform(-2 * np.pi, 2 * np.pi), 0.8),
    "sin [-1e6, 1e6]": ("sin", _uniform(-1e6, 1e6), 0.8),
    "cos [-1e6, 1e6]": ("cos", _uniform(-1e6, 1e6), 0.8),
    "sin small": ("sin", _uniform(-1e-3, 1e-3), 0.8),
    "arcsin [-1, 1]": ("arcsin", _uniform(-1.0, 1.0), 0.51),
    "arccos [-1, 1]": ("arccos", _uniform(-1.0, 1.0), 0.51),
    "arccos near 1": ("arccos", _uniform(1.0 - 1e-6, 1.0), 0.51),
    "arcsin near -1": ("arcsin", _uniform(-1.0, -1.0 + 1e-6), 0.51),
    "arctan2 unit vectors": (
        "arctan2",
        lambda rng: (rng.normal(size=N_RANDOM), rng.normal(size=N_RANDOM)),
        0.51,
    ),
    "arctan2 wide range": ("arctan2", _wide_pairs, 0.51),
    "hypot": ("hypot", lambda rng: (rng.uniform(0, 10, N_RANDOM), rng.normal(size=N_RANDOM)), 0.51),
}


@pytest.mark.parametrize("case", list(RANDOM_CASES))
def test_within_one_ulp_of_the_exact_value(case: str) -> None:
    name, make_arguments, bound = RANDOM_CASES[case]
    arguments = make_arguments(np.random.default_rng(2024))
    errors = ulp_errors(name, getattr(portable, name)(*arguments), *arguments)
    assert errors.max() <= bound, (case, float(errors.max()))


def test_the_reference_catches_an_error_of_one_ulp() -> None:
    """The check above can fail: a value two ulp away from the exact one is measured as such."""
    x = np.array([0.3, 0.7])
    off = np.nextafter(np.nextafter(portable.arcsin(x), np.inf), np.inf)
    assert (ulp_errors("arcsin", off, x) > 1.4).all()


# --- Machin's pi in 70 digits (independent of the module's own digits), for its constants -------
def _atan_taylor(x: Decimal) -> Decimal:
    total, term, n = x, x, 1
    while abs(term) > Decimal(10) ** -70:
        term = -term * x * x
        total += term / (2 * n + 1)
        n += 1
    return total


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


def _exact_atan2(y: float, x: float) -> Any:
    """atan2 by C99 Annex F (F.10.1.4), which also fixes the infinite and zero cases; sign from y."""
    if math.isnan(y) or math.isnan(x):
        return mpmath.nan
    if math.isinf(y) and math.isinf(x):
        return mpmath.pi / 4 if x > 0 else 3 * mpmath.pi / 4
    if y == 0.0:
        return mpmath.pi if math.copysign(1.0, x) < 0 else mpmath.mpf(0)
    return mpmath.atan2(abs(y), x)


def check_edges(name: str, ours: np.ndarray, *arguments: np.ndarray) -> None:
    """Each value against the exact one: nan, infinities and signed zeros exactly, the rest to 1 ulp.

    A zero result carries the sign IEEE 754 and C99 Annex F give it: that of the argument for sin and
    arcsin, of y for arctan2; cos, arccos and hypot are never -0.
    """
    for value, *args in zip(ours.tolist(), *(a.tolist() for a in arguments)):
        if name == "arctan2":
            exact, negative = _exact_atan2(*args), math.copysign(1.0, args[0]) < 0
        elif name == "hypot" and any(math.isinf(a) for a in args):
            exact, negative = mpmath.inf, False
        elif any(math.isnan(a) or math.isinf(a) for a in args):
            exact, negative = mpmath.nan, False
        else:
            signed = EXACT[name](*(mpmath.mpf(a) for a in args))
            exact = abs(signed)
            odd = name in ("sin", "arcsin")  # f(-0) = -0
            negative = signed < 0 or (signed == 0 and odd and math.copysign(1.0, args[0]) < 0)
        where = (name, args, value)
        if mpmath.isnan(exact):
            assert math.isnan(value), where
        elif exact == 0 or mpmath.isinf(exact):
            assert value == (-1 if negative else 1) * float(exact), where
            assert (math.copysign(1.0, value) < 0) == negative, where
        else:
            signed = -exact if negative else exact
            error = abs(mpmath.mpf(value) - signed) / mpmath.mpf(float(np.spacing(abs(float(exact)))))
            assert error <= 1, (*where, float(error))


@pytest.mark.parametrize("name", list(EDGE_ARGUMENTS))
def test_edges_against_the_exact_values(name: str) -> None:
    x = np.array(EDGE_ARGUMENTS[name])
    check_edges(name, getattr(portable, name)(x), x)


def test_arctan2_zeros_infinities_and_quadrants_follow_c99() -> None:
    y, x = (np.array(column) for column in zip(*ARCTAN2_EDGES))
    check_edges("arctan2", portable.arctan2(y, x), y, x)
    assert float(portable.arctan2(1.0, -1.0)) == 3 * math.pi / 4  # the octants meet exactly
    assert float(portable.arctan2(-1.0, -1.0)) == -3 * math.pi / 4
    assert float(portable.arctan2(1.0, 0.0)) == math.pi / 2
    assert math.isnan(portable.arctan2(NAN, 1.0)) and np.isnan(portable.arctan2(np.full(50, 1.0), NAN)).all()


def test_hypot_edges() -> None:
    a, b = (np.array(column) for column in zip(*HYPOT_EDGES))
    check_edges("hypot", portable.hypot(a, b), a, b)
    assert portable.hypot(3.0, 4.0) == 5.0
    assert portable.hypot(INF, NAN) == INF and math.isnan(portable.hypot(1.0, NAN))


def test_the_edge_check_catches_a_wrong_sign_of_zero() -> None:
    with pytest.raises(AssertionError):
        check_edges("sin", np.array([0.0]), np.array([-0.0]))


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
