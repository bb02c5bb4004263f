"""Statistics built from the reduction primitives: moments, weighted and
NaN-aware reductions, order statistics.

Everything here is a composition of primitives (``sum``, ``mean``, ``max``,
``min``, ``where``, ``sort``), so it needs no rules of its own and every
derivative order comes for free. Conventions (also in docs/coverage.md):

* ``ptp``, ``nanmax``, ``nanmin`` split the gradient equally among ties.
* NaN entries are skipped by the ``nan*`` functions and get zero gradient.
* ``median``/``quantile``/``percentile`` (``method='linear'``) are
  differentiated through ``sort``: among tied values the gradient goes to the
  entries the sort put in the selected places. ``q`` is a constant.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.core.tracer import Tracer
from tapeflow.numpy.creation import asarray
from tapeflow.numpy.declare import method, no_out, register_numpy
from tapeflow.numpy.dispatch import ufunc_reduce
from tapeflow.numpy.elementwise import astype, conj, real, sqrt
from tapeflow.numpy.elementwise import where as _where
from tapeflow.numpy.meta import (
    as_operand,
    dtype_of,
    is_complex,
    normalize_axis,
    reduced_count,
    shape_of,
)
from tapeflow.numpy.reductions import all as all_
from tapeflow.numpy.reductions import masked, masked_count, sum
from tapeflow.numpy.reductions import max as _max
from tapeflow.numpy.reductions import mean as _mean
from tapeflow.numpy.reductions import min as _min
from tapeflow.numpy.shape import broadcast_to, reshape, transpose
from tapeflow.numpy.sorting import sort

__all__ = [
    "var",
    "std",
    "ptp",
    "average",
    "nansum",
    "nanmean",
    "nanmax",
    "nanmin",
    "median",
    "quantile",
    "percentile",
]


# ----- moments and spreads (composites of the primitives above) -------------
def var(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: float = 0,
    keepdims: bool = False,
    *,
    where: Any = True,
    mean: Any = None,
    correction: Any = None,
) -> Any:
    """Variance over the given axes with ``ddof`` delta degrees of freedom (numpy.var),
    of the entries ``where`` selects.

    Complex input gives the real ``mean(|d|^2)``, as numpy does. ``mean`` is a mean
    computed beforehand (with ``keepdims=True``), used instead of computing it again;
    ``correction`` is the array API's name for ``ddof``.

    Example:
        >>> float(var(np.array([1.0, 2.0, 3.0, 4.0]), ddof=1))
        1.6666666666666667
    """
    no_out(out, "var")
    if correction is not None:
        if ddof != 0:
            raise ValueError("var: give ddof or correction (the same number), not both")
        ddof = correction
    a = asarray(a)  # a list may hold traced values
    if dtype is not None:
        a = astype(a, dtype)
    centre = _mean(a, axis=axis, keepdims=True, where=where) if mean is None else mean
    d = masked(a - centre, where, 0)
    squares = real(d * conj(d)) if is_complex(d) else d * d
    count = masked_count(a, axis, keepdims, where)
    return sum(squares, axis=axis, keepdims=keepdims) / (count - ddof)


def std(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: float = 0,
    keepdims: bool = False,
    *,
    where: Any = True,
    mean: Any = None,
    correction: Any = None,
) -> Any:
    """Standard deviation, the square root of :func:`var` (numpy.std), of the entries
    ``where`` selects (``mean`` and ``correction`` as for :func:`var`).

    Where the variance is 0 (one value, or equal values) the gradient is 0, the
    smallest subgradient (as for ``linalg.norm`` at 0), instead of ``inf * 0 = NaN``.

    Example:
        >>> import tapeflow as tp
        >>> tp.grad(lambda x: std(x))(np.array([3.0]))
        array([0.])
    """
    v = var(
        a,
        axis=axis,
        dtype=dtype,
        out=out,
        ddof=ddof,
        keepdims=keepdims,
        where=where,
        mean=mean,
        correction=correction,
    )
    zero = v == 0  # a comparison: no gradient flows through it
    return sqrt(v + zero) * ~zero


def ptp(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
    """Range ``max - min`` over the given axes (numpy.ptp); ties share the gradient."""
    no_out(out, "ptp")
    return _max(a, axis=axis, keepdims=keepdims) - _min(a, axis=axis, keepdims=keepdims)


def average(
    a: Any, axis: Any = None, weights: Any = None, returned: bool = False, *, keepdims: bool = False
) -> Any:
    """Weighted average over the given axes (numpy.average), differentiable in ``a`` and weights.

    ``weights`` has ``a``'s shape, or is 1-d along a single integer ``axis``.
    With ``returned=True`` also returns the sum of the weights.

    Example:
        >>> float(average(np.array([1.0, 3.0]), weights=np.array([3.0, 1.0])))
        1.5
    """
    a = as_operand(a)  # a list may hold traced values
    shape = shape_of(a)
    if weights is None:
        avg = _mean(a, axis=axis, keepdims=keepdims)
        total = np.asarray(reduced_count(a, axis), dtype_of(avg))
    else:
        weights = as_operand(weights)
        w_shape = shape_of(weights)
        if w_shape != shape:
            if axis is None or not isinstance(axis, (int, np.integer)) or len(w_shape) != 1:
                raise TypeError(
                    f"average: weights of shape {w_shape} differ from a's shape {shape}; pass "
                    "an integer axis with 1-d weights, or weights of a's shape"
                )
            ax = int(axis) % len(shape)
            if w_shape[0] != shape[ax]:
                raise ValueError(f"average: weights length {w_shape[0]} != a.shape[{ax}]")
            weights = reshape(weights, tuple(n if i == ax else 1 for i, n in enumerate(shape)))
        weights = broadcast_to(weights, shape)
        total = sum(weights, axis=axis, keepdims=keepdims)
        avg = sum(a * weights, axis=axis, keepdims=keepdims) / total
    if returned:
        if shape_of(total) != shape_of(avg):
            total = broadcast_to(total, shape_of(avg))
        return avg, total
    return avg


# ----- NaN-aware reductions: NaN entries are skipped and get zero gradient --
def _nan_mask(a: Any) -> Any:
    """Boolean array, True at NaN (NaN is the only value unequal to itself).

    Written with tapeflow operations only (no ``np.asarray``), so ``tp.jit``
    records it instead of baking in the NaN positions of the first call.
    """
    a = as_operand(a)
    return a != a


def nansum(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    initial: Any = None,
    where: Any = True,
) -> Any:
    """Sum treating NaN as zero (numpy.nansum); NaN entries get zero gradient."""
    no_out(out, "nansum")
    a = as_operand(a)
    a = _where(_nan_mask(a), 0, a)
    return sum(a, axis=axis, dtype=dtype, keepdims=keepdims, initial=initial, where=where)


def nanmean(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    *,
    where: Any = True,
) -> Any:
    """Mean of the non-NaN entries (numpy.nanmean); NaN entries get zero gradient."""
    total = nansum(a, axis=axis, dtype=dtype, out=out, keepdims=keepdims, where=where)
    dt = dtype_of(total)
    present = _where(_nan_mask(a), np.zeros((), dt), np.ones((), dt))
    return total / sum(present, axis=axis, keepdims=keepdims, where=where)


def _nan_extremum(
    a: Any, axis: Any, keepdims: bool, fill: float, reduce: Any, initial: Any, where: Any
) -> Any:
    a = as_operand(a)
    mask = _nan_mask(a)
    best = reduce(_where(mask, fill, a), axis=axis, keepdims=keepdims, initial=initial, where=where)
    if initial is not None:  # numpy: the initial value wins over an all-NaN slice
        return best
    # numpy gives NaN for an all-NaN slice; no Python `if` on values (jit-safe).
    return _where(all_(mask, axis=axis, keepdims=keepdims), np.nan, best)


def nanmax(
    a: Any,
    axis: Any = None,
    out: Any = None,
    keepdims: bool = False,
    initial: Any = None,
    where: Any = True,
) -> Any:
    """Maximum ignoring NaN (numpy.nanmax; an all-NaN slice gives NaN); ties share the gradient."""
    no_out(out, "nanmax")
    return _nan_extremum(a, axis, keepdims, -np.inf, _max, initial, where)


def nanmin(
    a: Any,
    axis: Any = None,
    out: Any = None,
    keepdims: bool = False,
    initial: Any = None,
    where: Any = True,
) -> Any:
    """Minimum ignoring NaN (numpy.nanmin; an all-NaN slice gives NaN); ties share the gradient."""
    no_out(out, "nanmin")
    return _nan_extremum(a, axis, keepdims, np.inf, _min, initial, where)


# ----- order statistics: differentiated through the sort permutation -------
def quantile(
    a: Any,
    q: Any,
    axis: Any = None,
    out: Any = None,
    overwrite_input: bool = False,
    method: str = "linear",
    keepdims: bool = False,
) -> Any:
    """The ``q``-th quantiles (0 <= q <= 1) over the given axes, numpy's ``method='linear'``.

    Differentiable in ``a`` (through :func:`tapeflow.numpy.sort`); ``q`` is a
    constant. The result has shape ``q.shape`` followed by the reduced shape.

    Example:
        >>> float(quantile(np.array([1.0, 2.0, 4.0]), 0.75))
        3.0
    """
    no_out(out, "quantile")
    if method != "linear":
        raise NotImplementedError(
            f"tapeflow.numpy.quantile supports method='linear' only, got method={method!r}"
        )
    if type(q) is Tracer:
        raise TypeError("quantile/percentile: q must be a constant, not a traced value")
    q = np.asarray(q)
    if np.any((q < 0) | (q > 1)):
        raise ValueError("Quantiles must be in the range [0, 1]")
    shape = shape_of(a)
    axes = normalize_axis(axis, len(shape))
    kept = [i for i in range(len(shape)) if i not in axes]
    # Reduced axes first, flattened into one: sorting along axis 0 then picks rows.
    rows = reshape(transpose(a, axes + tuple(kept)), (-1,) + tuple(shape[i] for i in kept))
    n = shape_of(rows)[0]
    ordered = sort(rows, axis=0)
    pos = q * (n - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, n - 1)
    frac = np.asarray(pos - lo, dtype_of(ordered)).reshape(q.shape + (1,) * len(kept))
    low, high = ordered[lo], ordered[hi]
    result = low + (high - low) * frac
    if keepdims:
        full = tuple(1 if i in axes else n_ for i, n_ in enumerate(shape))
        result = reshape(result, q.shape + full)
    return result


def percentile(
    a: Any,
    q: Any,
    axis: Any = None,
    out: Any = None,
    overwrite_input: bool = False,
    method: str = "linear",
    keepdims: bool = False,
) -> Any:
    """The ``q``-th percentiles (0 <= q <= 100); see :func:`quantile`."""
    return quantile(a, np.asarray(q) / 100, axis=axis, out=out, method=method, keepdims=keepdims)


def median(
    a: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False, keepdims: bool = False
) -> Any:
    """Median over the given axes (numpy.median), differentiable through the sort.

    Example:
        >>> float(median(np.array([3.0, 1.0, 2.0, 10.0])))
        2.5
    """
    return quantile(a, 0.5, axis=axis, out=out, keepdims=keepdims)


for _np_fun, _impl in (
    (np.var, var),
    (np.std, std),
    (np.ptp, ptp),
    (np.average, average),
    (np.nansum, nansum),
    (np.nanmean, nanmean),
    (np.nanmax, nanmax),
    (np.nanmin, nanmin),
    (np.median, median),
    (np.quantile, quantile),
    (np.percentile, percentile),
):
    register_numpy(_np_fun, _impl)
ufunc_reduce(np.fmax, nanmax, np.fmax)
ufunc_reduce(np.fmin, nanmin, np.fmin)
for _name, _fn in (("var", var), ("std", std), ("ptp", ptp)):
    method(_name, _fn)
