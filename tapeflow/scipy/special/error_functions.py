"""erf, erfc, erfcx, erfinv, erfcinv, ndtr, log_ndtr, ndtri: the error-function family.

erf, erfc, erfcx, ndtr and log_ndtr take complex input as SciPy does (their values then
come from SciPy's kernels, their derivatives are the complex derivatives); the inverses
are real functions.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np  # noqa: F401  (the docstring examples use np)

from tapeflow.core.primitive import defelementwise, primitive, vjp_needs
from tapeflow.numpy.elementwise import exp, multiply, where
from tapeflow.numpy.meta import is_complex
from tapeflow.scipy.kernels.errors import (
    np_erf,
    np_erfc,
    np_erfcinv,
    np_erfcx_derivative,
    np_erfinv,
    np_log_ndtr,
    np_ndtr_ratio,
    np_ndtri,
)
from tapeflow.scipy.special.families import derivative_family

__all__ = ["erf", "erfc", "erfcx", "erfinv", "erfcinv", "ndtr", "log_ndtr", "ndtri"]

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT2 = math.sqrt(2.0)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_HALF_SQRT_PI = 0.5 * math.sqrt(math.pi)

erf = primitive(np_erf, name="scipy.special.erf")
defelementwise(erf, lambda u, ans, x: u * _TWO_OVER_SQRT_PI * exp(-x * x))
vjp_needs(erf, ans=False, args=True)
erf.__doc__ = """The error function ``2/sqrt(pi) * integral_0^x exp(-t^2) dt`` (real or complex).

    Example:
        >>> round(float(erf(1.0)), 10)
        0.8427007929
    """

erfc = primitive(np_erfc, name="scipy.special.erfc")
defelementwise(erfc, lambda u, ans, x: -u * _TWO_OVER_SQRT_PI * exp(-x * x))
vjp_needs(erfc, ans=False, args=True)
erfc.__doc__ = """``1 - erf(x)``, accurate in the tail where ``erf(x)`` rounds to 1.

    Example:
        >>> float(erfc(10.0))
        2.0884875837625452e-45
    """

# A derivative family: erfcx'(x) = 2 x erfcx(x) - 2 / sqrt(pi) cancels to nothing for
# large x, so each derivative is computed by the kernel (asymptotic series there).
erfcx = derivative_family(np_erfcx_derivative, "scipy.special.erfcx", 1)
erfcx.__doc__ = """The scaled complementary error function ``exp(x^2) erfc(x)``, finite for large x.

    Example:
        >>> round(float(erfcx(30.0)), 15)  # erfc(30) itself underflows to 0
        0.018795888861417
    """

erfinv = primitive(np_erfinv, name="scipy.special.erfinv")
# d erfinv(x) / dx = sqrt(pi) / 2 * exp(erfinv(x)^2)
defelementwise(erfinv, lambda u, ans, x: u * _HALF_SQRT_PI * exp(ans * ans))
vjp_needs(erfinv, ans=True, args=())
erfinv.__doc__ = """The inverse of :func:`erf` on (-1, 1) (+-inf at +-1, nan outside).

    Example:
        >>> round(float(erfinv(0.5)), 12)
        0.476936276204
    """

erfcinv = primitive(np_erfcinv, name="scipy.special.erfcinv")
# d erfcinv(y) / dy = -sqrt(pi) / 2 * exp(erfcinv(y)^2)
defelementwise(erfcinv, lambda u, ans, y: -u * _HALF_SQRT_PI * exp(ans * ans))
vjp_needs(erfcinv, ans=True, args=())
erfcinv.__doc__ = """The inverse of :func:`erfc` on (0, 2), accurate for tiny ``y`` (where ``1 - y``
    would round to 1): +inf at 0, -inf at 2, nan outside.

    Example:
        >>> round(float(erfcinv(1e-100)), 10)
        15.0655747265
    """


def ndtr(x: Any) -> Any:
    """The standard normal CDF ``(1 + erf(x / sqrt 2)) / 2``, accurate in both tails.

    Example:
        >>> float(ndtr(0.0))
        0.5
    """
    return multiply(erfc(multiply(x, -1 / _SQRT2)), 0.5)


# r(x) = phi(x) / Phi(x), the slope of log_ndtr, with r' = -r (x + r). As a primitive of
# its own, r is 0 (not nan) where the pdf underflows (x >= 38), and so are all its
# derivatives: dividing by erfcx, which overflows there, would give inf / inf.
_ndtr_ratio = primitive(np_ndtr_ratio, name="scipy.special.log_ndtr_slope")


def _ndtr_ratio_slope(u: Any, ans: Any, x: Any) -> Any:
    # r' = -r (x + r), where x + r cancels for x << 0 (r ~ -x). There, with t = -x / sqrt 2,
    # r = sqrt(2/pi) / erfcx(t) gives r' = erfcx'(t) / (sqrt(pi) erfcx(t)^2), and erfcx'
    # is accurate (a kernel of its own).
    if is_complex(x):
        return -u * ans * (x + ans)
    lower = x < 0
    t = where(lower, x, -1.0) * (-1.0 / _SQRT2)
    accurate = erfcx(t, orders=(1,)) / (erfcx(t) ** 2) * (1.0 / math.sqrt(math.pi))
    return u * where(lower, accurate, -ans * (x + ans))


defelementwise(_ndtr_ratio, _ndtr_ratio_slope)

log_ndtr = primitive(np_log_ndtr, name="scipy.special.log_ndtr")
defelementwise(log_ndtr, lambda u, ans, x: u * _ndtr_ratio(x))
vjp_needs(log_ndtr, ans=False, args=True)
log_ndtr.__doc__ = """``log(ndtr(x))``, finite far into the lower tail (no underflow to log 0).

    Example:
        >>> round(float(log_ndtr(-40.0)), 6)
        -804.608442
    """

ndtri = primitive(np_ndtri, name="scipy.special.ndtri")
# d ndtri(p) / dp = 1 / phi(ndtri(p)) = sqrt(2 pi) exp(ndtri(p)^2 / 2)
defelementwise(ndtri, lambda u, ans, p: u * _SQRT_2PI * exp(0.5 * ans * ans))
vjp_needs(ndtri, ans=True, args=())
ndtri.__doc__ = """The inverse of :func:`ndtr` (the standard normal quantile function).

    Example:
        >>> round(float(ndtri(0.975)), 9)
        1.959963985
    """
