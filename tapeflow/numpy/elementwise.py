"""Elementwise functions and their derivative rules.

Each primitive is followed by its VJP rule(s) and JVP rule(s). Binary
primitives are declared with ``broadcasts=True``: their rules ignore
broadcasting and the traces fit cotangents/tangents to the right shapes.

Conventions at kinks and domain edges (also listed in docs/coverage.md):

* ``abs``/``fabs`` have derivative 0 at 0; ``copysign`` is differentiable in
  its first argument only (0 at 0) and has no gradient in the sign source.
* ``maximum``/``minimum``/``fmax``/``fmin`` split the gradient equally between
  tied arguments; ``fmax``/``fmin`` send it to the non-NaN argument.
* ``clip(a, a_min, a_max)``: the gradient flows to ``a`` on the closed interval
  ``a_min <= a <= a_max`` and to the bound that was returned outside it (to
  ``a_max`` everywhere when ``a_min > a_max``, as numpy returns ``a_max``).
* ``sqrt`` and ``cbrt`` have an infinite derivative at 0 (the true one-sided
  limit); ``hypot`` has gradient 0 at the origin; ``sinc`` has derivative 0 at 0
  (exact) but its second derivative is only correct away from 0.
* ``angle`` and ``imag`` of a real array are constant: zero gradient.
* Piecewise-constant functions (``floor``, ``ceil``, ``trunc``, ``rint``,
  ``round``, ``fix``, ``sign``, ``floor_divide``, ``heaviside``) and boolean
  ones (comparisons, ``logical_*``, ``isnan``, ``isinf``, ``isfinite``,
  ``signbit``) are non-differentiable: they return plain arrays, so gradients
  through them are zero.

Complex numbers follow JAX's convention. A cotangent ``c`` of a complex value
pairs with a tangent ``v`` as ``Re(c * v)`` (no conjugation), so the VJP of a
holomorphic ``f`` is ``g * f'(z)``, and the gradient of a real-valued loss
``L(x + iy)`` is ``dL/dx - i dL/dy``. Hence ``conj`` maps ``g`` to ``conj(g)``,
``real`` to ``g`` and ``imag`` to ``-1j * g``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapeflow.numpy._cotangent import dtype_of, shape_of
from tapeflow.primitive import (
    defjvp,
    defvjp,
    defvjp_direct,
    nondifferentiable,
    primitive,
    register_numpy,
    vjp_needs,
)

__all__ = [
    # arithmetic
    "add",
    "subtract",
    "multiply",
    "divide",
    "true_divide",
    "negative",
    "positive",
    "power",
    "float_power",
    "square",
    "sqrt",
    "cbrt",
    "reciprocal",
    "absolute",
    "abs",
    "fabs",
    "mod",
    "remainder",
    "fmod",
    "floor_divide",
    # exponentials and logarithms
    "exp",
    "expm1",
    "exp2",
    "log",
    "log1p",
    "log2",
    "log10",
    "logaddexp",
    "logaddexp2",
    # trigonometry and hyperbolic functions
    "sin",
    "cos",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "arctan2",
    "sinh",
    "cosh",
    "tanh",
    "arcsinh",
    "arccosh",
    "arctanh",
    "hypot",
    "sinc",
    "deg2rad",
    "rad2deg",
    "radians",
    "degrees",
    # selection and extrema
    "maximum",
    "minimum",
    "fmax",
    "fmin",
    "clip",
    "where",
    "copysign",
    # piecewise constant (no gradient)
    "sign",
    "heaviside",
    "floor",
    "ceil",
    "trunc",
    "rint",
    "round",
    "around",
    "fix",
    # comparisons and predicates (no gradient)
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "equal",
    "not_equal",
    "logical_and",
    "logical_or",
    "logical_xor",
    "logical_not",
    "isnan",
    "isinf",
    "isfinite",
    "signbit",
    # complex parts and dtype conversion
    "real",
    "imag",
    "conj",
    "conjugate",
    "angle",
    "astype",
]

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_DEG = 180.0 / math.pi  # radians -> degrees
_RAD = math.pi / 180.0  # degrees -> radians


def _ufunc(np_fun: np.ufunc, broadcasts: bool = False) -> Any:
    """Declare a primitive for a numpy ufunc and route ``np.<ufunc>`` on tracers to it."""
    prim = primitive(np_fun, name=np_fun.__name__, broadcasts=broadcasts)
    register_numpy(np_fun, prim)
    return prim


def _is_complex(x: Any) -> bool:
    return bool(np.issubdtype(dtype_of(x), np.complexfloating))


def _zeros_for(x: Any) -> np.ndarray:
    """A zero cotangent shaped like ``x`` (a constant: it depends on the shape only)."""
    return np.zeros(shape_of(x), dtype_of(x))


def _nonzero(x: Any) -> Any:
    """``x`` with zeros replaced by ones, for denominators guarded by a ``where``."""
    return where(x == 0, 1, x)


# ----- arithmetic -------------------------------------------------------------
add = _ufunc(np.add, broadcasts=True)
defvjp_direct(add, lambda g, ans, x, y: g, lambda g, ans, x, y: g)
defjvp(add, lambda t, ans, x, y: t, lambda t, ans, x, y: t)
vjp_needs(add, ans=False, args=())  # the rules use only shapes

subtract = _ufunc(np.subtract, broadcasts=True)
defvjp_direct(subtract, lambda g, ans, x, y: g, lambda g, ans, x, y: -g)
defjvp(subtract, lambda t, ans, x, y: t, lambda t, ans, x, y: -t)
vjp_needs(subtract, ans=False, args=())

multiply = _ufunc(np.multiply, broadcasts=True)
defvjp_direct(multiply, lambda g, ans, x, y: g * y, lambda g, ans, x, y: g * x)
defjvp(multiply, lambda t, ans, x, y: t * y, lambda t, ans, x, y: x * t)
# Each argument's rule reads the other one: in ``x * 2.0`` the tape keeps only the 2.0.
vjp_needs(multiply, ans=False, args={0: (1,), 1: (0,)})

true_divide = _ufunc(np.true_divide, broadcasts=True)
divide = true_divide
defvjp_direct(
    true_divide,
    lambda g, ans, x, y: g / y,
    lambda g, ans, x, y: -g * ans / y,
)
defjvp(true_divide, lambda t, ans, x, y: t / y, lambda t, ans, x, y: -t * ans / y)
vjp_needs(true_divide, ans=False, args={0: (1,), 1: ("ans", 1)})

negative = _ufunc(np.negative)
defvjp_direct(negative, lambda g, ans, x: -g)
defjvp(negative, lambda t, ans, x: -t)
vjp_needs(negative, ans=False, args=())

positive = _ufunc(np.positive)
defvjp_direct(positive, lambda g, ans, x: g)
defjvp(positive, lambda t, ans, x: t)


def _power_slope(x, y, pow_fun):  # type: ignore[no-untyped-def]
    # d/dx x**y = y * x**(y-1); written without dividing by x so x = 0 works.
    # A Python exponent stays a (weak) Python scalar, so float32 stays float32.
    if type(y) in (int, float):
        # Constant exponents: avoid a full pow() where a product does (x**2 is the
        # common case, and pow is several times slower than a multiply).
        if y == 1:
            return 1
        if y == 2:
            return 2 * x
        if y == 3:
            return 3 * square(x)
        return y * pow_fun(x, y - 1 if y != 0 else 1)
    return y * pow_fun(x, where(y == 0, 1, y - 1))


def _log_or_zero(x):  # type: ignore[no-untyped-def]
    # d/dy x**y = log(x) * x**y; where x == 0 the product is 0 (for y > 0), not nan.
    return log(_nonzero(x))


power = _ufunc(np.power, broadcasts=True)
defvjp_direct(
    power,
    lambda g, ans, x, y: g * _power_slope(x, y, power),
    lambda g, ans, x, y: g * ans * _log_or_zero(x),
)
defjvp(
    power,
    lambda t, ans, x, y: t * _power_slope(x, y, power),
    lambda t, ans, x, y: t * ans * _log_or_zero(x),
)
vjp_needs(power, ans=False, args={0: (0, 1), 1: ("ans", 0)})

# numpy computes float_power in float64 (or complex128) whatever the input dtype;
# tapeflow keeps that, and the cotangents are cast back to each input's dtype.
float_power = _ufunc(np.float_power, broadcasts=True)
defvjp_direct(
    float_power,
    lambda g, ans, x, y: g * _power_slope(x, y, float_power),
    lambda g, ans, x, y: g * ans * _log_or_zero(x),
)
defjvp(
    float_power,
    lambda t, ans, x, y: t * _power_slope(x, y, float_power),
    lambda t, ans, x, y: t * ans * _log_or_zero(x),
)
vjp_needs(float_power, ans=False, args={0: (0, 1), 1: ("ans", 0)})

square = _ufunc(np.square)
defvjp_direct(square, lambda g, ans, x: g * 2 * x)
defjvp(square, lambda t, ans, x: t * 2 * x)
vjp_needs(square, ans=False, args=True)

# The derivative of sqrt at 0 is +inf (numpy also warns about the division there).
sqrt = _ufunc(np.sqrt)
defvjp_direct(sqrt, lambda g, ans, x: g * 0.5 / ans)
defjvp(sqrt, lambda t, ans, x: t * 0.5 / ans)
vjp_needs(sqrt, ans=True, args=())

cbrt = _ufunc(np.cbrt)
defvjp_direct(cbrt, lambda g, ans, x: g / (3 * ans * ans))
defjvp(cbrt, lambda t, ans, x: t / (3 * ans * ans))
vjp_needs(cbrt, ans=True, args=())

reciprocal = _ufunc(np.reciprocal)
defvjp_direct(reciprocal, lambda g, ans, x: -g * ans * ans)
defjvp(reciprocal, lambda t, ans, x: -t * ans * ans)
vjp_needs(reciprocal, ans=True, args=())


def _abs_slope(ans, x):  # type: ignore[no-untyped-def]
    # Real: sign(x), 0 at 0. Complex: conj(z) / |z| (0 at 0), which pairs with a
    # tangent v as Re(conj(z) v) / |z|, the derivative of |z| along v.
    if _is_complex(x):
        return conj(x) / _nonzero(ans)
    return sign(x)


def _abs_jvp(t, ans, x):  # type: ignore[no-untyped-def]
    if _is_complex(x):
        return real(t * _abs_slope(ans, x))
    return t * sign(x)


absolute = _ufunc(np.absolute)
abs = absolute  # noqa: A001 - numpy's name
defvjp_direct(absolute, lambda g, ans, x: g * _abs_slope(ans, x))
defjvp(absolute, _abs_jvp)

fabs = _ufunc(np.fabs)
defvjp_direct(fabs, lambda g, ans, x: g * sign(x))
defjvp(fabs, lambda t, ans, x: t * sign(x))
vjp_needs(fabs, ans=False, args=True)

# ----- exponentials and logarithms -------------------------------------------
exp = _ufunc(np.exp)
defvjp_direct(exp, lambda g, ans, x: g * ans)
defjvp(exp, lambda t, ans, x: t * ans)
vjp_needs(exp, ans=True, args=())

expm1 = _ufunc(np.expm1)
defvjp_direct(expm1, lambda g, ans, x: g * (ans + 1))
defjvp(expm1, lambda t, ans, x: t * (ans + 1))
vjp_needs(expm1, ans=True, args=())

exp2 = _ufunc(np.exp2)
defvjp_direct(exp2, lambda g, ans, x: g * ans * _LN2)
defjvp(exp2, lambda t, ans, x: t * ans * _LN2)
vjp_needs(exp2, ans=True, args=())

log = _ufunc(np.log)
defvjp_direct(log, lambda g, ans, x: g / x)
defjvp(log, lambda t, ans, x: t / x)
vjp_needs(log, ans=False, args=True)

log1p = _ufunc(np.log1p)
defvjp_direct(log1p, lambda g, ans, x: g / (x + 1))
defjvp(log1p, lambda t, ans, x: t / (x + 1))
vjp_needs(log1p, ans=False, args=True)

log2 = _ufunc(np.log2)
defvjp_direct(log2, lambda g, ans, x: g / (x * _LN2))
defjvp(log2, lambda t, ans, x: t / (x * _LN2))
vjp_needs(log2, ans=False, args=True)

log10 = _ufunc(np.log10)
defvjp_direct(log10, lambda g, ans, x: g / (x * _LN10))
defjvp(log10, lambda t, ans, x: t / (x * _LN10))
vjp_needs(log10, ans=False, args=True)


def _softmax_weight(x, ans, base_exp):  # type: ignore[no-untyped-def]
    # d/dx log(e^x + e^y) = e^(x - ans) <= 1: never overflows. Where both inputs
    # are -inf the answer is -inf and x - ans would be nan; the weight is 0 there.
    return base_exp(x - where(ans == -np.inf, 0, ans))


logaddexp = _ufunc(np.logaddexp, broadcasts=True)
defvjp_direct(
    logaddexp,
    lambda g, ans, x, y: g * _softmax_weight(x, ans, exp),
    lambda g, ans, x, y: g * _softmax_weight(y, ans, exp),
)
defjvp(
    logaddexp,
    lambda t, ans, x, y: t * _softmax_weight(x, ans, exp),
    lambda t, ans, x, y: t * _softmax_weight(y, ans, exp),
)

logaddexp2 = _ufunc(np.logaddexp2, broadcasts=True)
defvjp_direct(
    logaddexp2,
    lambda g, ans, x, y: g * _softmax_weight(x, ans, exp2),
    lambda g, ans, x, y: g * _softmax_weight(y, ans, exp2),
)
defjvp(
    logaddexp2,
    lambda t, ans, x, y: t * _softmax_weight(x, ans, exp2),
    lambda t, ans, x, y: t * _softmax_weight(y, ans, exp2),
)

# ----- trigonometry -------------------------------------------------------------
sin = _ufunc(np.sin)
defvjp_direct(sin, lambda g, ans, x: g * cos(x))
defjvp(sin, lambda t, ans, x: t * cos(x))
vjp_needs(sin, ans=False, args=True)

cos: Any = _ufunc(np.cos)  # annotated: used in rules above its definition
defvjp_direct(cos, lambda g, ans, x: -g * sin(x))
defjvp(cos, lambda t, ans, x: -t * sin(x))
vjp_needs(cos, ans=False, args=True)

tan = _ufunc(np.tan)
defvjp_direct(tan, lambda g, ans, x: g * (1 + ans * ans))
defjvp(tan, lambda t, ans, x: t * (1 + ans * ans))
vjp_needs(tan, ans=True, args=())

arcsin = _ufunc(np.arcsin)
defvjp_direct(arcsin, lambda g, ans, x: g / sqrt(1 - x * x))
defjvp(arcsin, lambda t, ans, x: t / sqrt(1 - x * x))
vjp_needs(arcsin, ans=False, args=True)

arccos = _ufunc(np.arccos)
defvjp_direct(arccos, lambda g, ans, x: -g / sqrt(1 - x * x))
defjvp(arccos, lambda t, ans, x: -t / sqrt(1 - x * x))
vjp_needs(arccos, ans=False, args=True)

arctan = _ufunc(np.arctan)
defvjp_direct(arctan, lambda g, ans, x: g / (1 + x * x))
defjvp(arctan, lambda t, ans, x: t / (1 + x * x))
vjp_needs(arctan, ans=False, args=True)

# arctan2(y, x) is the angle of the point (x, y): d = (x dy - y dx) / (x^2 + y^2).
arctan2 = _ufunc(np.arctan2, broadcasts=True)
defvjp_direct(
    arctan2,
    lambda g, ans, y, x: g * x / (x * x + y * y),
    lambda g, ans, y, x: -g * y / (x * x + y * y),
)
defjvp(
    arctan2,
    lambda t, ans, y, x: t * x / (x * x + y * y),
    lambda t, ans, y, x: -t * y / (x * x + y * y),
)

sinh = _ufunc(np.sinh)
defvjp_direct(sinh, lambda g, ans, x: g * cosh(x))
defjvp(sinh, lambda t, ans, x: t * cosh(x))
vjp_needs(sinh, ans=False, args=True)

cosh: Any = _ufunc(np.cosh)  # annotated: used in rules above its definition
defvjp_direct(cosh, lambda g, ans, x: g * sinh(x))
defjvp(cosh, lambda t, ans, x: t * sinh(x))
vjp_needs(cosh, ans=False, args=True)

tanh = _ufunc(np.tanh)
defvjp_direct(tanh, lambda g, ans, x: g * (1 - ans * ans))
defjvp(tanh, lambda t, ans, x: t * (1 - ans * ans))
vjp_needs(tanh, ans=True, args=())

arcsinh = _ufunc(np.arcsinh)
defvjp_direct(arcsinh, lambda g, ans, x: g / sqrt(x * x + 1))
defjvp(arcsinh, lambda t, ans, x: t / sqrt(x * x + 1))
vjp_needs(arcsinh, ans=False, args=True)

# sqrt(x-1) * sqrt(x+1) rather than sqrt(x*x - 1): no overflow for huge x.
arccosh = _ufunc(np.arccosh)
defvjp_direct(arccosh, lambda g, ans, x: g / (sqrt(x - 1) * sqrt(x + 1)))
defjvp(arccosh, lambda t, ans, x: t / (sqrt(x - 1) * sqrt(x + 1)))
vjp_needs(arccosh, ans=False, args=True)

arctanh = _ufunc(np.arctanh)
defvjp_direct(arctanh, lambda g, ans, x: g / (1 - x * x))
defjvp(arctanh, lambda t, ans, x: t / (1 - x * x))
vjp_needs(arctanh, ans=False, args=True)

# hypot(x, y) = sqrt(x^2 + y^2); gradient 0 at the origin, where it is undefined.
hypot = _ufunc(np.hypot, broadcasts=True)
defvjp_direct(
    hypot,
    lambda g, ans, x, y: g * x / _nonzero(ans),
    lambda g, ans, x, y: g * y / _nonzero(ans),
)
defjvp(
    hypot,
    lambda t, ans, x, y: t * x / _nonzero(ans),
    lambda t, ans, x, y: t * y / _nonzero(ans),
)


def _sinc_slope(ans, x):  # type: ignore[no-untyped-def]
    # sinc(x) = sin(pi x) / (pi x); sinc'(x) = (cos(pi x) - sinc(x)) / x, and 0 at 0.
    return where(x == 0, 0, (cos(x * math.pi) - ans) / _nonzero(x))


sinc = primitive(np.sinc, name="sinc")
register_numpy(np.sinc, sinc)
defvjp_direct(sinc, lambda g, ans, x: g * _sinc_slope(ans, x))
defjvp(sinc, lambda t, ans, x: t * _sinc_slope(ans, x))

deg2rad = _ufunc(np.deg2rad)
radians = deg2rad
register_numpy(np.radians, deg2rad)
defvjp_direct(deg2rad, lambda g, ans, x: g * _RAD)
defjvp(deg2rad, lambda t, ans, x: t * _RAD)

rad2deg = _ufunc(np.rad2deg)
degrees = rad2deg
register_numpy(np.degrees, rad2deg)
defvjp_direct(rad2deg, lambda g, ans, x: g * _DEG)
defjvp(rad2deg, lambda t, ans, x: t * _DEG)

# ----- piecewise constant and boolean: no gradient -----------------------------
sign: Any = _ufunc(np.sign)  # annotated: used in rules above its definition
heaviside = _ufunc(np.heaviside, broadcasts=True)
floor = _ufunc(np.floor)
ceil = _ufunc(np.ceil)
trunc = _ufunc(np.trunc)
rint = _ufunc(np.rint)
floor_divide = _ufunc(np.floor_divide, broadcasts=True)
less = _ufunc(np.less)
less_equal = _ufunc(np.less_equal)
greater = _ufunc(np.greater)
greater_equal = _ufunc(np.greater_equal)
equal = _ufunc(np.equal)
not_equal = _ufunc(np.not_equal)
logical_and = _ufunc(np.logical_and)
logical_or = _ufunc(np.logical_or)
logical_xor = _ufunc(np.logical_xor)
logical_not = _ufunc(np.logical_not)
isnan = _ufunc(np.isnan)
isinf = _ufunc(np.isinf)
isfinite = _ufunc(np.isfinite)
signbit = _ufunc(np.signbit)


def _np_round(a: Any, decimals: int = 0) -> Any:
    return np.round(a, decimals=decimals)


_round = primitive(_np_round, name="round")


def round(a: Any, decimals: int = 0, out: Any = None) -> Any:  # noqa: A001 - numpy's name
    """Round to ``decimals`` decimal places (numpy.round); zero gradient.

    Example:
        >>> round(np.array([0.123, 2.5]), decimals=1)
        array([0.1, 2.5])
    """
    if out is not None:
        raise TypeError("tapeflow.numpy.round does not support out=; assign the result instead")
    return _round(a, decimals=decimals)


around = round
register_numpy(np.round, round)
register_numpy(np.around, round)

fix = primitive(lambda x: np.fix(x), name="fix")
register_numpy(np.fix, lambda x, out=None: fix(x))

for _prim in (
    sign, heaviside, floor, ceil, trunc, rint, _round, fix, floor_divide,
    less, less_equal, greater, greater_equal, equal, not_equal,
    logical_and, logical_or, logical_xor, logical_not, isnan, isinf, isfinite, signbit,
):  # fmt: skip
    nondifferentiable(_prim)

# mod(x, y) = x - floor(x / y) * y and fmod(x, y) = x - trunc(x / y) * y.
mod = _ufunc(np.mod, broadcasts=True)
remainder = mod
defvjp_direct(mod, lambda g, ans, x, y: g, lambda g, ans, x, y: -g * floor_divide(x, y))
defjvp(mod, lambda t, ans, x, y: t, lambda t, ans, x, y: -t * floor_divide(x, y))

fmod = _ufunc(np.fmod, broadcasts=True)
defvjp_direct(fmod, lambda g, ans, x, y: g, lambda g, ans, x, y: -g * trunc(x / y))
defjvp(fmod, lambda t, ans, x, y: t, lambda t, ans, x, y: -t * trunc(x / y))

# ----- selection and extrema -----------------------------------------------------
where = primitive(np.where, name="where", broadcasts=True)
register_numpy(np.where, where)
defvjp_direct(
    where,
    None,
    lambda g, ans, c, x, y: where(c, g, 0),
    lambda g, ans, c, x, y: where(c, 0, g),
)
defjvp(where, None, lambda t, ans, c, x, y: where(c, t, 0), lambda t, ans, c, x, y: where(c, 0, t))


def _pick(g, wins, ties):  # type: ignore[no-untyped-def]
    """``g`` where this argument was returned, half of it at a tie, 0 elsewhere."""
    return where(wins, g, where(ties, 0.5 * g, 0))


def _extremum(np_fun, winner, skip_nan):  # type: ignore[no-untyped-def]
    """maximum / minimum / fmax / fmin: ``winner(a, b)`` is where ``a`` alone is returned."""
    prim = _ufunc(np_fun, broadcasts=True)

    def wins(a, b):  # type: ignore[no-untyped-def]
        w = winner(a, b)
        # fmax/fmin ignore a NaN argument; maximum/minimum propagate it (and so
        # does the gradient of the NaN argument, which is NaN-valued anyway).
        return (w | (isnan(b) & ~isnan(a))) if skip_nan else w

    defvjp_direct(
        prim,
        lambda g, ans, x, y: _pick(g, wins(x, y), x == y),
        lambda g, ans, x, y: _pick(g, wins(y, x), x == y),
    )
    defjvp(
        prim,
        lambda t, ans, x, y: _pick(t, wins(x, y), x == y),
        lambda t, ans, x, y: _pick(t, wins(y, x), x == y),
    )
    return prim


maximum = _extremum(np.maximum, greater, skip_nan=False)
minimum = _extremum(np.minimum, less, skip_nan=False)
fmax = _extremum(np.fmax, greater, skip_nan=True)
fmin = _extremum(np.fmin, less, skip_nan=True)


def _clip_masks(a, lo, hi):  # type: ignore[no-untyped-def]
    """Where the result of clip came from: (from a_min, from a_max); a elsewhere.

    A missing bound gives ``None`` (never a Python bool: ``~False`` is the integer -1).
    """
    from_hi = None if hi is None else a > hi
    if from_hi is not None and lo is not None:
        from_hi = from_hi | (lo > hi)
    if lo is None:
        from_lo = None
    else:
        from_lo = a < lo if from_hi is None else (a < lo) & ~from_hi
    return from_lo, from_hi


def _np_clip(a: Any, lo: Any, hi: Any) -> Any:
    return np.clip(a, lo, hi)


_clip = primitive(_np_clip, name="clip", broadcasts=True)


def _clip_a(g, a, lo, hi):  # type: ignore[no-untyped-def]
    from_lo, from_hi = _clip_masks(a, lo, hi)
    if from_lo is None:
        outside = from_hi
    elif from_hi is None:
        outside = from_lo
    else:
        outside = from_lo | from_hi
    return g if outside is None else where(outside, 0, g)


def _clip_lo(g, a, lo, hi):  # type: ignore[no-untyped-def]
    return where(_clip_masks(a, lo, hi)[0], g, 0)


def _clip_hi(g, a, lo, hi):  # type: ignore[no-untyped-def]
    return where(_clip_masks(a, lo, hi)[1], g, 0)


defvjp_direct(
    _clip,
    lambda g, ans, a, lo, hi: _clip_a(g, a, lo, hi),
    lambda g, ans, a, lo, hi: _clip_lo(g, a, lo, hi),
    lambda g, ans, a, lo, hi: _clip_hi(g, a, lo, hi),
)
defjvp(
    _clip,
    lambda t, ans, a, lo, hi: _clip_a(t, a, lo, hi),
    lambda t, ans, a, lo, hi: _clip_lo(t, a, lo, hi),
    lambda t, ans, a, lo, hi: _clip_hi(t, a, lo, hi),
)

_NO_VALUE = getattr(np, "_NoValue", None)


def clip(a: Any, a_min: Any = None, a_max: Any = None, out: Any = None, **kwargs: Any) -> Any:
    """Limit the values of ``a`` to ``[a_min, a_max]`` (numpy.clip).

    ``a``, ``a_min`` and ``a_max`` are all differentiable (the bounds may be
    arrays that broadcast against ``a``, or ``None``). The gradient flows to
    ``a`` where ``a_min <= a <= a_max`` (bounds included) and to the bound that
    was returned elsewhere.

    Example:
        >>> clip(np.array([-2.0, 0.5, 3.0]), -1.0, 1.0)
        array([-1. ,  0.5,  1. ])
    """
    if out is not None:
        raise TypeError("tapeflow.numpy.clip does not support out=; assign the result instead")
    a_min = kwargs.pop("min", a_min)
    a_max = kwargs.pop("max", a_max)
    if kwargs:
        raise TypeError(f"tapeflow.numpy.clip got unsupported keyword(s) {sorted(kwargs)}")
    a_min = None if a_min is _NO_VALUE else a_min
    a_max = None if a_max is _NO_VALUE else a_max
    if a_min is None and a_max is None:
        return positive(a)
    return _clip(a, a_min, a_max)


register_numpy(np.clip, clip)

# copysign(x1, x2) = |x1| with the sign of x2: slope sign(x1) * sign(result) in
# x1 (0 at x1 = 0, like abs); the sign source x2 gets no gradient.
copysign = _ufunc(np.copysign, broadcasts=True)
defvjp_direct(copysign, lambda g, ans, x1, x2: g * sign(x1) * sign(ans), None)
defjvp(copysign, lambda t, ans, x1, x2: t * sign(x1) * sign(ans), None)

# ----- complex parts and dtype conversion -----------------------------------


def _as_complex_like(ct, x):  # type: ignore[no-untyped-def]
    """Give a real cotangent of a complex input the input's complex dtype."""
    if _is_complex(x) and not _is_complex(ct):
        return astype(ct, dtype_of(x))
    return ct


