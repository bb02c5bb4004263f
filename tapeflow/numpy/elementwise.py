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
  through them are zero. ``sign`` of a complex ``z`` is ``z / |z|``, which is not
  piecewise constant: it is differentiable (0 at 0).

Complex numbers follow JAX's convention. A cotangent ``c`` of a complex value
pairs with a tangent ``v`` as ``Re(c * v)`` (no conjugation), so the VJP of a
holomorphic ``f`` is ``g * f'(z)``, and the gradient of a real-valued loss
``L(x + iy)`` is ``dL/dx - i dL/dy``. Hence ``conj`` maps ``g`` to ``conj(g)``,
``real`` to ``g`` and ``imag`` to ``-1j * g``.
"""

from __future__ import annotations

import math
import operator as _op
from typing import Any

import numpy as np

from tapeflow.batching import elementwise_rule, unary_rule
from tapeflow.core.primitive import (
    defbatch,
    defelementwise,
    defjvp,
    deflinear,
    defvjp,
    nondifferentiable,
    primitive,
    set_fast_impl,
    vjp_needs,
)
from tapeflow.numpy.declare import (
    method,
    operator,
    reflected_operator,
    register_numpy,
    ufunc,
    unsupported_error,
)
from tapeflow.numpy.meta import dtype_of, is_complex, shape_of

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


def _zeros_for(x: Any) -> np.ndarray:
    """A zero cotangent shaped like ``x`` (a constant: it depends on the shape only)."""
    return np.zeros(shape_of(x), dtype_of(x))


def _nonzero(x: Any) -> Any:
    """``x`` with zeros replaced by ones, for denominators guarded by a ``where``."""
    return where(x == 0, 1, x)


# ----- arithmetic -------------------------------------------------------------
add = ufunc(np.add, broadcasts=True)
defelementwise(add, lambda u, ans, x, y: u, lambda u, ans, x, y: u)
vjp_needs(add, ans=False, args=())  # the rules use only shapes

subtract = ufunc(np.subtract, broadcasts=True)
defelementwise(subtract, lambda u, ans, x, y: u, lambda u, ans, x, y: -u)
vjp_needs(subtract, ans=False, args=())

multiply = ufunc(np.multiply, broadcasts=True)
defelementwise(multiply, lambda u, ans, x, y: u * y, lambda u, ans, x, y: u * x)
# Each argument's rule reads the other one: in ``x * 2.0`` the tape keeps only the 2.0.
vjp_needs(multiply, ans=False, args={0: (1,), 1: (0,)})
_multiply_elementwise = elementwise_rule(multiply)


def _multiply_batch(args: Any, dims: Any, **kwargs: Any) -> Any:
    """Batched outer products ``(B, n, 1) * (B, 1, m)`` go to einsum's kernel.

    That product is what the VJP of ``vector @ matrix`` computes for each example (the
    per-example weight gradient); numpy's broadcasting loop is several times slower on
    it than einsum's outer-product kernel. (``np.einsum`` reaches tapeflow's einsum on
    traced operands, so outer transforms record it.)
    """
    if len(args) == 2 and dims[0] == dims[1] == 0 and not kwargs:
        a, b = args
        sa, sb = tuple(shape_of(a)), tuple(shape_of(b))
        if (
            len(sa) == 3
            and len(sb) == 3
            and sa[2] == 1
            and sb[1] == 1
            and sa[0] == sb[0]
            and dtype_of(a) == dtype_of(b)
        ):
            rows, cols = a.reshape(sa[:2]), b.reshape(sb[:1] + sb[2:])
            return np.einsum("bi,bj->bij", rows, cols, optimize=False), 0
    return _multiply_elementwise(args, dims, **kwargs)


defbatch(multiply, _multiply_batch)

true_divide = ufunc(np.true_divide, broadcasts=True)
divide = true_divide
defelementwise(
    true_divide,
    lambda u, ans, x, y: u / y,
    lambda u, ans, x, y: -u * ans / y,
)
vjp_needs(true_divide, ans=False, args={0: (1,), 1: ("ans", 1)})

negative = ufunc(np.negative)
defelementwise(negative, lambda u, ans, x: -u)
vjp_needs(negative, ans=False, args=())

positive = ufunc(np.positive)
defelementwise(positive, lambda u, ans, x: u)


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


def _log_or_zero(x, ans):  # type: ignore[no-untyped-def]
    # d/dy x**y = log(x) * x**y; where x == 0 the product is 0 (for y > 0), not nan.
    # A real base under a complex exponent: the power is complex and so is the log
    # (log|x| + i pi for a negative base, where the real log would be nan).
    x = _nonzero(x)
    if is_complex(ans) and not is_complex(x):
        x = astype(x, dtype_of(ans))
    return log(x)


power = ufunc(np.power, broadcasts=True)
defelementwise(
    power,
    lambda u, ans, x, y: u * _power_slope(x, y, power),
    lambda u, ans, x, y: u * ans * _log_or_zero(x, ans),
)
vjp_needs(power, ans=False, args={0: (0, 1), 1: ("ans", 0)})

# numpy computes float_power in float64 (or complex128) whatever the input dtype;
# tapeflow keeps that, and the cotangents are cast back to each input's dtype.
float_power = ufunc(np.float_power, broadcasts=True)
defelementwise(
    float_power,
    lambda u, ans, x, y: u * _power_slope(x, y, float_power),
    lambda u, ans, x, y: u * ans * _log_or_zero(x, ans),
)
vjp_needs(float_power, ans=False, args={0: (0, 1), 1: ("ans", 0)})

square = ufunc(np.square)
defelementwise(square, lambda u, ans, x: u * 2 * x)
vjp_needs(square, ans=False, args=True)

# The derivative of sqrt at 0 is +inf (numpy also warns about the division there).
sqrt = ufunc(np.sqrt)
defelementwise(sqrt, lambda u, ans, x: u * 0.5 / ans)
vjp_needs(sqrt, ans=True, args=())

cbrt = ufunc(np.cbrt)
defelementwise(cbrt, lambda u, ans, x: u / (3 * ans * ans))
vjp_needs(cbrt, ans=True, args=())

reciprocal = ufunc(np.reciprocal)
defelementwise(reciprocal, lambda u, ans, x: -u * ans * ans)
vjp_needs(reciprocal, ans=True, args=())


def _abs_slope(ans, x):  # type: ignore[no-untyped-def]
    # Real: sign(x), 0 at 0. Complex: conj(z) / |z| (0 at 0), which pairs with a
    # tangent v as Re(conj(z) v) / |z|, the derivative of |z| along v.
    if is_complex(x):
        return conj(x) / _nonzero(ans)
    return sign(x)


def _abs_jvp(t, ans, x):  # type: ignore[no-untyped-def]
    if is_complex(x):
        return real(t * _abs_slope(ans, x))
    return t * sign(x)


absolute = ufunc(np.absolute)
abs = absolute  # noqa: A001 - numpy's name
# Not one elementwise derivative: |z| is not holomorphic, so its VJP and JVP differ.
defvjp(absolute, lambda ans, x: lambda g: g * _abs_slope(ans, x))
defjvp(absolute, _abs_jvp)

fabs = ufunc(np.fabs)
defelementwise(fabs, lambda u, ans, x: u * sign(x))
vjp_needs(fabs, ans=False, args=True)

# ----- exponentials and logarithms -------------------------------------------
exp = ufunc(np.exp)
defelementwise(exp, lambda u, ans, x: u * ans)
vjp_needs(exp, ans=True, args=())

expm1 = ufunc(np.expm1)
defelementwise(expm1, lambda u, ans, x: u * (ans + 1))
vjp_needs(expm1, ans=True, args=())

exp2 = ufunc(np.exp2)
defelementwise(exp2, lambda u, ans, x: u * ans * _LN2)
vjp_needs(exp2, ans=True, args=())

log = ufunc(np.log)
defelementwise(log, lambda u, ans, x: u / x)
vjp_needs(log, ans=False, args=True)

log1p = ufunc(np.log1p)
defelementwise(log1p, lambda u, ans, x: u / (x + 1))
vjp_needs(log1p, ans=False, args=True)

log2 = ufunc(np.log2)
defelementwise(log2, lambda u, ans, x: u / (x * _LN2))
vjp_needs(log2, ans=False, args=True)

log10 = ufunc(np.log10)
defelementwise(log10, lambda u, ans, x: u / (x * _LN10))
vjp_needs(log10, ans=False, args=True)


def _softmax_weight(x, ans, base_exp):  # type: ignore[no-untyped-def]
    # d/dx log(e^x + e^y) = e^(x - ans) <= 1: never overflows. Where both inputs
    # are -inf the answer is -inf and x - ans would be nan; the weight is 0 there.
    return base_exp(x - where(ans == -np.inf, 0, ans))


logaddexp = ufunc(np.logaddexp, broadcasts=True)
defelementwise(
    logaddexp,
    lambda u, ans, x, y: u * _softmax_weight(x, ans, exp),
    lambda u, ans, x, y: u * _softmax_weight(y, ans, exp),
)

logaddexp2 = ufunc(np.logaddexp2, broadcasts=True)
defelementwise(
    logaddexp2,
    lambda u, ans, x, y: u * _softmax_weight(x, ans, exp2),
    lambda u, ans, x, y: u * _softmax_weight(y, ans, exp2),
)

# ----- trigonometry -------------------------------------------------------------
sin = ufunc(np.sin)
defelementwise(sin, lambda u, ans, x: u * cos(x))
vjp_needs(sin, ans=False, args=True)

cos: Any = ufunc(np.cos)  # annotated: used in rules above its definition
defelementwise(cos, lambda u, ans, x: -u * sin(x))
vjp_needs(cos, ans=False, args=True)

tan = ufunc(np.tan)
defelementwise(tan, lambda u, ans, x: u * (1 + ans * ans))
vjp_needs(tan, ans=True, args=())

arcsin = ufunc(np.arcsin)
defelementwise(arcsin, lambda u, ans, x: u / sqrt(1 - x * x))
vjp_needs(arcsin, ans=False, args=True)

arccos = ufunc(np.arccos)
defelementwise(arccos, lambda u, ans, x: -u / sqrt(1 - x * x))
vjp_needs(arccos, ans=False, args=True)

arctan = ufunc(np.arctan)
defelementwise(arctan, lambda u, ans, x: u / (1 + x * x))
vjp_needs(arctan, ans=False, args=True)

# arctan2(y, x) is the angle of the point (x, y): d = (x dy - y dx) / (x^2 + y^2).
arctan2 = ufunc(np.arctan2, broadcasts=True)
defelementwise(
    arctan2,
    lambda u, ans, y, x: u * x / (x * x + y * y),
    lambda u, ans, y, x: -u * y / (x * x + y * y),
)

sinh = ufunc(np.sinh)
defelementwise(sinh, lambda u, ans, x: u * cosh(x))
vjp_needs(sinh, ans=False, args=True)

cosh: Any = ufunc(np.cosh)  # annotated: used in rules above its definition
defelementwise(cosh, lambda u, ans, x: u * sinh(x))
vjp_needs(cosh, ans=False, args=True)

tanh = ufunc(np.tanh)
defelementwise(tanh, lambda u, ans, x: u * (1 - ans * ans))
vjp_needs(tanh, ans=True, args=())

arcsinh = ufunc(np.arcsinh)
defelementwise(arcsinh, lambda u, ans, x: u / sqrt(x * x + 1))
vjp_needs(arcsinh, ans=False, args=True)

# sqrt(x-1) * sqrt(x+1) rather than sqrt(x*x - 1): no overflow for huge x.
arccosh = ufunc(np.arccosh)
defelementwise(arccosh, lambda u, ans, x: u / (sqrt(x - 1) * sqrt(x + 1)))
vjp_needs(arccosh, ans=False, args=True)

arctanh = ufunc(np.arctanh)
defelementwise(arctanh, lambda u, ans, x: u / (1 - x * x))
vjp_needs(arctanh, ans=False, args=True)

# hypot(x, y) = sqrt(x^2 + y^2); gradient 0 at the origin, where it is undefined.
hypot = ufunc(np.hypot, broadcasts=True)
defelementwise(
    hypot,
    lambda u, ans, x, y: u * x / _nonzero(ans),
    lambda u, ans, x, y: u * y / _nonzero(ans),
)


def _sinc_slope(ans, x):  # type: ignore[no-untyped-def]
    # sinc(x) = sin(pi x) / (pi x); sinc'(x) = (cos(pi x) - sinc(x)) / x, and 0 at 0.
    return where(x == 0, 0, (cos(x * math.pi) - ans) / _nonzero(x))


sinc = primitive(np.sinc, name="sinc", elementwise=True)
register_numpy(np.sinc, sinc)
defelementwise(sinc, lambda u, ans, x: u * _sinc_slope(ans, x))

deg2rad = ufunc(np.deg2rad)
radians = deg2rad
register_numpy(np.radians, deg2rad)
defelementwise(deg2rad, lambda u, ans, x: u * _RAD)

rad2deg = ufunc(np.rad2deg)
degrees = rad2deg
register_numpy(np.degrees, rad2deg)
defelementwise(rad2deg, lambda u, ans, x: u * _DEG)

# ----- piecewise constant and boolean: no gradient -----------------------------
_sign = ufunc(np.sign)


def sign(x: Any) -> Any:
    """numpy.sign: -1, 0 or 1 for real input, piecewise constant (no gradient); for
    complex input ``z / |z|`` (0 at 0), which moves with ``z`` and is differentiable.

    Example:
        >>> import tapeflow as tp
        >>> complex(tp.grad(lambda z: sign(z).imag)(1.0 + 0.0j))
        -1j
    """
    if not is_complex(x):
        return _sign(x)
    nonzero = x != 0
    return where(nonzero, x / absolute(where(nonzero, x, 1)), 0)


register_numpy(np.sign, sign)
heaviside = ufunc(np.heaviside, broadcasts=True)
floor = ufunc(np.floor)
ceil = ufunc(np.ceil)
trunc = ufunc(np.trunc)
rint = ufunc(np.rint)
floor_divide = ufunc(np.floor_divide, broadcasts=True)
less = ufunc(np.less)
less_equal = ufunc(np.less_equal)
greater = ufunc(np.greater)
greater_equal = ufunc(np.greater_equal)
equal = ufunc(np.equal)
not_equal = ufunc(np.not_equal)
logical_and = ufunc(np.logical_and)
logical_or = ufunc(np.logical_or)
logical_xor = ufunc(np.logical_xor)
logical_not = ufunc(np.logical_not)
isnan = ufunc(np.isnan)
isinf = ufunc(np.isinf)
isfinite = ufunc(np.isfinite)
signbit = ufunc(np.signbit)


def _np_round(a: Any, decimals: int = 0) -> Any:
    return np.round(a, decimals=decimals)


_round = primitive(_np_round, name="round", elementwise=True)


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

fix = primitive(lambda x: np.fix(x), name="fix", elementwise=True)
register_numpy(np.fix, lambda x, out=None: fix(x))

for _prim in (
    _sign, heaviside, floor, ceil, trunc, rint, _round, fix, floor_divide,
    less, less_equal, greater, greater_equal, equal, not_equal,
    logical_and, logical_or, logical_xor, logical_not, isnan, isinf, isfinite, signbit,
):  # fmt: skip
    nondifferentiable(_prim)

# mod(x, y) = x - floor(x / y) * y and fmod(x, y) = x - trunc(x / y) * y.
mod = ufunc(np.mod, broadcasts=True)
remainder = mod
defelementwise(mod, lambda u, ans, x, y: u, lambda u, ans, x, y: -u * floor_divide(x, y))

fmod = ufunc(np.fmod, broadcasts=True)
defelementwise(fmod, lambda u, ans, x, y: u, lambda u, ans, x, y: -u * trunc(x / y))

# ----- selection and extrema -----------------------------------------------------
where = primitive(np.where, name="where", broadcasts=True)
register_numpy(np.where, where)
defelementwise(
    where,
    None,
    lambda u, ans, c, x, y: where(c, u, 0),
    lambda u, ans, c, x, y: where(c, 0, u),
)


def _pick(g, wins, ties):  # type: ignore[no-untyped-def]
    """``g`` where this argument was returned, half of it at a tie, 0 elsewhere."""
    return where(wins, g, where(ties, 0.5 * g, 0))


def _extremum(np_fun, winner, skip_nan):  # type: ignore[no-untyped-def]
    """maximum / minimum / fmax / fmin: ``winner(a, b)`` is where ``a`` alone is returned."""
    prim = ufunc(np_fun, broadcasts=True)

    def wins(a, b):  # type: ignore[no-untyped-def]
        w = winner(a, b)
        # fmax/fmin ignore a NaN argument; maximum/minimum propagate it (and so
        # does the gradient of the NaN argument, which is NaN-valued anyway).
        return (w | (isnan(b) & ~isnan(a))) if skip_nan else w

    defelementwise(
        prim,
        lambda u, ans, x, y: _pick(u, wins(x, y), x == y),
        lambda u, ans, x, y: _pick(u, wins(y, x), x == y),
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


defelementwise(
    _clip,
    lambda u, ans, a, lo, hi: _clip_a(u, a, lo, hi),
    lambda u, ans, a, lo, hi: _clip_lo(u, a, lo, hi),
    lambda u, ans, a, lo, hi: _clip_hi(u, a, lo, hi),
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
copysign = ufunc(np.copysign, broadcasts=True)
defelementwise(copysign, lambda u, ans, x1, x2: u * sign(x1) * sign(ans), None)

# ----- complex parts and dtype conversion -----------------------------------


def _as_complex_like(ct, x):  # type: ignore[no-untyped-def]
    """Give a real cotangent of a complex input the input's complex dtype."""
    if is_complex(x) and not is_complex(ct):
        return astype(ct, dtype_of(x))
    return ct


