"""Portable trigonometry: the same float64 bits on every platform that has IEEE-754 doubles.

numpy's float64 ``sin``, ``cos``, ``arcsin``, ``arccos``, ``arctan2`` and ``hypot`` differ in the
last bit from one platform to the next: they call the C library's libm, and libms differ (glibc 2.35
removed the correctly rounded slow paths of ``asin``/``acos``/``atan``/``atan2`` and rewrote
``hypot``, so the bullseye (2.31) and bookworm (2.36) images gave different directions), and on a
CPU with AVX-512 numpy 1.26 uses its own SIMD kernels instead of libm for some of them, which differ
again by a few ulp.  This module computes them with correctly
rounded IEEE operations only (``+ - * /``, ``sqrt``, ``rint``/``floor``, comparisons and
selections), one operation at a time, so no libm is called and nothing can be contracted into a
fused multiply-add: the approach of portable math libraries such as CERN's VDT, whose functions
are likewise polynomials evaluated with plain arithmetic.

Method (all constants are derived below from pi and exact rationals; nothing is fitted):

* ``sin``/``cos``: Cody-Waite reduction ``r = x - k pi/2`` with pi/2 in four parts, the first
  three of 27 bits so that ``k * part`` is exact for ``|k| < 2**26``; ``r`` is kept as a
  head + tail pair.  Then Taylor polynomials on ``|r| <= pi/4`` (to r**17 and r**18; the next
  terms are below 2**-62 relative).  Arguments beyond ``|x| = 2**26 pi/2`` (about 1.05e8 rad)
  give nan: their reduction would need more bits of pi than this module carries.
* ``arctan2``/``arcsin``/``arccos``: reduced to ``atan(t)`` with ``0 <= t <= 1`` (octant
  symmetry; ``asin x = atan2(x, sqrt(1 - x*x))`` with ``1 - x*x`` and the square root carried to
  about 2**-100), then ``atan t = atan(j/8) + atan((t - j/8) / (1 + t j/8))`` with ``j = rint(8t)``
  and the Taylor series of atan (to u**15, ``|u| <= 1/16``).  The quotient's rounding error is
  carried as a tail (Dekker's exact product).
* ``hypot``: ``sqrt(a*a + b*b)`` with the squares and the root carried as head + tail.

Every function adds a head and a small tail only at its last step, so it rounds about once:
measured against exact values (mpmath, 20,000 arguments per range), at most 0.77 ulp for sin/cos
and 0.50 ulp for the others (tests/test_portable.py).

Small inputs (the per-event calls of the simulation and reconstruction) run the same operations
element by element on Python floats, which are IEEE doubles too (each operator is one rounded C
operation): about 5 us per element, where numpy's ~150 operations cost some 200 us whatever the
size.  Both paths give identical bits (tested on random and edge inputs).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = ["arccos", "arcsin", "arctan2", "cos", "dot3", "hypot", "norm3", "rotate3", "sin", "sincos"]

# --- constants, derived at import from pi (64 digits) with exact rational arithmetic ----------
_PI = Fraction("3.141592653589793238462643383279502884197169399375105820974944592")
_DIGITS = 50  # decimal digits for the atan table (2**-166: far below the 2**-106 of head + tail)


def _top_bits(value: Fraction, bits: int) -> float:
    """``value`` rounded to ``bits`` significant bits (exactly representable as a double)."""
    _, exponent = math.frexp(float(value))
    scale = Fraction(2) ** (bits - exponent)
    return float(Fraction(round(value * scale)) / scale)


def _head_tail(value: Fraction | Decimal) -> tuple[float, float]:
    """The double nearest ``value`` and the double nearest what is left."""
    head = float(value)
    rest = value - (Fraction(head) if isinstance(value, Fraction) else Decimal(head))
    return head, float(rest)


def _pio2_parts() -> tuple[float, float, float, float]:
    rest = _PI / 2
    parts = []
    for _ in range(3):
        parts.append(_top_bits(rest, 27))
        rest -= Fraction(parts[-1])
    return parts[0], parts[1], parts[2], float(rest)


def _atan_decimal(x: Decimal) -> Decimal:
    """atan(x) for 0 <= x <= 1: two argument halvings, atan x = 2 atan(x / (1 + sqrt(1 + x*x))),
    then the Taylor series (|x| <= tan(pi/16) < 0.2)."""
    with localcontext() as context:
        context.prec = _DIGITS + 10
        for _ in range(2):
            x = x / (1 + (1 + x * x).sqrt())
        term, total, n, square = x, x, 1, x * x
        while abs(term) > Decimal(10) ** -(_DIGITS + 5):
            term = -term * square
            total += term / (2 * n + 1)
            n += 1
        return 4 * total


_TWO_OVER_PI = float(2 / _PI)
_PIO2_PARTS = _pio2_parts()
_PIO2_HI, _PIO2_LO = _head_tail(_PI / 2)
_PI_HI, _PI_LO = 2.0 * _PIO2_HI, 2.0 * _PIO2_LO
_MAX_QUARTER_TURNS = float(2**26)  # |k| below this: k * _PIO2_PARTS[0..2] are exact
_ATAN_TABLE = tuple(_head_tail(_atan_decimal(Decimal(j) / 8)) for j in range(9))  # atan(j/8)
_ATAN_HI = np.array([hi for hi, _ in _ATAN_TABLE])
_ATAN_LO = np.array([lo for _, lo in _ATAN_TABLE])
_ATAN_HI.flags.writeable = False
_ATAN_LO.flags.writeable = False
# Taylor coefficients, highest degree first, each the double nearest the exact rational (int / int
# rounds correctly).
_SIN_COEFFICIENTS = tuple((-1) ** n / math.factorial(2 * n + 1) for n in range(8, 0, -1))  # r**17 .. r**3
_COS_COEFFICIENTS = tuple((-1) ** n / math.factorial(2 * n) for n in range(9, 1, -1))  # r**18 .. r**4
_ATAN_COEFFICIENTS = tuple((-1) ** n / (2 * n + 1) for n in range(7, 0, -1))  # u**15 .. u**3
_SPLITTER = 134217729.0  # 2**27 + 1: Veltkamp's split of a double into two 26-bit halves
# Dekker products need |operands| well inside the exponent range; outside, tails are dropped.
_DEKKER_MIN, _DEKKER_MAX = 2.0**-500, 2.0**500
_HYPOT_BIG, _HYPOT_SMALL, _HYPOT_SCALE = 2.0**450, 2.0**-450, 2.0**600

# How many elements are computed one by one on Python floats rather than with numpy ufuncs.
_SCALAR_LOOP_MAX = 32  # numpy's fixed cost per operation: ~40 elements break even


# --- error-free transformations and kernels: operators only, for floats and arrays alike --------
def _two_sum(a: Any, b: Any) -> tuple[Any, Any]:
    """``a + b`` as the rounded sum and its exact rounding error (Knuth)."""
    total = a + b
    b_virtual = total - a
    return total, (a - (total - b_virtual)) + (b - b_virtual)


def _two_product(a: Any, b: Any) -> tuple[Any, Any]:
    """``a * b`` as the rounded product and its exact rounding error (Dekker, no FMA; Veltkamp's
    split of each factor into two 26-bit halves)."""
    product = a * b
    scaled = _SPLITTER * a
    a_high = scaled - (scaled - a)
    a_low = a - a_high
    scaled = _SPLITTER * b
    b_high = scaled - (scaled - b)
    b_low = b - b_high
    error = ((a_high * b_high - product) + a_high * b_low + a_low * b_high) + a_low * b_low
    return product, error


def _horner(z: Any, coefficients: tuple[float, ...]) -> Any:
    """``c0 + z (c1 + z (c2 + ...))`` for coefficients given highest degree first: one rounded
    multiply and one rounded add per step."""
    accumulator = coefficients[0]
    for coefficient in coefficients[1:]:
        accumulator = accumulator * z
        accumulator = accumulator + coefficient
    return accumulator


def _reduce(x: Any, k: Any) -> tuple[Any, Any]:
    """``x - k pi/2`` as head + tail, for integer-valued ``|k| < 2**26``."""
    head = x - k * _PIO2_PARTS[0]  # exact: k * part is exact and close to x (Sterbenz)
    head, error_1 = _two_sum(head, -(k * _PIO2_PARTS[1]))
    head, error_2 = _two_sum(head, -(k * _PIO2_PARTS[2]))
    return _two_sum(head, (error_1 + error_2) - k * _PIO2_PARTS[3])


def _sin_kernel(r: Any, r_tail: Any) -> Any:
    """sin(r + r_tail) for |r| <= pi/4 (+ a little): r + r**3 S(r**2) + r_tail cos r."""
    z = r * r
    odd = r * z * _horner(z, _SIN_COEFFICIENTS)
    return r + (r_tail * (1.0 - 0.5 * z) + odd)


def _cos_kernel(r: Any, r_tail: Any) -> Any:
    """cos(r + r_tail) for |r| <= pi/4: 1 - r**2/2 carried exactly, + r**4 C(r**2) - r_tail sin r."""
    z, z_error = _two_product(r, r)
    half = 0.5 * z
    head = 1.0 - half
    head_error = (1.0 - head) - half  # exact (Fast2Sum)
    even = z * z * _horner(z, _COS_COEFFICIENTS)
    return head + (head_error + (even - (0.5 * z_error + r * r_tail)))


def _quotient_tail(num: Any, num_tail: Any, den: Any, den_tail: Any, t: Any) -> Any:
    """(num + num_tail) / (den + den_tail) - t, to first order, for t = num / den rounded."""
    product, product_error = _two_product(t, den)
    return (((num - product) - product_error) + (num_tail - t * den_tail)) / den


def _atan_unit(t: Any, t_tail: Any, c: Any, atan_c_hi: Any, atan_c_lo: Any) -> tuple[Any, Any]:
    """atan(t + t_tail) as head + tail, for 0 <= t <= 1 and c = rint(8t)/8 with atan(c) given."""
    numerator = t - c  # exact (Sterbenz)
    product, product_error = _two_product(t, c)
    den = 1.0 + product
    den_tail = ((1.0 - den) + product) + product_error
    u = numerator / den  # |u| <= 1/16
    u_tail = _quotient_tail(numerator, 0.0, den, den_tail, u)
    z = u * u
    odd = u * z * _horner(z, _ATAN_COEFFICIENTS)
    head, head_error = _two_sum(atan_c_hi, u)
    return head, head_error + (atan_c_lo + (u_tail + (t_tail / (1.0 + t * t) + odd)))


def _turn(base_hi: Any, base_lo: Any, sign: Any, head: Any, tail: Any) -> Any:
    """base + sign (head + tail), rounded once at the end."""
    total, error = _two_sum(base_hi, sign * head)
    return total + (error + (base_lo + sign * tail))


def _sqrt_one_minus_square(a: Any, sqrt: Callable[[Any], Any]) -> tuple[Any, Any]:
    """sqrt(1 - a*a) for 0 <= a <= 1: the rounded root s and the numerator of its tail (the tail
    is that divided by 2 s, where s > 0).  ``sqrt`` is IEEE's correctly rounded square root."""
    square, square_error = _two_product(a, a)
    rest, rest_error = _two_sum(1.0, -square)
    root = sqrt(rest)
    root_square, root_square_error = _two_product(root, root)
    return root, ((rest - root_square) - root_square_error) + (rest_error - square_error)


