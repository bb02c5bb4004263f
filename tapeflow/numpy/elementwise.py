"""Elementwise functions and their derivative rules.

Each primitive is followed by its VJP rule(s) and JVP rule(s). Binary
primitives are declared with ``broadcasts=True``: their rules ignore
broadcasting and the traces fit cotangents/tangents to the right shapes.

Conventions at kinks (documented in docs/coverage.md): ``abs`` has derivative
0 at 0; ``maximum``/``minimum`` split the gradient equally between tied
arguments.
"""

from __future__ import annotations

import numpy as np

from tapeflow.primitive import defjvp, defvjp, nondifferentiable, primitive, register_numpy

__all__ = [
    "add",
    "subtract",
    "multiply",
    "divide",
    "true_divide",
    "negative",
    "power",
    "exp",
    "log",
    "sin",
    "cos",
    "tanh",
    "sqrt",
    "square",
    "absolute",
    "abs",
    "floor_divide",
    "mod",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "equal",
    "not_equal",
    "real",
    "astype",
]


def _ufunc(np_fun: np.ufunc, broadcasts: bool = False):  # type: ignore[no-untyped-def]
    """Declare a primitive for a numpy ufunc and route ``np.<ufunc>`` on tracers to it."""
    prim = primitive(np_fun, name=np_fun.__name__, broadcasts=broadcasts)
    register_numpy(np_fun, prim)
    return prim


# ----- arithmetic -------------------------------------------------------------
add = _ufunc(np.add, broadcasts=True)
defvjp(add, lambda ans, x, y: lambda g: g, lambda ans, x, y: lambda g: g)
defjvp(add, lambda t, ans, x, y: t, lambda t, ans, x, y: t)

subtract = _ufunc(np.subtract, broadcasts=True)
defvjp(subtract, lambda ans, x, y: lambda g: g, lambda ans, x, y: lambda g: -g)
defjvp(subtract, lambda t, ans, x, y: t, lambda t, ans, x, y: -t)

multiply = _ufunc(np.multiply, broadcasts=True)
defvjp(multiply, lambda ans, x, y: lambda g: g * y, lambda ans, x, y: lambda g: g * x)
defjvp(multiply, lambda t, ans, x, y: t * y, lambda t, ans, x, y: x * t)

true_divide = _ufunc(np.true_divide, broadcasts=True)
divide = true_divide
defvjp(
    true_divide,
    lambda ans, x, y: lambda g: g / y,
    lambda ans, x, y: lambda g: -g * ans / y,
)
defjvp(true_divide, lambda t, ans, x, y: t / y, lambda t, ans, x, y: -t * ans / y)

negative = _ufunc(np.negative)
defvjp(negative, lambda ans, x: lambda g: -g)
defjvp(negative, lambda t, ans, x: -t)


def _power_vjp_base(ans, x, y):  # type: ignore[no-untyped-def]
    # d/dx x**y = y * x**(y-1); written without dividing by x so x = 0 works.
    return lambda g: g * y * power(x, where(y == 0, 1, y - 1))


def _log_or_zero(x):  # type: ignore[no-untyped-def]
    # d/dy x**y = log(x) * x**y; where x == 0 the product is 0 (for y > 0), not nan.
    safe = where(x == 0, 1, x)
    return log(safe)


power = _ufunc(np.power, broadcasts=True)
defvjp(power, _power_vjp_base, lambda ans, x, y: lambda g: g * ans * _log_or_zero(x))
defjvp(
    power,
    lambda t, ans, x, y: t * y * power(x, where(y == 0, 1, y - 1)),
    lambda t, ans, x, y: t * ans * _log_or_zero(x),
)

square = _ufunc(np.square)
defvjp(square, lambda ans, x: lambda g: g * 2 * x)
defjvp(square, lambda t, ans, x: t * 2 * x)

sqrt = _ufunc(np.sqrt)
defvjp(sqrt, lambda ans, x: lambda g: g * 0.5 / ans)
defjvp(sqrt, lambda t, ans, x: t * 0.5 / ans)

absolute = _ufunc(np.absolute)
abs = absolute  # noqa: A001 - numpy's name
defvjp(absolute, lambda ans, x: lambda g: g * sign(x))
defjvp(absolute, lambda t, ans, x: t * sign(x))

# ----- exponentials and trigonometry -----------------------------------------
exp = _ufunc(np.exp)
defvjp(exp, lambda ans, x: lambda g: g * ans)
defjvp(exp, lambda t, ans, x: t * ans)

log = _ufunc(np.log)
defvjp(log, lambda ans, x: lambda g: g / x)
defjvp(log, lambda t, ans, x: t / x)

sin = _ufunc(np.sin)
defvjp(sin, lambda ans, x: lambda g: g * cos(x))
defjvp(sin, lambda t, ans, x: t * cos(x))

cos = _ufunc(np.cos)
defvjp(cos, lambda ans, x: lambda g: -g * sin(x))
defjvp(cos, lambda t, ans, x: -t * sin(x))

tanh = _ufunc(np.tanh)
defvjp(tanh, lambda ans, x: lambda g: g * (1 - ans * ans))
defjvp(tanh, lambda t, ans, x: t * (1 - ans * ans))

# ----- piecewise constant: no gradient ---------------------------------------
sign = _ufunc(np.sign)
nondifferentiable(sign)
floor_divide = _ufunc(np.floor_divide)
nondifferentiable(floor_divide)

mod = _ufunc(np.mod, broadcasts=True)
defvjp(mod, lambda ans, x, y: lambda g: g, lambda ans, x, y: lambda g: -g * floor_divide(x, y))
defjvp(mod, lambda t, ans, x, y: t, lambda t, ans, x, y: -t * floor_divide(x, y))

less = _ufunc(np.less)
less_equal = _ufunc(np.less_equal)
greater = _ufunc(np.greater)
greater_equal = _ufunc(np.greater_equal)
equal = _ufunc(np.equal)
not_equal = _ufunc(np.not_equal)
for _cmp in (less, less_equal, greater, greater_equal, equal, not_equal):
    nondifferentiable(_cmp)

# ----- selection --------------------------------------------------------------
where = primitive(np.where, name="where", broadcasts=True)
register_numpy(np.where, where)
defvjp(
    where,
    None,
    lambda ans, c, x, y: lambda g: where(c, g, 0),
    lambda ans, c, x, y: lambda g: where(c, 0, g),
)
defjvp(where, None, lambda t, ans, c, x, y: where(c, t, 0), lambda t, ans, c, x, y: where(c, 0, t))
__all__ += ["where", "sign"]

# ----- complex parts and dtype conversion -----------------------------------
real = _ufunc(np.real) if isinstance(np.real, np.ufunc) else primitive(np.real, name="real")
register_numpy(np.real, real)
defvjp(real, lambda ans, x: lambda g: g)
defjvp(real, lambda t, ans, x: real(t))


def _astype(x, dtype):  # type: ignore[no-untyped-def]
    return np.asarray(x).astype(dtype)


astype = primitive(_astype, name="astype")


def _dtype(x):  # type: ignore[no-untyped-def]
    return x.dtype if hasattr(x, "dtype") else np.result_type(x)


defvjp(astype, lambda ans, x, dtype: lambda g: astype(g, _dtype(x)), None)
defjvp(astype, lambda t, ans, x, dtype: astype(t, dtype), None)
