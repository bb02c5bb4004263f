"""Reductions (sum, mean, max, ...) and their derivative rules.

Every reduction takes ``axis`` (None, an int or a tuple) and ``keepdims`` as
keyword arguments. The VJP of a reduction puts the reduced axes back into the
cotangent (``restore_reduced``) and broadcasts it to the input's shape.

Conventions (also in docs/coverage.md):

* ``max``/``min`` split the gradient equally among tied entries (so do
  ``ptp``, ``nanmax`` and ``nanmin`` in statistics.py, built on them).
* ``prod`` and ``cumprod`` never divide by ``x``: their rules use products of
  the *other* entries (exclusive cumulative products) and a linear recurrence
  (``linear_scan``), so zeros, even several in one slice, get exact first and
  higher derivatives.
* ``all``, ``any``, ``argmax``, ``argmin`` and ``count_nonzero`` return plain
  values (no gradient).
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from tapeflow.numpy._cotangent import dtype_of, shape_of
from tapeflow.primitive import (
    defjvp,
    defvjp,
    defvjp_direct,
    nondifferentiable,
    primitive,
    register_numpy,
    vjp_needs,
)

__all__ = [
    "sum",
    "mean",
    "max",
    "min",
    "amax",
    "amin",
    "prod",
    "cumsum",
    "cumprod",
    "all",
    "any",
    "argmax",
    "argmin",
    "count_nonzero",
    "restore_reduced",
    "normalize_axis",
]


def normalize_axis(axis: Any, ndim: int) -> tuple[int, ...]:
    """Reduction axes as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    out = []
    for a in axis:
        if not -ndim <= a < builtins.max(ndim, 1):
            raise np.exceptions.AxisError(int(a), ndim)
        out.append(int(a) % builtins.max(ndim, 1))
    return tuple(sorted(out))


def restore_reduced(g: Any, shape: tuple[int, ...], axis: Any, keepdims: bool) -> Any:
    """Reshape a reduction's cotangent so it broadcasts against the input shape."""
    from tapeflow.numpy.shape import reshape

    if keepdims or not shape:
        return g
    axes = normalize_axis(axis, len(shape))
    kept = tuple(1 if i in axes else n for i, n in enumerate(shape))
    return reshape(g, kept)