def _hypot_kernel(a: Any, b: Any, sqrt: Callable[[Any], Any]) -> tuple[Any, Any]:
    """sqrt(a*a + b*b): the rounded root and the numerator of its tail, as above."""
    a_square, a_error = _two_product(a, a)
    b_square, b_error = _two_product(b, b)
    total, total_error = _two_sum(a_square, b_square)
    root = sqrt(total)
    root_square, root_square_error = _two_product(root, root)
    return root, ((total - root_square) - root_square_error) + (total_error + (a_error + b_error))


# --- the scalar path: Python floats, branches -------------------------------------------------
def _sincos_scalar(x: float) -> tuple[float, float]:
    if not math.isfinite(x) or abs(x * _TWO_OVER_PI) >= _MAX_QUARTER_TURNS:
        return math.nan, math.nan
    k = float(round(x * _TWO_OVER_PI))  # round() on a float rounds half to even, as rint does
    r, r_tail = _reduce(x, k)
    sin_r, cos_r = _sin_kernel(r, r_tail), _cos_kernel(r, r_tail)
    quadrant = int(k) % 4
    sin_x, cos_x = (sin_r, cos_r) if quadrant % 2 == 0 else (cos_r, sin_r)
    if quadrant >= 2:
        sin_x = -sin_x
    if quadrant in (1, 2):
        cos_x = -cos_x
    return (x if x == 0.0 else sin_x), cos_x