real = primitive(np.real, name="real")
register_numpy(np.real, real)
defvjp_direct(real, lambda g, ans, x: _as_complex_like(g, x))
defjvp(real, lambda t, ans, x: real(t))


def _imag_vjp(ans, x):  # type: ignore[no-untyped-def]
    # Re(c * v) must equal g * Im(v) for every v: c = -1j * g.
    if _is_complex(x):
        return lambda g: -1j * g
    return lambda g: _zeros_for(x)


imag = primitive(np.imag, name="imag")
register_numpy(np.imag, imag)
defvjp(imag, _imag_vjp)
defjvp(imag, lambda t, ans, x: imag(t))

conjugate = _ufunc(np.conjugate)
conj = conjugate
defvjp_direct(conjugate, lambda g, ans, x: conjugate(g))
defjvp(conjugate, lambda t, ans, x: conjugate(t))


def _np_angle(z: Any, deg: bool = False) -> Any:
    return np.angle(z, deg=deg)


_angle = primitive(_np_angle, name="angle")


def _abs2(x):  # type: ignore[no-untyped-def]
    return real(x * conj(x))


def _angle_vjp(ans, x, deg=False):  # type: ignore[no-untyped-def]
    # d angle(z) along v = Im(conj(z) v) / |z|^2 = Re(-1j conj(z) v) / |z|^2; 0 at z = 0.
    if not _is_complex(x):
        return lambda g: _zeros_for(x)
    scale = _DEG if deg else 1.0
    return lambda g: g * (-1j * scale) * conj(x) / _nonzero(_abs2(x))


