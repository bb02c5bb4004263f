"""Finite differences: numpy's ``diff`` and ``gradient``, differentiable in the values.

Both are compositions of slicing, subtraction and ``concatenate``; the spacings
and sample coordinates of ``gradient`` are constants.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.core.tracer import Tracer
from tapeflow.numpy.declare import register_numpy
from tapeflow.numpy.joining import concatenate
from tapeflow.numpy.meta import as_operand, axes_tuple, dtype_of, shape_of
from tapeflow.numpy.shape import broadcast_to

__all__ = ["diff", "gradient"]


def diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = None, append: Any = None) -> Any:
    """The ``n``-th discrete difference along ``axis`` (numpy.diff)."""
    a = as_operand(a)
    shape = shape_of(a)
    if not shape:
        raise ValueError("diff requires input that is at least one dimensional")
    ax = axes_tuple(axis, len(shape))[0]
    parts = []
    for extra in (prepend, a, append):
        if extra is None:
            continue
        if extra is not a and not shape_of(extra):
            if isinstance(extra, (int, float, complex)):
                # a Python scalar is weakly typed (NEP 50): keep a's precision.
                extra = np.asarray(extra, np.result_type(dtype_of(a), extra))
            extra = broadcast_to(extra, shape[:ax] + (1,) + shape[ax + 1 :])
        parts.append(extra)
    if len(parts) > 1:
        a = concatenate(parts, axis=ax)
    lead = (slice(None),) * ax
    for _ in range(int(n)):
        a = a[lead + (slice(1, None),)] - a[lead + (slice(None, -1),)]
    return a


def _coordinate_weights(x: Any, edge_order: int) -> tuple[Any, ...]:
    """numpy.gradient's weights for sample coordinates ``x`` (plain, 1-d): for the
    first entry, the interior (arrays) and the last entry, three weights each."""
    dx = np.diff(np.asarray(x, dtype=np.float64))
    d1, d2 = dx[:-1], dx[1:]
    interior = (-d2 / (d1 * (d1 + d2)), (d2 - d1) / (d1 * d2), d1 / (d2 * (d1 + d2)))
    if edge_order == 1:
        first = (-1 / dx[0], 1 / dx[0], 0.0)
        last = (0.0, -1 / dx[-1], 1 / dx[-1])
    else:
        a, b = dx[0], dx[1]
        first = (-(2 * a + b) / (a * (a + b)), (a + b) / (a * b), -a / (b * (a + b)))
        a, b = dx[-2], dx[-1]
        last = (b / (a * (a + b)), -(a + b) / (a * b), (2 * b + a) / (b * (a + b)))
    return first, interior, last


def gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int = 1) -> Any:
    """Second-order accurate differences of ``f`` (numpy.gradient), differentiable in ``f``.

    ``varargs`` are numpy's spacings: none (1), one scalar for every axis, or
    one per axis, each a scalar or the (constant) sample coordinates along that
    axis. Interior points use central differences, the edges one-sided
    differences of order ``edge_order`` (1 or 2). Returns one array per axis (a
    tuple) or a single array when one axis is asked for.
    """
    f = as_operand(f)
    shape = shape_of(f)
    axes = tuple(range(len(shape))) if axis is None else axes_tuple(axis, len(shape))
    if len(varargs) == 0:
        spacing: list[Any] = [1.0] * len(axes)
    elif len(varargs) == 1 and np.ndim(varargs[0]) == 0:
        spacing = [varargs[0]] * len(axes)
    elif len(varargs) == len(axes):
        spacing = list(varargs)
    else:
        raise TypeError("invalid number of arguments")
    if any(type(h) is Tracer for h in spacing):
        raise TypeError("gradient: spacings and coordinates must be constants, not traced values")
    if edge_order not in (1, 2):
        raise ValueError("'edge_order' greater than 2 not supported")
    outs = []
    for ax, h in zip(axes, spacing, strict=False):
        n = shape[ax]
        if n < edge_order + 1:
            raise ValueError(
                "Shape of array too small to calculate a numerical gradient, "
                "at least (edge_order + 1) elements are required."
            )
        lead = (slice(None),) * ax

        def at(start: int, stop: Any, lead: tuple = lead) -> Any:
            return f[lead + (slice(start, stop),)]

        if np.ndim(h):
            if np.shape(h) != (n,):
                raise ValueError(
                    "when 1d, distances must match the length of the corresponding dimension"
                )
            outs.append(_coordinate_gradient(f, at, n, ax, _coordinate_weights(h, edge_order)))
            continue
        h = float(h)
        if edge_order == 1:
            first = (at(1, 2) - at(0, 1)) / h
            last = (at(n - 1, n) - at(n - 2, n - 1)) / h
        else:
            first = (-1.5 * at(0, 1) + 2.0 * at(1, 2) - 0.5 * at(2, 3)) / h
            last = (0.5 * at(n - 3, n - 2) - 2.0 * at(n - 2, n - 1) + 1.5 * at(n - 1, n)) / h
        interior = (at(2, None) - at(0, n - 2)) / (2.0 * h)
        outs.append(concatenate([first, interior, last], axis=ax))
    return outs[0] if len(outs) == 1 else tuple(outs)


def _coordinate_gradient(f: Any, at: Any, n: int, ax: int, weights: Any) -> Any:
    first, interior, last = weights
    dtype = dtype_of(f)
    ndim = len(shape_of(f))

    def along(w: Any) -> Any:  # weights as f's dtype, shaped to broadcast along ax
        return np.asarray(w, dtype).reshape((-1,) + (1,) * (ndim - ax - 1))

    def combine(ws: Any, starts: Any) -> Any:
        terms = [at(s, s + 1) * along(w) for w, s in zip(ws, starts, strict=True) if np.any(w)]
        out = terms[0]
        for t in terms[1:]:
            out = out + t
        return out

    middle = at(0, n - 2) * along(interior[0])
    middle = middle + at(1, n - 1) * along(interior[1]) + at(2, None) * along(interior[2])
    edges = combine(first, (0, 1, 2)), combine(last, (n - 3, n - 2, n - 1))
    return concatenate([edges[0], middle, edges[1]], axis=ax)


register_numpy(np.diff, diff)
register_numpy(np.gradient, gradient)