def _angle_scalar(num: float, num_tail: float, den: float, den_tail: float, negative_den: bool) -> float:
    """atan2(num + num_tail, den + den_tail) for num, den >= 0; den's sign is ``negative_den``."""
    swap = num > den
    if swap:
        num, num_tail, den, den_tail = den, den_tail, num, num_tail
    t = num / den if den != 0.0 else 0.0  # den = 0: num = 0 too
    t_tail = _quotient_tail(num, num_tail, den, den_tail, t) if _DEKKER_MIN < den < _DEKKER_MAX else 0.0
    j = round(t * 8.0)
    head, tail = _atan_unit(t, t_tail, j * 0.125, _ATAN_TABLE[j][0], _ATAN_TABLE[j][1])
    if swap:
        base_hi, base_lo = _PIO2_HI, _PIO2_LO
    elif negative_den:
        base_hi, base_lo = _PI_HI, _PI_LO
    else:
        base_hi, base_lo = 0.0, 0.0
    return _turn(base_hi, base_lo, -1.0 if swap != negative_den else 1.0, head, tail)


def _arctan2_scalar(y: float, x: float) -> float:
    if math.isnan(y) or math.isnan(x):
        return math.nan
    a, b = abs(y), abs(x)
    if math.isinf(a) or math.isinf(b):
        a, b = float(math.isinf(a)), float(math.isinf(b))
    return math.copysign(_angle_scalar(a, 0.0, b, 0.0, math.copysign(1.0, x) < 0.0), y)


