"""Bessel functions: j0, j1, jn, y0, y1, yn, i0, i0e, i1, i1e, iv, ive (SciPy's kernels).

Values come from SciPy (the ``tapeflow[scipy]`` extra; without it, an ImportError names
it). Derivatives in the argument use the recurrences ``C_v' = (C_{v-1} - C_{v+1}) / 2``
(``J``, ``Y``) and ``I_v' = (I_{v-1} + I_{v+1}) / 2``, written with these primitives, so
they have derivatives of every order. The exponentially scaled ``i0e``, ``i1e``, ``ive``
carry the factor ``exp(-|Re z|)``: their derivative at ``Re z = 0`` is the average of the
one-sided ones, and for complex ``z`` they are not holomorphic (reverse and forward mode
then follow docs/coverage.md's convention). The order ``v`` (``n``) has no derivative:
a traced order raises a TypeError. jn, iv and ive take complex ``z``, as in SciPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np  # noqa: F401  (the docstring examples use np)

from tapeflow.core.primitive import defelementwise, defjvp, defvjp, primitive, vjp_needs
from tapeflow.core.tracer import unwrap
from tapeflow.numpy.elementwise import absolute, real, sign, where
from tapeflow.numpy.meta import dtype_of, is_complex
from tapeflow.scipy.kernels.bessel import bessel_kernel, ive_far_from_zero, np_ive_asymptotic

__all__ = ["j0", "j1", "jn", "y0", "y1", "yn", "i0", "i0e", "i1", "i1e", "iv", "ive"]


def _no_order_derivative(name: str) -> Any:
    def rule(u: Any, ans: Any, *args: Any) -> Any:
        raise TypeError(
            f"scipy.special.{name}: the order (argument 0) has no derivative in tapeflow, but "
            "a traced value was passed there; pass the order as a constant, or wrap it in "
            "tp.stop_gradient"
        )

    return rule


def _declare(name: str, takes_complex: bool = False, broadcasts: bool = False) -> Any:
    fun = primitive(
        bessel_kernel(name, takes_complex),
        name=f"scipy.special.{name}",
        broadcasts=broadcasts,
        elementwise=True,
    )
    return fun


_jv = _declare("jv", takes_complex=True, broadcasts=True)
defelementwise(
    _jv,
    _no_order_derivative("jn"),
    lambda u, ans, v, z: u * 0.5 * (_jv(v - 1, z) - _jv(v + 1, z)),
)
vjp_needs(_jv, ans=False, args=True)

_yv = _declare("yv", broadcasts=True)
defelementwise(
    _yv,
    _no_order_derivative("yv"),
    lambda u, ans, v, x: u * 0.5 * (_yv(v - 1, x) - _yv(v + 1, x)),
)
vjp_needs(_yv, ans=False, args=True)

_yn = _declare("yn", broadcasts=True)
defelementwise(
    _yn,
    _no_order_derivative("yn"),
    lambda u, ans, n, x: u * 0.5 * (_yv(n - 1, x) - _yv(n + 1, x)),
)
vjp_needs(_yn, ans=False, args=True)

_iv = _declare("iv", takes_complex=True, broadcasts=True)
defelementwise(
    _iv,
    _no_order_derivative("iv"),
    lambda u, ans, v, z: u * 0.5 * (_iv(v - 1, z) + _iv(v + 1, z)),
)
vjp_needs(_iv, ans=False, args=True)

_ive = _declare("ive", takes_complex=True, broadcasts=True)

# The n-th derivative of ive for real |x| >= ive_far_from_zero(v), from the asymptotic
# series: the recurrences below subtract nearly equal terms there (for x = 1e8 the second
# derivative of i0e would lose 16 digits, and turn to nan further out).
_ive_far = primitive(
    np_ive_asymptotic, name="scipy.special.ive_asymptotic", broadcasts=True, elementwise=True
)
defelementwise(
    _ive_far,
    _no_order_derivative("ive"),
    lambda u, ans, v, x, n=0: u * _ive_far(v, x, n=n + 1),
)
vjp_needs(_ive_far, ans=False, args=True)


def _real_scaled_slope(v: Any, x: Any, near: Any) -> Any:
    """d/dx of ``exp(-|x|) iv(v, x)`` for real x: ``near(x)`` (the recurrence) for small
    |x|, the asymptotic series beyond; each branch sees only inputs of its own range."""
    start = np.asarray(ive_far_from_zero(unwrap(v)), dtype_of(x))
    far = absolute(x) >= start
    return where(far, _ive_far(v, where(far, x, start), n=1), near(where(far, 1.0, x)))


def _ive_near(v: Any) -> Any:
    return lambda x: 0.5 * (_ive(v - 1, x) + _ive(v + 1, x)) - sign(x) * _ive(v, x)


def _ive_parts(ans: Any, v: Any, z: Any) -> tuple[Any, Any]:
    """ive = iv(v, z) exp(-|Re z|): (the holomorphic part of the slope, the coefficient of
    Re(dz)), so that d ive = a dz + b Re(dz)."""
    return 0.5 * (_ive(v - 1, z) + _ive(v + 1, z)), -sign(real(z)) * ans


def _ive_vjp(ans: Any, v: Any, z: Any) -> Any:
    if not is_complex(z):
        slope = _real_scaled_slope(v, z, _ive_near(v))
        return lambda g: g * slope
    a, b = _ive_parts(ans, v, z)
    # The transpose of t -> a t + b Re(t) is g -> a g + Re(g b).
    return lambda g: a * g + real(g * b)


def _ive_jvp(t: Any, ans: Any, v: Any, z: Any) -> Any:
    if not is_complex(z):
        return _real_scaled_slope(v, z, _ive_near(v)) * t
    a, b = _ive_parts(ans, v, z)
    return a * t + b * real(t)


defvjp(_ive, _no_order_derivative("ive"), _ive_vjp)
defjvp(_ive, _no_order_derivative("ive"), _ive_jvp)

j0 = _declare("j0")
j1 = _declare("j1")
defelementwise(j0, lambda u, ans, x: -u * j1(x))
defelementwise(j1, lambda u, ans, x: u * 0.5 * (j0(x) - _jv(2, x)))
y0 = _declare("y0")
y1 = _declare("y1")
defelementwise(y0, lambda u, ans, x: -u * y1(x))
defelementwise(y1, lambda u, ans, x: u * 0.5 * (y0(x) - _yv(2, x)))
i0 = _declare("i0")
i1 = _declare("i1")
defelementwise(i0, lambda u, ans, x: u * i1(x))
defelementwise(i1, lambda u, ans, x: u * 0.5 * (i0(x) + _iv(2, x)))
i0e = _declare("i0e")
i1e = _declare("i1e")
defelementwise(
    i0e, lambda u, ans, x: u * _real_scaled_slope(0, x, lambda x: i1e(x) - sign(x) * i0e(x))
)
defelementwise(
    i1e,
    lambda u, ans, x: (
        u * _real_scaled_slope(1, x, lambda x: 0.5 * (i0e(x) + _ive(2, x)) - sign(x) * i1e(x))
    ),
)
for _fun in (j0, j1, y0, y1, i0, i1):
    vjp_needs(_fun, ans=False, args=True)

j0.__doc__ = """The Bessel function of the first kind of order 0.

    Example:
        >>> round(float(j0(1.0)), 12)
        0.765197686558
    """
j1.__doc__ = """The Bessel function of the first kind of order 1.

    Example:
        >>> round(float(j1(1.0)), 12)
        0.440050585745
    """
y0.__doc__ = """The Bessel function of the second kind of order 0 (x > 0).

    Example:
        >>> round(float(y0(1.0)), 12)
        0.088256964215
    """
y1.__doc__ = """The Bessel function of the second kind of order 1 (x > 0).

    Example:
        >>> round(float(y1(1.0)), 12)
        -0.781212821300
    """
i0.__doc__ = """The modified Bessel function of the first kind of order 0.

    Example:
        >>> round(float(i0(1.0)), 12)
        1.266065877752
    """
i1.__doc__ = """The modified Bessel function of the first kind of order 1.

    Example:
        >>> round(float(i1(1.0)), 12)
        0.565159103992
    """
i0e.__doc__ = """``exp(-|x|) i0(x)``, finite for large ``|x|``.

    Example:
        >>> round(float(i0e(1000.0)), 12)
        0.012617240455
    """
i1e.__doc__ = """``exp(-|x|) i1(x)``, finite for large ``|x|``.

    Example:
        >>> round(float(i1e(1000.0)), 12)
        0.012610930257
    """


def jn(n: Any, z: Any) -> Any:
    """The Bessel function of the first kind of order ``n`` (any real order, as SciPy's
    jn, which is jv), real or complex ``z``; no derivative in ``n``.

    Example:
        >>> round(float(jn(2, 1.0)), 12)
        0.114903484932
    """
    return _jv(n, z)


def yn(n: Any, x: Any) -> Any:
    """The Bessel function of the second kind of integer order ``n`` (x > 0); no
    derivative in ``n``.

    Example:
        >>> round(float(yn(2, 1.0)), 12)
        -1.650682606816
    """
    return _yn(n, x)


def iv(v: Any, z: Any) -> Any:
    """The modified Bessel function of the first kind of real order ``v``, real or complex
    ``z``; no derivative in ``v``.

    Example:
        >>> round(float(iv(0.5, 1.0)), 12)
        0.937674888245
    """
    return _iv(v, z)


def ive(v: Any, z: Any) -> Any:
    """``iv(v, z) * exp(-|Re z|)``, finite for large ``|Re z|``; no derivative in ``v``.

    Example:
        >>> round(float(ive(1, 1000.0)), 12)
        0.012610930257
    """
    return _ive(v, z)