def _angle_jvp(t, ans, x, deg=False):  # type: ignore[no-untyped-def]
    if not _is_complex(x):
        return t * 0.0
    scale = _DEG if deg else 1.0
    return imag(conj(x) * t) * scale / _nonzero(_abs2(x))


defvjp(_angle, _angle_vjp)
defjvp(_angle, _angle_jvp)


def angle(z: Any, deg: bool = False) -> Any:
    """The counterclockwise angle of complex ``z`` from the positive real axis (numpy.angle).

    Differentiable for complex ``z`` (gradient 0 at ``z = 0``); constant, with
    zero gradient, for real ``z``.

    Example:
        >>> angle(np.array([1j, -1.0]))
        array([1.57079633, 3.14159265])
    """
    return _angle(z, deg=deg)


register_numpy(np.angle, angle)


def _astype(x, dtype):  # type: ignore[no-untyped-def]
    return np.asarray(x).astype(dtype)


astype = primitive(_astype, name="astype")


def _casts_to_float(dtype) -> bool:  # type: ignore[no-untyped-def]
    return bool(np.issubdtype(np.dtype(dtype), np.inexact))


def _astype_vjp(ans, x, dtype):  # type: ignore[no-untyped-def]
    x_dtype = dtype_of(x)
    if not _casts_to_float(dtype):
        # An integer or boolean result is piecewise constant in x: no derivative.
        return lambda g: np.zeros(shape_of(x), x_dtype)

    def vjp(g):  # type: ignore[no-untyped-def]
        # A complex -> real cast keeps the real part: its cotangent is real too.
        if _is_complex(g) and not np.issubdtype(x_dtype, np.complexfloating):
            g = real(g)
        return astype(g, x_dtype)

    return vjp


defvjp(astype, _astype_vjp, None)
defjvp(
    astype,
    lambda t, ans, x, dtype: (
        astype(t, dtype) if _casts_to_float(dtype) else np.zeros(shape_of(ans), dtype_of(ans))
    ),
    None,
)
