"""The Dirichlet distribution (scipy.stats.dirichlet) with concentrations ``alpha``.

Differentiable in ``x`` and ``alpha``. As in SciPy, the components run along the
first axis of ``x`` (shape ``(K,)`` or ``(K, N)`` for ``N`` points), ``alpha`` has shape
``(K,)``, and ``x`` may leave out its last component (``K - 1`` entries), which is
then ``1 - sum``. SciPy's checks on the values (``alpha > 0``, ``x`` on the simplex)
run whenever the values are known (plain arrays, ``grad``, ``jvp``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.numpy.elementwise import absolute, exp
from tapeflow.numpy.joining import concatenate
from tapeflow.numpy.reductions import sum as _sum
from tapeflow.numpy.shape import reshape, squeeze
from tapeflow.scipy.special import gammaln, xlogy
from tapeflow.scipy.stats._common import floats, refuse, scalar

__all__ = ["logpdf", "pdf"]


def _checked_input(name: str, x: Any, alpha: Any) -> tuple[Any, Any]:
    x, alpha = floats(f"dirichlet.{name}", x, alpha)
    refuse(alpha <= 0, "All parameters must be greater than 0")
    if alpha.ndim != 1:
        raise ValueError(
            f"Parameter vector 'a' must be one dimensional, but a.shape = {alpha.shape}."
        )
    k = alpha.shape[0]
    if x.ndim == 0 or x.shape[0] not in (k - 1, k):
        raise ValueError(
            "Vector 'x' must have either the same number of entries as, or one entry fewer "
            f"than, parameter vector 'a', but alpha.shape = {alpha.shape} and x.shape = {x.shape}."
        )
    if x.shape[0] == k - 1:
        rest = 1 - _sum(x, axis=0, keepdims=True)
        x = concatenate([x, rest], axis=0)
    alpha = reshape(alpha, (k,) + (1,) * (x.ndim - 1))
    refuse(x < 0, "Each entry in 'x' must be greater than or equal to zero.")
    refuse(x > 1, "Each entry in 'x' must be smaller or equal one.")
    refuse(
        (x == 0) & (alpha < 1),
        "Each entry in 'x' must be greater than zero if its alpha is less than one.",
    )
    # SciPy's tolerance, widened to float32's rounding (its sums miss 1 by about 1e-7).
    tolerance = max(1e-9, 16 * float(np.finfo(x.dtype).eps))
    refuse(
        absolute(_sum(x, axis=0) - 1) > tolerance,
        "The input vector 'x' must lie within the normal simplex (its entries sum to 1).",
    )
    return x, alpha


def logpdf(x: Any, alpha: Any) -> Any:
    """The log of the Dirichlet density ``prod x_i^(alpha_i - 1) / B(alpha)``.

    Example:
        >>> round(float(logpdf([0.2, 0.3, 0.5], [1.0, 2.0, 3.0])), 12)
        1.504077396776
    """
    x, alpha = _checked_input("logpdf", x, alpha)
    log_beta = _sum(gammaln(alpha)) - gammaln(_sum(alpha))
    return scalar(squeeze(_sum(xlogy(alpha - 1, x), axis=0) - log_beta))


def pdf(x: Any, alpha: Any) -> Any:
    """The Dirichlet density.

    Example:
        >>> round(float(pdf([0.5, 0.5], [1.0, 1.0])), 12)
        1.0
    """
    return exp(logpdf(x, alpha))