# real and imag are linear over the reals (not holomorphic): declared by their transposes.
real = primitive(np.real, name="real", elementwise=True)
register_numpy(np.real, real)
deflinear(real, lambda g, ans, x: _as_complex_like(g, x))


def _imag_transpose(g, ans, x):  # type: ignore[no-untyped-def]
    # Re(c * v) must equal g * Im(v) for every v: c = -1j * g.
    return -1j * g if is_complex(x) else _zeros_for(x)


imag = primitive(np.imag, name="imag", elementwise=True)
register_numpy(np.imag, imag)
deflinear(imag, _imag_transpose)

conjugate = ufunc(np.conjugate)
conj = conjugate
defelementwise(conjugate, lambda u, ans, x: conjugate(u))


def _np_angle(z: Any, deg: bool = False) -> Any:
    return np.angle(z, deg=deg)


_angle = primitive(_np_angle, name="angle", elementwise=True)


def _abs2(x):  # type: ignore[no-untyped-def]
    return real(x * conj(x))


def _angle_vjp(ans, x, deg=False):  # type: ignore[no-untyped-def]
    # d angle(z) along v = Im(conj(z) v) / |z|^2 = Re(-1j conj(z) v) / |z|^2; 0 at z = 0.
    if not is_complex(x):
        return lambda g: _zeros_for(x)
    scale = _DEG if deg else 1.0
    return lambda g: g * (-1j * scale) * conj(x) / _nonzero(_abs2(x))