def _spread(g: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    from tapeflow.numpy.shape import broadcast_to

    shape = shape_of(x)
    return broadcast_to(restore_reduced(g, shape, axis, keepdims), shape)


def _count(x: Any, axis: Any) -> int:
    shape = shape_of(x)
    return int(np.prod([shape[a] for a in normalize_axis(axis, len(shape))]))


def _with_dtype(a: Any, dtype: Any) -> Any:
    """numpy's ``dtype=`` argument of reductions: cast the input first (a traced cast)."""
    if dtype is None:
        return a
    from tapeflow.numpy.elementwise import astype

    return astype(a, dtype)


# ----- sum and mean -----------------------------------------------------------
def _np_sum(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.sum(x, axis=axis, keepdims=keepdims)


_sum = primitive(_np_sum, name="sum")
defvjp_direct(_sum, lambda g, ans, x, axis=None, keepdims=False: _spread(g, x, axis, keepdims))
defjvp(_sum, lambda t, ans, x, axis=None, keepdims=False: _sum(t, axis=axis, keepdims=keepdims))
vjp_needs(_sum, ans=False, args=())


def sum(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """Sum of array elements over the given axes (numpy.sum)."""
    a = _with_dtype(a, dtype)
    return _sum(a, axis=axis, keepdims=keepdims)


def _np_mean(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.mean(x, axis=axis, keepdims=keepdims)


_mean = primitive(_np_mean, name="mean")
defvjp_direct(
    _mean,
    lambda g, ans, x, axis=None, keepdims=False: _spread(g, x, axis, keepdims) / _count(x, axis),
)
defjvp(_mean, lambda t, ans, x, axis=None, keepdims=False: _mean(t, axis=axis, keepdims=keepdims))


def mean(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Any:
    """Arithmetic mean over the given axes (numpy.mean)."""
    a = _with_dtype(a, dtype)
    return _mean(a, axis=axis, keepdims=keepdims)


# ----- max and min: ties share the gradient equally -------------------------
def _tie_weights(ans: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """1/k on each of the k entries equal to the extremum, 0 elsewhere."""
    from tapeflow.numpy.elementwise import astype, equal

    hit = astype(equal(x, restore_reduced(ans, shape_of(x), axis, keepdims)), dtype_of(x))
    return hit / _sum(hit, axis=axis, keepdims=True)


def _extremum_vjp(ans: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return lambda g: _spread(g, x, axis, keepdims) * _tie_weights(ans, x, axis, keepdims)


def _extremum_jvp(t: Any, ans: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return _sum(t * _tie_weights(ans, x, axis, keepdims), axis=axis, keepdims=keepdims)


def _np_max(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.max(x, axis=axis, keepdims=keepdims)


def _np_min(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.min(x, axis=axis, keepdims=keepdims)


_max = primitive(_np_max, name="max")
defvjp(_max, _extremum_vjp)
defjvp(_max, _extremum_jvp)
_min = primitive(_np_min, name="min")
defvjp(_min, _extremum_vjp)
defjvp(_min, _extremum_jvp)


def max(a: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """Maximum over the given axes; tied maxima share the gradient equally."""
    return _max(a, axis=axis, keepdims=keepdims)


def min(a: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """Minimum over the given axes; tied minima share the gradient equally."""
    return _min(a, axis=axis, keepdims=keepdims)


amax = max
amin = min


def _no_out(out: Any, name: str) -> None:
    if out is not None:
        raise TypeError(
            f"tapeflow.numpy.{name}(..., out=...) would write into an array in place; "
            "assign the result instead (y = np.{name}(x))"
        )


# ----- shifts and a first-order linear recurrence ---------------------------
def _shift(x: Any, axis: int, fill: Any, forward: bool = True) -> Any:
    """Move entries one step along ``axis`` (towards higher indices when
    ``forward``), dropping the last (first) one and filling the gap with ``fill``."""
    from tapeflow.numpy.shape import concatenate

    shape = shape_of(x)
    ax = axis % len(shape)
    n = shape[ax]
    if n == 0:
        return x
    edge = np.full(shape[:ax] + (1,) + shape[ax + 1 :], fill, dtype_of(x))
    body = x[(slice(None),) * ax + ((slice(0, n - 1) if forward else slice(1, n)),)]
    return concatenate((edge, body) if forward else (body, edge), axis=ax)


def _np_linear_scan(a: Any, b: Any, axis: int = 0) -> Any:
    # Step k is the affine map h -> a[k] h + b[k]; composing maps is associative, so a
    # doubling (Hillis-Steele) scan needs log2(n) vectorized steps instead of an n-step
    # Python loop: after the step with offset d, (A[k], B[k]) is the composition of
    # maps k-2d+1..k. No division anywhere.
    dtype = np.result_type(a, b)
    A = np.moveaxis(np.array(a, dtype=dtype, copy=True), axis, 0)
    B = np.moveaxis(np.array(b, dtype=dtype, copy=True), axis, 0)
    d = 1
    while d < B.shape[0]:
        B[d:] = B[d:] + A[d:] * B[:-d]
        A[d:] = A[d:] * A[:-d]
        d *= 2
    return np.moveaxis(B, 0, axis)


linear_scan = primitive(_np_linear_scan, name="linear_scan")
linear_scan.__doc__ = """The recurrence ``h[k] = a[k] * h[k-1] + b[k]`` along ``axis`` (h[-1] = 0).

    ``a`` and ``b`` have the same shape. This is the transpose of itself run
    backwards, which makes it the division-free building block of the
    ``cumprod`` and ``prod`` rules.

    Example:
        >>> linear_scan(np.array([0.0, 2.0, 3.0]), np.array([1.0, 1.0, 1.0]))
        array([ 1.,  3., 10.])
    """


def _scan_back(a: Any, g: Any, axis: int) -> Any:
    """``s[i] = g[i] + a[i+1] * s[i+1]``: the recurrence transposed (run from the end)."""
    from tapeflow.numpy.shape import flip

    a_next = flip(_shift(a, axis, 0, forward=False), axis=axis)
    return flip(linear_scan(a_next, flip(g, axis=axis), axis=axis), axis=axis)


defvjp_direct(
    linear_scan,
    lambda g, ans, a, b, axis=0: _shift(ans, axis, 0) * _scan_back(a, g, axis),
    lambda g, ans, a, b, axis=0: _scan_back(a, g, axis),
)
defjvp(
    linear_scan,
    lambda t, ans, a, b, axis=0: linear_scan(a, t * _shift(ans, axis, 0), axis=axis),
    lambda t, ans, a, b, axis=0: linear_scan(a, t, axis=axis),
)


# ----- cumulative sums and products -----------------------------------------
def _np_cumsum(x: Any, axis: int = 0) -> Any:
    return np.cumsum(x, axis=axis)


def _reverse_cumsum(g: Any, axis: int) -> Any:
    from tapeflow.numpy.shape import flip

    return flip(_cumsum(flip(g, axis=axis), axis=axis), axis=axis)


_cumsum = primitive(_np_cumsum, name="cumsum")
defvjp_direct(_cumsum, lambda g, ans, x, axis=0: _reverse_cumsum(g, axis))
defjvp(_cumsum, lambda t, ans, x, axis=0: _cumsum(t, axis=axis))


def _flat_axis(a: Any, axis: Any) -> tuple[Any, int]:
    """numpy's ``axis=None`` for cumulative functions: work on the flattened array."""
    from tapeflow.numpy.shape import ravel

    if axis is None or not shape_of(a):
        return ravel(a), 0
    return a, int(axis)


def cumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """Cumulative sum along ``axis`` (the flattened array when None), as numpy.cumsum.

    Example:
        >>> cumsum(np.array([1.0, 2.0, 3.0]))
        array([1., 3., 6.])
    """
    _no_out(out, "cumsum")
    a = _with_dtype(a, dtype)
    a, ax = _flat_axis(a, axis)
    return _cumsum(a, axis=ax)


def _np_cumprod(x: Any, axis: int = 0) -> Any:
    return np.cumprod(x, axis=axis)


_cumprod = primitive(_np_cumprod, name="cumprod")
# y[k] = prod_{j<=k} x[j].  dy[k]/dx[i] = L[i] * prod_{i<j<=k} x[j] with L the exclusive
# cumulative product (ans shifted by one): both directions are linear recurrences in x,
# so no division by x appears and zeros are handled exactly.
defvjp_direct(
    _cumprod,
    lambda g, ans, x, axis=0: _shift(ans, axis, 1) * _scan_back(x, g, axis),
)
defjvp(
    _cumprod,
    lambda t, ans, x, axis=0: linear_scan(x, t * _shift(ans, axis, 1), axis=axis),
)


def cumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """Cumulative product along ``axis`` (flattened when None); exact gradients at zeros.

    Example:
        >>> cumprod(np.array([1.0, 2.0, 3.0]))
        array([1., 2., 6.])
    """
    _no_out(out, "cumprod")
    a = _with_dtype(a, dtype)
    a, ax = _flat_axis(a, axis)
    return _cumprod(a, axis=ax)


# ----- prod: gradient = product of the other entries, never ans / x ----------
def _others_product(x: Any, axis: Any) -> Any:
    """For each entry, the product of the other entries of its reduced slice."""
    from tapeflow.numpy.shape import flip, reshape, transpose

    shape = shape_of(x)
    axes = normalize_axis(axis, len(shape))
    if not axes:
        return np.ones(shape, dtype_of(x))
    kept = [i for i in range(len(shape)) if i not in axes]
    perm = tuple(kept) + axes
    lead = tuple(shape[i] for i in kept)
    rows = reshape(transpose(x, perm), lead + (-1,))
    before = _shift(_cumprod(rows, axis=-1), -1, 1)
    after = flip(_shift(_cumprod(flip(rows, axis=-1), axis=-1), -1, 1), axis=-1)
    others = reshape(before * after, lead + tuple(shape[i] for i in axes))
    return transpose(others, tuple(int(i) for i in np.argsort(perm)))


def _np_prod(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.prod(x, axis=axis, keepdims=keepdims)


_prod = primitive(_np_prod, name="prod")
defvjp_direct(
    _prod,
    lambda g, ans, x, axis=None, keepdims=False: (
        _spread(g, x, axis, keepdims) * _others_product(x, axis)
    ),
)
defjvp(
    _prod,
    lambda t, ans, x, axis=None, keepdims=False: _sum(
        t * _others_product(x, axis), axis=axis, keepdims=keepdims
    ),
)


def prod(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False
) -> Any:
    """Product over the given axes (numpy.prod); correct gradients with zeros.

    Example:
        >>> import tapeflow as tp
        >>> tp.grad(prod)(np.array([0.0, 2.0, 3.0]))
        array([6., 0., 0.])
    """
    _no_out(out, "prod")
    a = _with_dtype(a, dtype)
    return _prod(a, axis=axis, keepdims=keepdims)


# ----- boolean- and index-valued reductions: plain values, no gradient -----
def _nondiff(np_fun: Any, name: str) -> Any:
    prim = primitive(np_fun, name=name)
    nondifferentiable(prim)
    return prim


all = _nondiff(np.all, "all")  # noqa: A001
any = _nondiff(np.any, "any")  # noqa: A001
argmax = _nondiff(np.argmax, "argmax")
argmin = _nondiff(np.argmin, "argmin")
count_nonzero = _nondiff(np.count_nonzero, "count_nonzero")


for _np_fun, _impl in (
    (np.sum, sum),
    (np.mean, mean),
    (np.max, max),
    (np.min, min),
    (np.amax, max),
    (np.amin, min),
    (np.prod, prod),
    (np.cumsum, cumsum),
    (np.cumprod, cumprod),
    (np.all, all),
    (np.any, any),
    (np.argmax, argmax),
    (np.argmin, argmin),
    (np.count_nonzero, count_nonzero),
):
    register_numpy(_np_fun, _impl)
