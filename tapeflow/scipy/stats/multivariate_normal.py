"""The multivariate normal distribution (scipy.stats.multivariate_normal).

Differentiable in ``x``, ``mean`` and ``cov``. As in SciPy, ``x`` has its components
on the last axis, ``mean`` defaults to zeros, and ``cov`` may be a scalar (times the
identity), a vector (a diagonal) or a full matrix. A full ``cov`` goes through its
Cholesky factor, which reads the lower triangle (as SciPy's eigendecomposition does),
so its gradient lives on that triangle; it must be positive definite.
``allow_singular=True`` is not supported. The CDFs integrate numerically by Genz's
method on a fixed lattice, so they are smooth and differentiable (absolute error of the
order of 1e-5, SciPy's default tolerance; exact in one dimension).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapeflow.numpy.creation import eye
from tapeflow.numpy.diagonals import diagonal
from tapeflow.numpy.elementwise import exp, log, sqrt
from tapeflow.numpy.linalg import cholesky, solve
from tapeflow.numpy.meta import dtype_of, shape_of
from tapeflow.numpy.reductions import sum as _sum
from tapeflow.numpy.shape import broadcast_to, expand_dims, reshape, squeeze
from tapeflow.scipy.stats._common import floats, scalar
from tapeflow.scipy.stats._genz import POINTS, box_probability

__all__ = ["logpdf", "pdf", "cdf", "logcdf"]

_LOG_2PI = math.log(2 * math.pi)


def _prepared(x: Any, mean: Any, cov: Any, allow_singular: bool) -> tuple[Any, Any, Any, int]:
    """(x with points on the leading axes, mean, cov, dim), shaped as SciPy reads them."""
    if allow_singular:
        raise NotImplementedError(
            "tapeflow.scipy.stats.multivariate_normal supports allow_singular=False only (a "
            "positive definite cov); regularize a singular cov (cov + eps * I) instead"
        )
    mean_given = mean is not None
    x, mean, cov = floats("multivariate_normal", x, 0 if mean is None else mean, cov)
    dim = mean.size if mean_given else (shape_of(cov)[0] if cov.ndim else 1)
    if mean.ndim > 1 or cov.ndim > 2 or (cov.ndim >= 1 and shape_of(cov)[-1] != dim):
        raise ValueError(
            f"multivariate_normal: mean must be a vector of length d and cov a scalar, a "
            f"length-d vector or a d x d matrix; got mean shape {shape_of(mean)}, cov shape "
            f"{shape_of(cov)}"
        )
    if x.ndim == 0:
        x = reshape(x, (1,))
    elif x.ndim == 1 and dim == 1:
        x = expand_dims(x, -1)
    if shape_of(x)[-1] != dim:
        raise ValueError(f"multivariate_normal: x has {shape_of(x)[-1]} components, not {dim}")
    return x, broadcast_to(mean, (dim,)), cov, dim


def logpdf(x: Any, mean: Any = None, cov: Any = 1, allow_singular: bool = False) -> Any:
    """The log of the multivariate normal density at each point of ``x`` (last axis).

    Example:
        >>> round(float(logpdf([0.0, 0.0], cov=[[1.0, 0.0], [0.0, 1.0]])), 12)  # -log(2 pi)
        -1.837877066409
    """
    x, mean, cov, dim = _prepared(x, mean, cov, allow_singular)
    deviation = x - mean
    if cov.ndim < 2:  # a scalar or a diagonal
        variances = broadcast_to(cov, (dim,))
        log_det = _sum(log(variances))
        mahalanobis = _sum(deviation * deviation / variances, axis=-1)
    else:
        factor = _cholesky(cov, "logpdf")
        log_det = 2 * _sum(log(diagonal(factor)))
        rows = reshape(deviation, (-1, dim))
        whitened = solve(factor, rows.T)
        mahalanobis = reshape(_sum(whitened * whitened, axis=0), shape_of(deviation)[:-1])
    return scalar(squeeze(-0.5 * (dim * _LOG_2PI + log_det + mahalanobis)))


def pdf(x: Any, mean: Any = None, cov: Any = 1, allow_singular: bool = False) -> Any:
    """The multivariate normal density.

    Example:
        >>> round(float(pdf([0.0], cov=4.0)), 12)  # 1 / sqrt(8 pi)
        0.199471140201
    """
    return exp(logpdf(x, mean, cov, allow_singular))


def _cholesky(cov: Any, name: str) -> Any:
    """The Cholesky factor of ``cov``, or an error that says what ``cov`` must be."""
    try:
        return cholesky(cov)
    except np.linalg.LinAlgError as error:
        raise np.linalg.LinAlgError(
            f"multivariate_normal.{name}: cov must be symmetric positive definite "
            "(allow_singular=False is the only mode); regularize it (cov + eps * I)"
        ) from error


def _factor(cov: Any, dim: int) -> Any:
    """The lower triangular Cholesky factor of ``cov`` (a scalar, a diagonal or a matrix)."""
    if cov.ndim < 2:
        return sqrt(broadcast_to(cov, (dim,))) * eye(dim, dtype=dtype_of(cov))
    return _cholesky(cov, "cdf")


def cdf(
    x: Any,
    mean: Any = None,
    cov: Any = 1,
    allow_singular: bool = False,
    maxpts: int | None = None,
    abseps: float = 1e-5,
    releps: float = 1e-5,
    *,
    lower_limit: Any = None,
    rng: Any = None,
) -> Any:
    """The multivariate normal CDF ``P(lower_limit < X <= x)`` at each point of ``x``.

    Genz's separation of variables on a fixed lattice of ``maxpts`` points (default
    ``2**14``; see :mod:`~tapeflow.scipy.stats._genz`): a smooth, deterministic
    function of ``x``, ``mean``, ``cov`` and ``lower_limit``, differentiable in each. Its
    absolute error is of the order of 1e-5 (SciPy's default ``abseps``; far in the lower
    tail raise ``maxpts`` for relative accuracy). ``abseps``, ``releps`` and ``rng`` are
    accepted for SciPy's signature and not used: the points are fixed. One dimension is
    exact.

    Example:
        >>> round(float(cdf([0.0, 0.0], cov=[[1.0, 0.5], [0.5, 1.0]])), 5)  # 1/4 + 1/12
        0.33333
    """
    del abseps, releps, rng  # SciPy's knobs for its random points; these are fixed
    x, mean, cov, dim = _prepared(x, mean, cov, allow_singular)
    shape = shape_of(x)[:-1]
    upper = reshape(x - mean, (-1, dim))
    lower = None
    if lower_limit is not None:
        (limit,) = floats("multivariate_normal.cdf", lower_limit)
        try:
            fits = np.broadcast_shapes(shape_of(limit), shape_of(x)) == shape_of(x)
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(
                f"multivariate_normal.cdf: lower_limit of shape {shape_of(limit)} does not "
                f"broadcast to x's shape {shape_of(x)} (points on the last axis)"
            )
        lower = reshape(broadcast_to(limit - mean, shape_of(x)), (-1, dim))
    points = POINTS if maxpts is None else maxpts
    if points != int(points) or points < 1:
        raise ValueError(
            f"multivariate_normal.cdf: maxpts must be a positive integer, got {maxpts}"
        )
    points = int(points)
    probability = box_probability(upper, lower, _factor(cov, dim), points)
    return scalar(squeeze(reshape(probability, shape)))


def logcdf(
    x: Any,
    mean: Any = None,
    cov: Any = 1,
    allow_singular: bool = False,
    maxpts: int | None = None,
    abseps: float = 1e-5,
    releps: float = 1e-5,
    *,
    lower_limit: Any = None,
    rng: Any = None,
) -> Any:
    """The log of :func:`cdf` (relatively accurate in the lower tail, as the CDF is).

    Example:
        >>> round(float(logcdf([0.0], cov=4.0)), 12)  # log(1/2)
        -0.69314718056
    """
    probability = cdf(
        x, mean, cov, allow_singular, maxpts, abseps, releps, lower_limit=lower_limit, rng=rng
    )
    return log(probability)