def _angle_jvp(t, ans, x, deg=False):  # type: ignore[no-untyped-def]
    if not is_complex(x):
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
        if is_complex(g) and not np.issubdtype(x_dtype, np.complexfloating):
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
defbatch(astype, unary_rule(astype))


# ----- operators and methods of traced arrays ---------------------------------------
def _operator_impl(op: Any, np_ufunc: Any) -> Any:
    """``op(a, b)`` when numpy's own dunder methods will run the ufunc, else ``ufunc(a, b)``.

    With an ndarray or numpy scalar on either side the operator calls the very same
    ufunc (identical results) but numpy scalars take a much shorter path; plain
    Python values keep numpy's semantics through the ufunc itself.
    """
    numpy_types = (np.ndarray, np.float64, np.float32, np.float16, np.complex128, np.complex64)

    def impl(a: Any, b: Any, **kwargs: Any) -> Any:
        if not kwargs and (type(a) in numpy_types or type(b) in numpy_types):
            return op(a, b)
        return np_ufunc(a, b, **kwargs)

    return impl


def _power_impl(a: Any, b: Any, **kwargs: Any) -> Any:
    """np.power, computing ``x ** 2`` of a float array as ``x * x``: bit-identical
    (IEEE pow is exact there) and several times faster than pow()."""
    if not kwargs and type(b) is int and b == 2 and type(a) is np.ndarray and a.dtype.kind == "f":
        return np.multiply(a, a)
    return np.power(a, b, **kwargs)


