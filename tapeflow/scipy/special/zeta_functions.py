"""zeta (Riemann and Hurwitz) and spence (the dilogarithm).

zeta is a derivative family (:mod:`~tapeflow.scipy.special.families`): differentiable in
``x`` (by the kernels' jets) and in ``q``, to any order. The one-argument (Riemann) zeta
takes complex ``x``, as SciPy does. spence's derivative is ``log(z) / (1 - z)``, written
with a series near ``z = 1`` so that every order is finite there.
"""

from __future__ import annotations

from typing import Any

import numpy as np  # noqa: F401  (the docstring examples use np)

from tapeflow.core.primitive import defelementwise, primitive, vjp_needs
from tapeflow.numpy.elementwise import absolute, log, where
from tapeflow.scipy.kernels.zetas import np_hurwitz_zeta, np_riemann_zeta, np_spence
from tapeflow.scipy.special.families import derivative_family

__all__ = ["zeta", "spence"]

_riemann = derivative_family(np_riemann_zeta, "scipy.special.riemann_zeta", 1)
_hurwitz = derivative_family(np_hurwitz_zeta, "scipy.special.zeta", 2)


def zeta(x: Any, q: Any = None) -> Any:
    """The Hurwitz zeta function ``sum_n (n + q)^-x`` (``x > 1``, ``q > 0``), or with
    ``q=None`` the Riemann zeta function (any real or complex ``x``).

    Example:
        >>> round(float(zeta(2.0)), 12)  # pi^2 / 6
        1.644934066848
    """
    if q is None:
        return _riemann(x)
    return _hurwitz(x, q)


def _spence_slope(z: Any) -> Any:
    """log(z) / (1 - z), and -log1p(w) / w's Taylor series in w = z - 1 where |w| < 0.01
    (each branch sees only its own inputs, so neither's derivatives divide by 0). Away
    from 1 the logarithm is of z itself: z - 1 would lose tiny z's digits."""
    w = z - 1.0
    near = absolute(w) < 0.01
    wn = where(near, w, 0.0)
    zf = where(near, 2.0, z)
    series = 0.0
    for k in range(10, 0, -1):
        series = series * (-wn) + 1.0 / k
    return where(near, -series, log(zf) / (1.0 - zf))


spence = primitive(np_spence, name="scipy.special.spence")
# d/dz Li2(1 - z) = log(z) / (1 - z).
defelementwise(spence, lambda u, ans, z: u * _spence_slope(z))
vjp_needs(spence, ans=False, args=True)
spence.__doc__ = """The dilogarithm ``integral_1^z log(t) / (1 - t) dt = Li2(1 - z)`` (SciPy's
    spence), for real ``z >= 0`` or complex ``z``.

    Example:
        >>> round(float(spence(2.0)), 12)  # -pi^2 / 12
        -0.822467033424
    """