def _root_scalar(a: float) -> tuple[float, float]:
    root, numerator = _sqrt_one_minus_square(a, math.sqrt)
    return root, (numerator / (2.0 * root) if root > 0.0 else 0.0)


def _arcsin_scalar(x: float) -> float:
    if not abs(x) <= 1.0:
        return math.nan
    root, root_tail = _root_scalar(abs(x))
    return math.copysign(_angle_scalar(abs(x), 0.0, root, root_tail, False), x)


def _arccos_scalar(x: float) -> float:
    if not abs(x) <= 1.0:
        return math.nan
    root, root_tail = _root_scalar(abs(x))
    return _angle_scalar(root, root_tail, abs(x), 0.0, x < 0.0)


def _hypot_scalar(a: float, b: float) -> float:
    a, b = abs(a), abs(b)
    if math.isinf(a) or math.isinf(b):
        return math.inf
    if math.isnan(a) or math.isnan(b):
        return math.nan
    largest = max(a, b)
    scale = 1.0
    if largest > _HYPOT_BIG:
        scale = _HYPOT_SCALE
    elif largest < _HYPOT_SMALL:
        scale = 1.0 / _HYPOT_SCALE
    a, b = a / scale, b / scale
    root, numerator = _hypot_kernel(a, b, math.sqrt)
    return (root + numerator / (2.0 * root) if root > 0.0 else 0.0) * scale