set_fast_impl(add, _operator_impl(_op.add, np.add))
set_fast_impl(subtract, _operator_impl(_op.sub, np.subtract))
set_fast_impl(multiply, _operator_impl(_op.mul, np.multiply))
set_fast_impl(true_divide, _operator_impl(_op.truediv, np.true_divide))
set_fast_impl(power, _power_impl)

for _name, _fn in (
    ("add", add),
    ("sub", subtract),
    ("mul", multiply),
    ("truediv", true_divide),
    ("floordiv", floor_divide),
    ("mod", mod),
    ("pow", power),
):
    operator(f"__{_name}__", _fn)
    reflected_operator(f"__r{_name}__", _fn)
for _name, _fn in (
    ("__neg__", negative),
    ("__abs__", absolute),
    ("__lt__", less),
    ("__le__", less_equal),
    ("__gt__", greater),
    ("__ge__", greater_equal),
    ("__eq__", equal),
    ("__ne__", not_equal),
):
    operator(_name, _fn)


# Boolean masks stay traced under vmap (one mask per example), so &, |, ^, ~ must work
# on them; integer bit operations are not supported.
def _is_bool(x: Any) -> bool:
    return bool(np.dtype(dtype_of(x)) == np.bool_)


def _logical_operator(logical: Any, name: str) -> Any:
    def op(self: Any, other: Any) -> Any:
        if not (_is_bool(self) and _is_bool(other)):
            raise TypeError(
                f"tapeflow supports the operator for {name} only on boolean traced arrays "
                "(masks); use tnp.logical_and/or/xor/not, or compute integer bit operations "
                "outside the transform"
            )
        return logical(self, other)

    return op


