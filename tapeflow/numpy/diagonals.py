"""Diagonals and triangles: diagonal, diag, trace, tril, triu.

``diagonal`` and its transpose ``diagonal_scatter`` (zeros with the diagonal
written in) are linear primitives; the rest are compositions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.batching import shift_axis, sole_batched, static_arg, to_front
from tapeflow.core.primitive import defbatch, deflinear, primitive
from tapeflow.numpy.declare import method, register_numpy
from tapeflow.numpy.elementwise import where
from tapeflow.numpy.meta import as_operand, axes_tuple, shape_of
from tapeflow.numpy.reductions import sum as _sum_of

__all__ = ["diagonal", "diagonal_scatter", "diag", "trace", "tril", "triu"]


def _np_diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    return np.diagonal(x, offset, axis1, axis2).copy()


def _np_diagonal_scatter(
    d: Any, shape: Any, offset: int = 0, axis1: int = 0, axis2: int = 1
) -> Any:
    out = np.zeros(shape, np.result_type(d))
    view = np.moveaxis(out, (axis1, axis2), (-2, -1))
    m = np.shape(d)[-1]
    rows = np.arange(m) + max(-offset, 0)
    cols = np.arange(m) + max(offset, 0)
    view[..., rows, cols] = d
    return out


_diagonal = primitive(_np_diagonal, name="diagonal")
diagonal_scatter = primitive(_np_diagonal_scatter, name="diagonal_scatter")
diagonal_scatter.__doc__ = (
    """Zeros of ``shape`` with ``d`` written on the given diagonal (transpose of diagonal)."""
)
deflinear(
    _diagonal,
    lambda g, ans, x, offset=0, axis1=0, axis2=1: diagonal_scatter(
        g, shape_of(x), offset=offset, axis1=axis1, axis2=axis2
    ),
)
deflinear(
    diagonal_scatter,
    lambda g, ans, d, shape, offset=0, axis1=0, axis2=1: _diagonal(
        g, offset=offset, axis1=axis1, axis2=axis2
    ),
)


def _diagonal_rule(args: Any, dims: Any, **kwargs: Any) -> Any:
    if not sole_batched(dims):
        return NotImplemented
    x = to_front(args[0], dims[0])
    rank = len(shape_of(x)) - 1
    offset = static_arg(args, kwargs, 1, "offset", 0)
    a1 = shift_axis(static_arg(args, kwargs, 2, "axis1", 0), rank)
    a2 = shift_axis(static_arg(args, kwargs, 3, "axis2", 1), rank)
    if a1 is None or a2 is None:
        return NotImplemented
    return _diagonal(x, offset=offset, axis1=a1, axis2=a2), 0


def _diagonal_scatter_rule(args: Any, dims: Any, **kwargs: Any) -> Any:
    if not sole_batched(dims):
        return NotImplemented
    d = to_front(args[0], dims[0])
    shape = tuple(static_arg(args, kwargs, 1, "shape"))
    rank = len(shape)
    offset = static_arg(args, kwargs, 2, "offset", 0)
    a1 = shift_axis(static_arg(args, kwargs, 3, "axis1", 0), rank)
    a2 = shift_axis(static_arg(args, kwargs, 4, "axis2", 1), rank)
    if a1 is None or a2 is None:
        return NotImplemented
    n = shape_of(d)[0]
    return diagonal_scatter(d, (n,) + shape, offset=offset, axis1=a1, axis2=a2), 0


defbatch(_diagonal, _diagonal_rule)
defbatch(diagonal_scatter, _diagonal_scatter_rule)


def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """The diagonal of the ``(axis1, axis2)`` planes, as the last axis (numpy.diagonal)."""
    a = as_operand(a)
    ndim = len(shape_of(a))
    if ndim < 2:
        raise ValueError("diag requires an array of at least two dimensions")
    ax1, ax2 = axes_tuple((axis1, axis2), ndim)
    if ax1 == ax2:
        raise ValueError("axis1 and axis2 cannot be the same")
    return _diagonal(a, offset=int(offset), axis1=ax1, axis2=ax2)


def diag(v: Any, k: int = 0) -> Any:
    """Extract a diagonal (2-d input) or build a diagonal matrix (1-d input), as numpy.diag."""
    v = as_operand(v)
    shape = shape_of(v)
    if len(shape) == 1:
        n = shape[0] + abs(int(k))
        return diagonal_scatter(v, (n, n), offset=int(k), axis1=0, axis2=1)
    if len(shape) == 2:
        return _diagonal(v, offset=int(k), axis1=0, axis2=1)
    raise ValueError("Input must be 1- or 2-d.")


def trace(
    a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None, out: Any = None
) -> Any:
    """Sum along a diagonal (numpy.trace)."""
    if out is not None:
        raise TypeError("trace(..., out=...) is not supported on traced arrays")
    return _sum_of(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


def _triangle(m: Any, k: int, lower: bool) -> Any:
    m = as_operand(m)
    shape = shape_of(m)
    rows, cols = (shape[-1], shape[-1]) if len(shape) < 2 else shape[-2:]
    mask = np.tri(rows, cols, k if lower else k - 1, dtype=bool)
    return where(mask if lower else ~mask, m, 0)


def tril(m: Any, k: int = 0) -> Any:
    """Zero the entries above the ``k``-th diagonal (numpy.tril; batched over leading axes)."""
    return _triangle(m, int(k), lower=True)


def triu(m: Any, k: int = 0) -> Any:
    """Zero the entries below the ``k``-th diagonal (numpy.triu; batched over leading axes)."""
    return _triangle(m, int(k), lower=False)


for _np_fun, _impl in (
    (np.diag, diag),
    (np.diagonal, diagonal),
    (np.trace, trace),
    (np.tril, tril),
    (np.triu, triu),
):
    register_numpy(_np_fun, _impl)
method("diagonal", diagonal)
method("trace", trace)