# --- the vector path: numpy arrays, selections ------------------------------------------------
def _sincos_vector(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    valid = np.isfinite(x) & (np.abs(x * _TWO_OVER_PI) < _MAX_QUARTER_TURNS)
    x_valid = np.where(valid, x, 0.0)
    k = np.rint(x_valid * _TWO_OVER_PI)
    r, r_tail = _reduce(x_valid, k)
    sin_r, cos_r = _sin_kernel(r, r_tail), _cos_kernel(r, r_tail)
    quadrant = k - 4.0 * np.floor(k * 0.25)
    odd = (quadrant == 1.0) | (quadrant == 3.0)
    sin_x, cos_x = np.where(odd, cos_r, sin_r), np.where(odd, sin_r, cos_r)
    sin_x = np.where(quadrant >= 2.0, -sin_x, sin_x)
    cos_x = np.where((quadrant == 1.0) | (quadrant == 2.0), -cos_x, cos_x)
    sin_x = np.where(x == 0.0, x, sin_x)
    return np.where(valid, sin_x, np.nan), np.where(valid, cos_x, np.nan)


def _angle_vector(
    num: np.ndarray, num_tail: Any, den: np.ndarray, den_tail: Any, negative_den: np.ndarray
) -> np.ndarray:
    swap = num > den
    num, den = np.where(swap, den, num), np.where(swap, num, den)
    num_tail, den_tail = np.where(swap, den_tail, num_tail), np.where(swap, num_tail, den_tail)
    zero = den == 0.0
    den = np.where(zero, 1.0, den)  # then num is 0 too: t = 0
    t = num / den
    t_tail = _quotient_tail(num, num_tail, den, den_tail, t)
    t_tail = np.where((den > _DEKKER_MIN) & (den < _DEKKER_MAX) & ~zero, t_tail, 0.0)
    j = np.rint(t * 8.0)
    index = j.astype(np.intp)
    head, tail = _atan_unit(t, t_tail, j * 0.125, _ATAN_HI[index], _ATAN_LO[index])
    base_hi = np.where(swap, _PIO2_HI, np.where(negative_den, _PI_HI, 0.0))
    base_lo = np.where(swap, _PIO2_LO, np.where(negative_den, _PI_LO, 0.0))
    return _turn(base_hi, base_lo, np.where(swap != negative_den, -1.0, 1.0), head, tail)


def _arctan2_vector(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    invalid = np.isnan(y) | np.isnan(x)
    a, b = np.where(invalid, 0.0, np.abs(y)), np.where(invalid, 0.0, np.abs(x))
    infinite = np.isinf(a) | np.isinf(b)
    a = np.where(infinite, np.isinf(a) * 1.0, a)
    b = np.where(infinite, np.isinf(b) * 1.0, b)
    angle = np.copysign(_angle_vector(a, 0.0, b, 0.0, np.signbit(x)), y)
    return np.where(invalid, np.nan, angle)


def _root_vector(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    root, numerator = _sqrt_one_minus_square(a, np.sqrt)
    positive = root > 0.0
    return root, np.where(positive, numerator / np.where(positive, 2.0 * root, 1.0), 0.0)


def _arcsin_vector(x: np.ndarray) -> np.ndarray:
    invalid = ~(np.abs(x) <= 1.0)
    a = np.where(invalid, 0.0, np.abs(x))
    root, root_tail = _root_vector(a)
    angle = np.copysign(_angle_vector(a, 0.0, root, root_tail, np.zeros(a.shape, bool)), x)
    return np.where(invalid, np.nan, angle)


def _arccos_vector(x: np.ndarray) -> np.ndarray:
    invalid = ~(np.abs(x) <= 1.0)
    a = np.where(invalid, 0.0, np.abs(x))
    root, root_tail = _root_vector(a)
    return np.where(invalid, np.nan, _angle_vector(root, root_tail, a, 0.0, x < 0.0))


def _hypot_vector(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.abs(a), np.abs(b)
    largest = np.maximum(a, b)  # nan if either is nan
    scale = np.where(
        largest > _HYPOT_BIG, _HYPOT_SCALE, np.where(largest < _HYPOT_SMALL, 1.0 / _HYPOT_SCALE, 1.0)
    )
    root, numerator = _hypot_kernel(a / scale, b / scale, np.sqrt)
    positive = root > 0.0
    result = np.where(positive, root + numerator / np.where(positive, 2.0 * root, 1.0), 0.0) * scale
    result = np.where(np.isnan(largest), np.nan, result)
    return np.where(np.isinf(a) | np.isinf(b), np.inf, result)


# --- public functions ----------------------------------------------------------------------
def _apply(scalar: Callable[..., Any], vector: Callable[..., Any], outputs: int, *args: ArrayLike) -> Any:
    """Run ``scalar`` element by element on small inputs and ``vector`` on large ones (the same
    operations, so the same bits); scalar inputs give numpy scalars, like numpy's ufuncs."""
    if isinstance(args[0], float) and all(isinstance(arg, float) for arg in args[1:]):
        return _numpy_scalars(scalar(*map(float, args)), outputs)  # Python floats, numpy float64
    arrays = [np.asarray(arg, dtype=np.float64) for arg in args]
    if len(arrays) > 1 and any(array.shape != arrays[0].shape for array in arrays):
        arrays = np.broadcast_arrays(*arrays)
    shape = arrays[0].shape
    if not shape:
        return _numpy_scalars(scalar(*map(float, arrays)), outputs)
    if 0 < arrays[0].size <= _SCALAR_LOOP_MAX:
        values = np.array(list(map(scalar, *(array.ravel().tolist() for array in arrays))))
        columns = values.T if outputs > 1 else values[None]  # (outputs, size)
        if len(shape) > 1:
            columns = columns.reshape((outputs, *shape))
        return tuple(columns) if outputs > 1 else columns[0]
    with np.errstate(all="ignore"):  # the discarded lanes (nan, inf, out of domain) may warn
        return vector(*arrays)


def _numpy_scalars(value: Any, outputs: int) -> Any:
    return tuple(map(np.float64, value)) if outputs > 1 else np.float64(value)


def sincos(x: ArrayLike) -> tuple[Any, Any]:
    """(sin x, cos x), elementwise; nan for |x| >= 2**26 pi/2 and for inf/nan.

    >>> sincos(0.5) == (0.479425538604203, 0.8775825618903728)
    True
    """
    return _apply(_sincos_scalar, _sincos_vector, 2, x)  # type: ignore[no-any-return]


def sin(x: ArrayLike) -> Any:
    """sin x, elementwise (see :func:`sincos`)."""
    return sincos(x)[0]


def cos(x: ArrayLike) -> Any:
    """cos x, elementwise (see :func:`sincos`)."""
    return sincos(x)[1]


def arctan2(y: ArrayLike, x: ArrayLike) -> Any:
    """The angle of (x, y) in [-pi, pi], with numpy's conventions for signed zeros and infinities.

    >>> float(arctan2(1.0, -1.0)) == 3 * math.pi / 4
    True
    """
    return _apply(_arctan2_scalar, _arctan2_vector, 1, y, x)


def arcsin(x: ArrayLike) -> Any:
    """arcsin x in [-pi/2, pi/2]; nan outside [-1, 1]."""
    return _apply(_arcsin_scalar, _arcsin_vector, 1, x)


def arccos(x: ArrayLike) -> Any:
    """arccos x in [0, pi]; nan outside [-1, 1]."""
    return _apply(_arccos_scalar, _arccos_vector, 1, x)


def hypot(a: ArrayLike, b: ArrayLike) -> Any:
    """sqrt(a*a + b*b) without libm's ``hypot``; inf if either is infinite."""
    return _apply(_hypot_scalar, _hypot_vector, 1, a, b)


# --- 3-vectors without BLAS ---------------------------------------------------------------------
# numpy's ``@``, ``dot`` and the 1-D ``linalg.norm`` call BLAS, and OpenBLAS picks its kernel per CPU
# (or by OPENBLAS_CORETYPE): the same dot product then differs in the last bit from one machine, or one
# environment, to the next (measured: recon's track direction in 34 of 1,500 events). These sum
# x, y, z in that order with single IEEE operations, as the trigonometry above does.


def dot3(a: ArrayLike, b: ArrayLike) -> Any:
    """a . b over the last axis of 3-vectors (broadcasting), summed x + y + z in that order."""
    u = np.asarray(a, dtype=np.float64)
    v = np.asarray(b, dtype=np.float64)
    return u[..., 0] * v[..., 0] + u[..., 1] * v[..., 1] + u[..., 2] * v[..., 2]


def norm3(a: ArrayLike) -> Any:
    """|a| over the last axis of 3-vectors: the square root of :func:`dot3` (sqrt is correctly rounded)."""
    return np.sqrt(dot3(a, a))


def rotate3(vectors: ArrayLike, matrix: ArrayLike) -> Any:
    """``vectors @ matrix`` for 3-vectors (..., 3) and a 3 x 3 matrix, each component by :func:`dot3`."""
    v = np.asarray(vectors, dtype=np.float64)
    m = np.asarray(matrix, dtype=np.float64)
    return np.stack([dot3(v, m[:, column]) for column in range(3)], axis=-1)
