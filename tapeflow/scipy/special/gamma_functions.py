"""gamma, gammaln, rgamma, gammasgn, digamma (psi), polygamma, beta, betaln, multigammaln.

Each derivative is written with these functions themselves (``gammaln`` -> ``digamma`` ->
``polygamma(1)`` -> ...), so derivatives of every order work. gamma, rgamma, digamma and
polygamma take complex input (gamma and rgamma's complex values come from SciPy; the
complex polygamma is tapeflow's own, SciPy has none); gammaln, betaln, beta, gammasgn and
multigammaln are real functions, as in SciPy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapeflow.core.primitive import defelementwise, nondifferentiable, primitive, vjp_needs
from tapeflow.core.tracer import is_traced
from tapeflow.numpy.elementwise import cos, sin, where
from tapeflow.numpy.meta import is_complex
from tapeflow.scipy.kernels.gammas import (
    np_beta,
    np_betaln,
    np_gamma,
    np_gammaln,
    np_gammasgn,
    np_polygamma,
    np_psi_gap,
    np_rgamma,
)

__all__ = [
    "gamma",
    "gammaln",
    "rgamma",
    "gammasgn",
    "digamma",
    "psi",
    "polygamma",
    "beta",
    "betaln",
    "multigammaln",
]

_polygamma = primitive(np_polygamma, name="scipy.special.polygamma")
defelementwise(_polygamma, lambda u, ans, x, n=0: u * _polygamma(x, n=n + 1))
vjp_needs(_polygamma, ans=False, args=True)


def polygamma(n: int, x: Any) -> Any:
    """The ``n``-th derivative of :func:`digamma` (``n`` a non-negative int, static).

    Real or complex ``x`` (SciPy's own polygamma is real only).

    Example:
        >>> round(float(polygamma(1, 1.0)), 12)  # pi^2 / 6
        1.644934066848
    """
    if isinstance(n, (bool, np.bool_)) or int(n) != n or n < 0:
        raise ValueError(f"polygamma: n must be a non-negative integer, got {n!r}")
    return _polygamma(x, n=int(n))


def digamma(x: Any) -> Any:
    """The logarithmic derivative of the gamma function, ``d/dx gammaln(x)`` (real or complex).

    Example:
        >>> round(float(digamma(1.0)), 12)  # -Euler's gamma
        -0.577215664902
    """
    return _polygamma(x, n=0)


psi = digamma

gammaln = primitive(np_gammaln, name="scipy.special.gammaln")
defelementwise(gammaln, lambda u, ans, x: u * digamma(x))
vjp_needs(gammaln, ans=False, args=True)
gammaln.__doc__ = """``log(abs(gamma(x)))`` of real ``x``, finite where gamma overflows.

    Example:
        >>> round(float(gammaln(10.0)), 9)  # log(9!)
        12.80182748
    """

gamma = primitive(np_gamma, name="scipy.special.gamma")
defelementwise(gamma, lambda u, ans, x: u * ans * digamma(x))
gamma.__doc__ = """The gamma function (``inf`` past about 171.6; nan at the negative integers).

    Example:
        >>> float(gamma(5.0))
        24.0
    """


def _rgamma_slope(z: Any) -> Any:
    """d/dz 1/Gamma(z). Right of 1/2 it is -psi(z) / Gamma(z); left of it, from the
    reflection 1/Gamma(z) = sin(pi z) Gamma(1 - z) / pi, it is
    Gamma(1 - z) (cos(pi z) - sin(pi z) psi(1 - z) / pi): no pole at 0, -1, -2, ...,
    where the right-hand form would give 0 * inf (each branch sees only its own inputs)."""
    if is_complex(z):  # poles only on the real axis: the direct form
        return -rgamma(z) * digamma(z)
    left = z < 0.5
    zl = where(left, z, 0.0)
    zr = where(left, 1.0, z)
    reflected = gamma(1 - zl) * (cos(math.pi * zl) - sin(math.pi * zl) * digamma(1 - zl) / math.pi)
    return where(left, reflected, -rgamma(zr) * digamma(zr))


rgamma = primitive(np_rgamma, name="scipy.special.rgamma")
defelementwise(rgamma, lambda u, ans, z: u * _rgamma_slope(z))
vjp_needs(rgamma, ans=False, args=True)
rgamma.__doc__ = """``1 / gamma(z)``, an entire function: 0 at the poles of gamma (real or complex).

    Example:
        >>> float(rgamma(4.0)), float(rgamma(-2.0))
        (0.16666666666666666, 0.0)
    """

gammasgn = primitive(np_gammasgn, name="scipy.special.gammasgn", elementwise=True)
nondifferentiable(gammasgn)  # piecewise constant: a plain result, zero gradient
gammasgn.__doc__ = """The sign of the gamma function (+-1; nan at the poles), a plain value.

    Example:
        >>> gammasgn(np.array([-2.5, -1.5, 0.5]))
        array([-1.,  1.,  1.])
    """

# psi^(n)(b) - psi^(n)(a + b), accurate where |a| << b (the slopes of betaln and beta);
# its derivative in b raises n, so every order of betaln's derivatives keeps that accuracy.
_psi_gap = primitive(np_psi_gap, name="scipy.special.psi_gap", broadcasts=True)
defelementwise(
    _psi_gap,
    lambda u, ans, a, b, n=0: -u * _polygamma(a + b, n=n + 1),
    lambda u, ans, a, b, n=0: u * _psi_gap(a, b, n=n + 1),
)
vjp_needs(_psi_gap, ans=False, args=True)

betaln = primitive(np_betaln, name="scipy.special.betaln", broadcasts=True)
defelementwise(
    betaln,
    lambda u, ans, a, b: u * _psi_gap(b, a),  # psi(a) - psi(a + b)
    lambda u, ans, a, b: u * _psi_gap(a, b),  # psi(b) - psi(a + b)
)
vjp_needs(betaln, ans=False, args=True)
betaln.__doc__ = """``log(abs(beta(a, b)))``, without the cancellation of three ``gammaln`` for
    large arguments.

    Example:
        >>> round(float(betaln(2.0, 3.0)), 11)  # log(1/12)
        -2.48490664979
    """

beta = primitive(np_beta, name="scipy.special.beta", broadcasts=True)
defelementwise(
    beta,
    lambda u, ans, a, b: u * ans * _psi_gap(b, a),
    lambda u, ans, a, b: u * ans * _psi_gap(a, b),
)
beta.__doc__ = """The beta function ``gamma(a) gamma(b) / gamma(a + b)`` of real arguments.

    Example:
        >>> float(beta(2.0, 3.0))
        0.08333333333333333
    """


def multigammaln(a: Any, d: int) -> Any:
    """The log of the multivariate gamma function of dimension ``d`` (static int):
    ``d (d-1)/4 log(pi) + sum_j gammaln(a - j/2)`` for ``j < d``; ``a > (d - 1) / 2``.

    Example:
        >>> round(float(multigammaln(3.0, 2)), 12)
        1.550194993958
    """
    if isinstance(d, (bool, np.bool_)) or int(d) != d or d < 1:
        raise ValueError(f"multigammaln: d must be a positive integer, got {d!r}")
    d = int(d)
    if not is_traced(a) and np.any(np.asarray(a) <= 0.5 * (d - 1)):
        raise ValueError(f"multigammaln: every a must be greater than (d - 1) / 2 = {(d - 1) / 2}")
    out = d * (d - 1) / 4 * math.log(math.pi)
    for j in range(d):
        out = out + gammaln(a - 0.5 * j)
    return out
