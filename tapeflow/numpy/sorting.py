"""Sorting, searching and interpolation.

``sort`` and ``partition`` are differentiable in the values: they gather the
input through a permutation found by ``argsort`` / ``argpartition``, and the
gather's VJP sends each cotangent entry back through the inverse permutation.
Among tied values the gradient goes to the entry the sort put in that place.
``unique``'s values are a selection of the input: each passes its cotangent to
the entry it was taken from (the first occurrence), and its index, inverse and
count outputs are plain. ``argsort``, ``argpartition`` and ``searchsorted``
return plain indices with no gradient. ``interp`` is differentiable in ``x``
and ``fp`` (and, where it is defined, ``xp``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.batching import axis_rule, batch_size, bcast_front, to_front
from tapeflow.core.primitive import defbatch, deflinear, nondifferentiable, primitive
from tapeflow.core.tracer import Tracer
from tapeflow.numpy.declare import array_arguments, method, register_numpy
from tapeflow.numpy.elementwise import where
from tapeflow.numpy.indexing import getitem, take
from tapeflow.numpy.items import items
from tapeflow.numpy.joining import concatenate
from tapeflow.numpy.meta import as_operand, shape_of
from tapeflow.numpy.shape import broadcast_to, ravel

__all__ = [
    "sort",
    "partition",
    "argsort",
    "argpartition",
    "searchsorted",
    "unique",
    "interp",
]


# ----- index-valued functions: plain results, no gradient -------------------
def _nondiff(np_fun: Any, name: str) -> Any:
    prim = primitive(np_fun, name=name)
    nondifferentiable(prim)
    return prim


def _np_argsort(
    a: Any,
    axis: Any = -1,
    kind: Any = None,
    order: Any = None,
    *,
    stable: Any = None,
    descending: bool = False,
) -> Any:
    """Indices that sort ``a`` along ``axis`` (numpy.argsort); ``descending`` is JAX's.

    Descending order keeps ties in their original order when the sort is stable: the
    stable ascending sort of the reversed array, read backwards.

    Example:
        >>> argsort(np.array([1.0, 2.0, 1.0]), descending=True, stable=True).tolist()
        [1, 0, 2]
    """
    if not descending:
        return np.argsort(a, axis=axis, kind=kind, order=order, stable=stable)
    a = np.asarray(a)
    if axis is None:
        a, axis = a.ravel(), -1
    backwards = np.argsort(np.flip(a, axis), axis=axis, kind=kind, order=order, stable=stable)
    return a.shape[axis] - 1 - np.flip(backwards, axis)


argsort = _nondiff(_np_argsort, "argsort")
defbatch(argsort, axis_rule(argsort, "flat"))
argpartition = _nondiff(np.argpartition, "argpartition")
searchsorted = _nondiff(np.searchsorted, "searchsorted")
array_arguments(searchsorted, 0, 1)


def _np_unique_found(ar: Any, **kwargs: Any) -> tuple[Any, ...]:
    found = np.unique(ar, return_index=True, **kwargs)
    return tuple(found)


# Where the distinct values are (plain indices); `unique` then gathers them differentiably.
_unique_found = _nondiff(_np_unique_found, "unique")


# ----- a gather through a permutation along one axis ------------------------
def _np_permute(x: Any, perm: Any, axis: int = -1) -> Any:
    return np.take_along_axis(x, perm, axis=axis)


permute_along_axis = primitive(_np_permute, name="permute_along_axis")
permute_along_axis.__doc__ = """``take_along_axis(x, perm, axis)``: ``perm`` permutes each slice.

    Its VJP applies the inverse permutation (a gather, no scatter-add needed).
    """


def _inverse(perm: Any, axis: int) -> Any:
    return np.argsort(perm, axis=axis)


deflinear(
    permute_along_axis,
    lambda g, ans, x, perm, axis=-1: permute_along_axis(g, _inverse(perm, axis), axis=axis),
    None,
)


def _permute_batch_rule(args: Any, dims: Any, axis: int = -1) -> Any:
    """tp.vmap: with the batch axis in front of both arguments, permute one axis later."""
    size = batch_size(args, dims)
    x = bcast_front(args[0], dims[0], size)
    perm = bcast_front(args[1], dims[1], size)
    ax = axis % (len(shape_of(x)) - 1) + 1
    return permute_along_axis(x, perm, axis=ax), 0


def _argpartition_batch_rule(args: Any, dims: Any, axis: Any = -1, **kwargs: Any) -> Any:
    if axis is None or dims[0] is None or any(d is not None for d in dims[1:]):
        return NotImplemented
    x = to_front(args[0], dims[0])
    return argpartition(x, *args[1:], axis=axis % (len(shape_of(x)) - 1) + 1, **kwargs), 0


defbatch(permute_along_axis, _permute_batch_rule)
defbatch(argpartition, _argpartition_batch_rule)


def _flat(a: Any, axis: Any) -> tuple[Any, int]:
    a = as_operand(a)
    if axis is None:
        return ravel(a), 0
    return a, int(axis)


def sort(
    a: Any,
    axis: Any = -1,
    kind: Any = None,
    order: Any = None,
    *,
    stable: Any = None,
    descending: bool = False,
) -> Any:
    """Sorted copy along ``axis`` (flattened when None), differentiable in the values;
    ``descending`` is JAX's.

    Example:
        >>> import tapeflow as tp
        >>> tp.grad(lambda x: sort(x)[0])(np.array([3.0, 1.0, 2.0]))
        array([0., 1., 0.])
    """
    if order is not None:
        raise NotImplementedError("sort(..., order=...) of structured arrays is not supported")
    a, ax = _flat(a, axis)
    if not shape_of(a):
        return a
    perm = argsort(a, axis=ax, kind=kind, stable=stable, descending=descending)
    return permute_along_axis(a, perm, axis=ax)


def partition(
    a: Any, kth: Any, axis: Any = -1, kind: str = "introselect", order: Any = None
) -> Any:
    """Partially sorted copy with the ``kth`` entries in their sorted places (numpy.partition)."""
    if order is not None:
        raise NotImplementedError("partition(..., order=...) is not supported")
    a, ax = _flat(a, axis)
    perm = argpartition(a, kth, axis=ax, kind=kind)
    return permute_along_axis(a, perm, axis=ax)


def unique(
    ar: Any,
    return_index: bool = False,
    return_inverse: bool = False,
    return_counts: bool = False,
    axis: Any = None,
    *,
    equal_nan: bool = True,
    sorted: bool = True,
) -> Any:
    """The sorted distinct values (or slices along ``axis``) of ``ar`` (numpy.unique).

    The values are gathered from ``ar`` at the first occurrence of each, so each
    passes its cotangent to that entry (the other copies get none); the index,
    inverse and count outputs are plain integer arrays.

    Example:
        >>> import tapeflow as tp
        >>> tp.grad(lambda x: unique(x).sum())(np.array([2.0, 1.0, 2.0]))
        array([1., 1., 0.])
    """
    ar = as_operand(ar)
    kwargs: dict[str, Any] = {"equal_nan": equal_nan}
    if not sorted:  # numpy >= 2.3 only; passed on only when asked for
        kwargs["sorted"] = False
    found = _unique_found(
        ar,
        return_inverse=return_inverse,
        return_counts=return_counts,
        axis=axis,
        **kwargs,
    )
    if type(found) is Tracer:  # under tp.jit: one traced tuple, split into its entries
        found = items(found, 2 + return_inverse + return_counts)
    first = found[1]
    values = getitem(ravel(ar), first) if axis is None else take(ar, first, axis=axis)
    extras = tuple(found[1:]) if return_index else tuple(found[2:])
    return (values, *extras) if extras else values


# ----- piecewise-linear interpolation ----------------------------------------
def _periodic(x: Any, xp: Any, fp: Any, period: Any) -> tuple[Any, Any, Any]:
    """numpy's ``period=``: reduce x and xp modulo the period, sort the knots and
    wrap one knot around each end."""
    period = abs(float(period))
    if period == 0:
        raise ValueError("period must be a non-zero value")
    x = x % period
    xp = xp % period
    order = argsort(xp)
    xp, fp = getitem(xp, order), getitem(fp, order)
    xp = concatenate([xp[-1:] - period, xp, xp[0:1] + period])
    fp = concatenate([fp[-1:], fp, fp[0:1]])
    return x, xp, fp


def interp(
    x: Any, xp: Any, fp: Any, left: Any = None, right: Any = None, period: Any = None
) -> Any:
    """One-dimensional piecewise-linear interpolation (numpy.interp).

    Differentiable in ``x`` (the slope of the segment, 0 outside ``xp``'s range)
    and in ``fp`` (the two interpolation weights). ``xp`` must be increasing
    unless ``period`` is given (then x and xp are taken modulo the period, as in
    numpy). Unlike numpy, float32 inputs give a float32 result.

    Example:
        >>> float(interp(2.5, np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 0.0])))
        1.0
    """
    x, xp, fp = (as_operand(v) if isinstance(v, (list, tuple)) else v for v in (x, xp, fp))
    if len(shape_of(xp)) != 1 or shape_of(xp) != shape_of(fp):
        raise ValueError("interp: xp and fp must be 1-d sequences of the same length")
    if period is not None:
        x, xp, fp = _periodic(x, xp, fp, period)
        left = right = None
    n = shape_of(xp)[0]
    if n == 0:
        raise ValueError("array of sample points is empty")
    first = fp[0] if left is None else left
    last = fp[n - 1] if right is None else right
    if n == 1:
        y = broadcast_to(fp[0], shape_of(x)) + 0 * x
    else:
        # Segment index in [0, n-2]; searching the inner knots needs no clipping.
        j = searchsorted(xp[1 : n - 1], x, side="right")
        # getitem, not xp[j]: j is traced under tp.jit even when xp is a plain array.
        x0, x1 = getitem(xp, j), getitem(xp, j + 1)
        y0, y1 = getitem(fp, j), getitem(fp, j + 1)
        y = y0 + (y1 - y0) / (x1 - x0) * (x - x0)
    return where(x < xp[0], first, where(x > xp[n - 1], last, y))


for _np_fun, _impl in (
    (np.sort, sort),
    (np.partition, partition),
    (np.argsort, argsort),
    (np.argpartition, argpartition),
    (np.searchsorted, searchsorted),
    (np.unique, unique),
    (np.interp, interp),
):
    register_numpy(_np_fun, _impl)
method("argsort", argsort)
