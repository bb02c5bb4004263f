"""Reductions (sum, mean, max, ...) and their derivative rules.

Every reduction takes ``axis`` (None, an int or a tuple) and ``keepdims`` as
keyword arguments. The VJP of a reduction puts the reduced axes back into the
cotangent (``restore_reduced``) and broadcasts it to the input's shape.

Conventions: ``max``/``min`` split the gradient equally among tied entries.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from tapeflow.numpy._cotangent import dtype_of, shape_of
from tapeflow.primitive import defjvp, defvjp, primitive, register_numpy

__all__ = ["sum", "mean", "max", "min", "amax", "amin", "restore_reduced", "normalize_axis"]


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


# ----- sum and mean -----------------------------------------------------------
def _np_sum(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.sum(x, axis=axis, keepdims=keepdims)


_sum = primitive(_np_sum, name="sum")
defvjp(_sum, lambda ans, x, axis=None, keepdims=False: lambda g: _spread(g, x, axis, keepdims))
defjvp(_sum, lambda t, ans, x, axis=None, keepdims=False: _sum(t, axis=axis, keepdims=keepdims))


def sum(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """Sum of array elements over the given axes (numpy.sum)."""
    if dtype is not None:
        from tapeflow.numpy.elementwise import astype

        a = astype(a, dtype)
    return _sum(a, axis=axis, keepdims=keepdims)


def _np_mean(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.mean(x, axis=axis, keepdims=keepdims)


_mean = primitive(_np_mean, name="mean")
defvjp(
    _mean,
    lambda ans, x, axis=None, keepdims=False: lambda g: _spread(g, x, axis, keepdims)
    / _count(x, axis),
)
defjvp(
    _mean, lambda t, ans, x, axis=None, keepdims=False: _mean(t, axis=axis, keepdims=keepdims)
)


def mean(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Any:
    """Arithmetic mean over the given axes (numpy.mean)."""
    if dtype is not None:
        from tapeflow.numpy.elementwise import astype

        a = astype(a, dtype)
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

for _np_fun, _impl in ((np.sum, sum), (np.mean, mean), (np.max, max), (np.min, min),
                       (np.amax, max), (np.amin, min)):
    register_numpy(_np_fun, _impl)
