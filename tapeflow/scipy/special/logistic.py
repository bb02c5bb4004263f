"""softmax, log_softmax, expit, logit, log_expit: the logistic family, differentiable."""

from __future__ import annotations

from typing import Any

import numpy as np  # noqa: F401  (the docstring examples use np)

from tapeflow.batching import axis_rule
from tapeflow.core.primitive import defbatch, defelementwise, defjvp, defvjp, primitive
from tapeflow.numpy.elementwise import exp
from tapeflow.numpy.reductions import sum as _sum
from tapeflow.scipy.kernels.elementary import (
    np_expit,
    np_log_expit,
    np_log_softmax,
    np_logit,
    np_softmax,
)

__all__ = ["softmax", "log_softmax", "expit", "logit", "log_expit"]

_softmax = primitive(np_softmax, name="scipy.special.softmax")


def _softmax_back(ans, g, axis):  # type: ignore[no-untyped-def]
    return ans * (g - _sum(g * ans, axis=axis, keepdims=True))


# The Jacobian is symmetric, so one function serves both modes (softmax is not elementwise).
defvjp(_softmax, lambda ans, x, axis=None: lambda g: _softmax_back(ans, g, axis))
defjvp(_softmax, lambda t, ans, x, axis=None: _softmax_back(ans, t, axis))
defbatch(_softmax, axis_rule(_softmax, "all"))


def softmax(x: Any, axis: Any = None) -> Any:
    """``exp(x) / sum(exp(x))`` along ``axis`` (scipy.special.softmax), overflow-free.

    As in SciPy, ``axis=None`` normalizes over the whole array; pass ``axis=-1``
    for row-wise class probabilities. Complex input is accepted, as in SciPy.

    Example:
        >>> softmax(np.array([0.0, np.log(3.0)]))
        array([0.25, 0.75])
    """
    return _softmax(x, axis=axis)


_log_softmax = primitive(np_log_softmax, name="scipy.special.log_softmax")
defvjp(
    _log_softmax,
    lambda ans, x, axis=None: lambda g: g - exp(ans) * _sum(g, axis=axis, keepdims=True),
)
defjvp(
    _log_softmax,
    lambda t, ans, x, axis=None: t - _sum(exp(ans) * t, axis=axis, keepdims=True),
)
defbatch(_log_softmax, axis_rule(_log_softmax, "all"))


def log_softmax(x: Any, axis: Any = None) -> Any:
    """``x - logsumexp(x)`` along ``axis`` (scipy.special.log_softmax), one stable primitive.

    As in SciPy, ``axis=None`` normalizes over the whole array. ``-inf`` entries
    stay ``-inf``; finite entries stay finite however large the logits.

    Example:
        >>> log_softmax(np.array([0.0, 1e4]))
        array([-10000.,      0.])
    """
    return _log_softmax(x, axis=axis)


expit = primitive(np_expit, name="scipy.special.expit")
# sigma'(x) = sigma(x) sigma(-x); sigma(-x) rather than 1 - sigma(x) keeps the
# tiny slope accurate for large x instead of rounding it to 0.
defelementwise(expit, lambda u, ans, x: u * ans * expit(-x))
expit.__doc__ = """The logistic sigmoid ``1 / (1 + exp(-x))``, without overflow for any ``x``.

    Example:
        >>> expit(np.array([-1000.0, 0.0, 1000.0]))
        array([0. , 0.5, 1. ])
    """

logit = primitive(np_logit, name="scipy.special.logit")
defelementwise(logit, lambda u, ans, p: u / (p * (1 - p)))
logit.__doc__ = """``log(p / (1 - p))``, the inverse of :func:`expit` (-inf at 0, inf at 1).

    Example:
        >>> float(logit(0.5))
        0.0
    """


log_expit = primitive(np_log_expit, name="scipy.special.log_expit")
# d/dx log(expit(x)) = expit(-x), whose own derivative -expit(-x) expit(x) stays accurate
# in both tails (a logaddexp rule would give 1 - 1 = 0 for the curvature at x << 0).
defelementwise(log_expit, lambda u, ans, x: u * expit(-x))
log_expit.__doc__ = """``log(expit(x)) = -log(1 + exp(-x))``, stable for any ``x`` (real input).

    Example:
        >>> float(log_expit(-1000.0))
        -1000.0
    """