for _ops, _logical, _name in (
    (("__and__", "__rand__"), logical_and, "logical_and"),
    (("__or__", "__ror__"), logical_or, "logical_or"),
    (("__xor__", "__rxor__"), logical_xor, "logical_xor"),
):
    for _op_name in _ops:
        operator(_op_name, _logical_operator(_logical, _name))


def _invert(self: Any) -> Any:
    if not _is_bool(self):
        raise TypeError("~ on a traced array is only supported for boolean masks")
    return logical_not(self)


operator("__invert__", _invert)


# numpy's bit operators on traced masks (``mask | other`` with an ndarray on the left)
# are the logical functions; other dtypes keep failing loudly.
def _mask_function(np_fun: Any, logical: Any) -> Any:
    def op(*args: Any, **kwargs: Any) -> Any:
        for a in args:
            if not _is_bool(a):
                raise unsupported_error(np_fun, " on non-boolean traced arrays")
        return logical(*args, **kwargs)

    return op


for _np_fun, _logical in (
    (np.bitwise_and, logical_and),
    (np.bitwise_or, logical_or),
    (np.bitwise_xor, logical_xor),
    (np.invert, logical_not),
):
    register_numpy(_np_fun, _mask_function(_np_fun, _logical))

method("clip", clip)
method("conj", conj)
method("conjugate", conj)
method("round", round)
method("real", real, prop=True)
method("imag", imag, prop=True)


def _astype_method(self: Any, dtype: Any, copy: bool = True) -> Any:
    return astype(self, dtype)


method("astype", astype, impl=_astype_method)
