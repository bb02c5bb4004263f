"""What the numpy layer reads off a value without computing with it.

Shapes, dtypes and axes of arrays, traced arrays, numpy scalars and Python numbers
alike; every family of ``tapeflow.numpy`` uses them.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from tapeflow.core import arrays
from tapeflow.core.tracer import Tracer

__all__ = [
    "shape_of",
    "dtype_of",
    "is_complex",
    "contains_tracer",
    "as_operand",
    "zeros_shaped_like",
    "normalize_axis",
    "axes_tuple",
    "reduced_count",
]


def _stand_in(x: Any) -> Any:
    """``x`` with each traced value replaced by plain zeros of its shape and dtype: what
    numpy needs to tell the shape and dtype of a list holding traced values."""
    if type(x) is Tracer:
        return np.zeros(x.shape, x.dtype)
    if type(x) in (list, tuple):
        return [_stand_in(e) for e in x]
    return x


def shape_of(x: Any) -> tuple[int, ...]:
    """The shape of an array, tracer, numpy scalar, Python number or array-like."""
    try:
        return x.shape  # type: ignore[no-any-return]
    except AttributeError:
        return np.shape(_stand_in(x))


def dtype_of(x: Any) -> Any:
    """The dtype of an array, tracer, numpy scalar, Python number or array-like."""
    try:
        return x.dtype
    except AttributeError:
        if type(x) in (list, tuple):
            return np.asarray(_stand_in(x)).dtype
        return np.result_type(x)


def is_complex(x: Any) -> bool:
    """True when ``x`` has a complex dtype."""
    return bool(np.issubdtype(dtype_of(x), np.complexfloating))


def contains_tracer(obj: Any) -> bool:
    """True when ``obj`` is a traced array or a (nested) list or tuple holding one."""
    if type(obj) is Tracer:
        return True
    if isinstance(obj, (list, tuple)):
        return builtins.any(contains_tracer(o) for o in obj)
    return False


def as_operand(a: Any) -> Any:
    """Lists and scalars become arrays; traced values stay traced, and so does a list
    holding them (stacked by the array layer's ``asarray``)."""
    if type(a) is Tracer or isinstance(a, np.ndarray):
        return a
    if type(a) in (list, tuple) and contains_tracer(a):
        return arrays.ops.asarray(a)  # tapeflow.numpy.creation's, which builds on this module
    return np.asarray(a)


def zeros_shaped_like(a: Any, like_dtype_of: Any) -> np.ndarray:
    """Zeros shaped like ``a`` with the dtype of ``like_dtype_of`` (tangent padding)."""
    return np.zeros(shape_of(a), dtype_of(like_dtype_of))


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


def axes_tuple(axis: Any, ndim: int) -> tuple[int, ...]:
    """Axes as non-negative ints in the given order (not sorted), validated."""
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for ax in axes:
        if not -ndim <= ax < ndim:
            raise np.exceptions.AxisError(int(ax), ndim)
        out.append(int(ax) % ndim)
    return tuple(out)


def reduced_count(x: Any, axis: Any) -> int:
    """How many entries of ``x`` a reduction over ``axis`` combines into each result."""
    shape = shape_of(x)
    return int(np.prod([shape[a] for a in normalize_axis(axis, len(shape))]))
