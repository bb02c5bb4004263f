"""gammainc, gammaincc, betainc: the regularized incomplete gamma and beta functions,
differentiable in every argument, the shape parameters included.

Each is a derivative family (:mod:`~tapeflow.scipy.special.families`): derivatives of any
order in ``a`` (and ``b``) and ``x``, mixed ones too, computed by the kernels of
:mod:`tapeflow.scipy.kernels.incomplete` (numpy alone, no SciPy). Real arguments only, as
in SciPy. Inside the domain (``a, b > 0``, ``x > 0``, ``x < 1`` for betainc) every
derivative is exact to the kernels' accuracy; on its edges the values are SciPy's and
the derivatives in the parameters are 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np  # noqa: F401  (the docstring examples use np)

from tapeflow.scipy.kernels.incomplete import np_betainc, np_gammainc, np_gammaincc
from tapeflow.scipy.special.families import derivative_family

__all__ = ["gammainc", "gammaincc", "betainc"]

_gammainc = derivative_family(np_gammainc, "scipy.special.gammainc", 2)
_gammaincc = derivative_family(np_gammaincc, "scipy.special.gammaincc", 2)
_betainc = derivative_family(np_betainc, "scipy.special.betainc", 3)


def gammainc(a: Any, x: Any) -> Any:
    """The regularized lower incomplete gamma function ``P(a, x)``, for ``a > 0, x >= 0``:
    ``integral_0^x t^(a-1) e^-t dt / Gamma(a)``, the CDF of the gamma distribution.

    Differentiable in ``x`` (the density) and in the shape ``a``, to any order.

    Example:
        >>> round(float(gammainc(2.0, 1.0)), 12)  # 1 - 2 / e
        0.264241117657
    """
    return _gammainc(a, x)


def gammaincc(a: Any, x: Any) -> Any:
    """The regularized upper incomplete gamma function ``Q(a, x) = 1 - P(a, x)``, computed
    directly (accurate where ``P`` rounds to 1).

    Example:
        >>> round(float(gammaincc(1.0, 50.0)) * 1e22, 12)  # exp(-50), where P(1, 50) is 1
        1.928749847964
    """
    return _gammaincc(a, x)


def betainc(a: Any, b: Any, x: Any) -> Any:
    """The regularized incomplete beta function ``I_x(a, b)``, for ``a, b > 0, 0 <= x <= 1``:
    ``integral_0^x t^(a-1) (1-t)^(b-1) dt / B(a, b)``, the CDF of the beta distribution.

    Differentiable in ``x`` and in both shapes ``a`` and ``b``, to any order.

    Example:
        >>> round(float(betainc(2.0, 3.0, 0.5)), 12)
        0.6875
    """
    return _betainc(a, b, x)
