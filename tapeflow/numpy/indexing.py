"""Indexing: ``x[index]``, ``take``, ``take_along_axis`` and the scatter-add transpose.

Indices are static: they select entries but carry no gradient, so traced
values found in an index (for example an integer array computed inside the
transform) are replaced by their values before the primitive runs.

The VJP of ``getitem`` puts the cotangent back where the entries came from
(``scatter_add``). Only integer-array indices can pick one entry twice, and
then the contributions must add up, which ``np.add.at`` does; every other
index (ints, slices, ``None``, ``...``, boolean masks) selects each entry at
most once, and a plain slice assignment into zeros is several times faster.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.batching import batch_size, bcast_front, sole_batched, to_front
from tapeflow.core.arrays import ops
from tapeflow.core.primitive import defbatch, defjvp, deflinear, defvjp, primitive
from tapeflow.core.tracer import Tracer
from tapeflow.numpy.declare import method, register_numpy
from tapeflow.numpy.meta import dtype_of, shape_of
from tapeflow.numpy.shape import ravel, reshape

__all__ = ["getitem", "scatter_add", "take", "take_along_axis", "batched_index", "IndexHole"]


def _static_part(t: Any) -> Any:
    """Strip the tracing layers of an index value, except those of ``tp.jit``.

    Under grad/jvp an index is a constant, so its value is used. Under jit the
    value changes from call to call, so a jit tracer must stay in the index and
    reach the recorded program (see ``_getitem_traced``).
    """
    while type(t) is Tracer and t._trace.concrete_error("use as an index") is None:
        t = t._value
    return t


def _unwrap_index(index: Any) -> Any:
    """Indices are static: traced values inside an index become plain values (no gradient).

    Tuples and lists are searched (``x[i, j]``, ``x[[i, 2]]``), so integer-valued
    traced scalars and arrays can be used as indices; they must hold integers
    or booleans, as numpy requires. Values traced by ``tp.jit`` are kept.
    """
    if type(index) is Tracer:
        return _static_part(index)
    if type(index) is tuple:
        return tuple(_unwrap_index(i) for i in index)
    if type(index) is list and any(type(i) in (Tracer, list) for i in index):
        parts = [_unwrap_index(i) for i in index]
        if any(type(i) is Tracer for i in parts):
            return ops.stack(parts)  # one traced index array (its entries stay traced)
        return parts
    return index


class IndexHole:
    """Marks where a jit-traced array sits in an index template."""

    __slots__ = ("position",)

    def __init__(self, position: int) -> None:
        self.position = position

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IndexHole) and other.position == self.position

    def __hash__(self) -> int:
        return hash(("hole", self.position))


def _split_index(index: Any) -> tuple[list[Any], Any]:
    """(traced parts, template with holes) of an index holding jit tracers."""
    parts: list[Any] = []
    items = index if type(index) is tuple else (index,)
    template = []
    for item in items:
        if type(item) is Tracer:
            template.append(IndexHole(len(parts)))
            parts.append(item)
        else:
            template.append(item)
    return parts, (tuple(template) if type(index) is tuple else template[0])


def _fill(template: Any, parts: tuple[Any, ...]) -> Any:
    if type(template) is tuple:
        return tuple(parts[t.position] if type(t) is IndexHole else t for t in template)
    return parts[template.position] if type(template) is IndexHole else template


def _has_tracer(index: Any) -> bool:
    if type(index) is tuple:
        return any(type(i) is Tracer for i in index)
    return type(index) is Tracer


def _np_getitem(x: Any, index: Any) -> Any:
    return x[index]


_getitem = primitive(_np_getitem, name="getitem")


def getitem(x: Any, index: Any) -> Any:
    """``x[index]`` for every kind of numpy index: ints, slices, ``None``, ``...``,
    integer arrays (repeated entries receive the sum of their cotangents) and
    boolean masks, alone or mixed.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> tp.grad(lambda x: getitem(x, [0, 0, 2]).sum())(np.zeros(3))
        array([2., 0., 1.])
    """
    index = _unwrap_index(index)
    if _has_tracer(index):
        parts, template = _split_index(index)
        for part in parts:
            if dtype_of(part) == np.bool_:
                # The number of selected entries depends on the mask's values, so the
                # result has no fixed shape for a compiled program.
                raise part._trace.concrete_error(
                    "indexing with a traced boolean mask (the result's shape depends on the "
                    "mask's values)"
                )
        return _getitem_traced(x, *parts, template=template)
    return _getitem(x, index)


def _needs_accumulation(index: Any) -> bool:
    """True when ``index`` may select one entry more than once (an integer array)."""
    parts = index if type(index) is tuple else (index,)
    for part in parts:
        if (
            part is None
            or part is Ellipsis
            or isinstance(part, (slice, int, np.integer, bool, np.bool_))
        ):
            continue
        if np.asarray(part).dtype == np.bool_:
            continue
        return True
    return False


def _np_scatter_add(g: Any, index: Any, shape: Any, dtype: Any) -> Any:
    out = np.zeros(shape, dtype)
    if _needs_accumulation(index):
        np.add.at(out, index, g)
    else:
        out[index] = g
    return out


scatter_add = primitive(_np_scatter_add, name="scatter_add")
scatter_add.__doc__ = """Zeros of ``shape`` and ``dtype`` with ``g`` added at ``index`` (the
transpose of ``x[index]``); entries selected several times receive the sum.

Example:
    >>> scatter_add(np.ones(3), ([0, 1, 0],), (2,), np.float64)
    array([2., 1.])
"""
deflinear(scatter_add, lambda h, ans, g, index, shape, dtype: _getitem(h, index))
# The rule reads the index (a static argument) and x's shape and dtype only.
deflinear(_getitem, lambda g, ans, x, index: scatter_add(g, index, shape_of(x), dtype_of(x)))


def _is_advanced(e: Any) -> bool:
    return isinstance(e, (np.ndarray, list)) or type(e) is Tracer


def batched_index(index: Any) -> Any:
    """``index`` with a leading full slice for the batch axis, or None when that would move
    the batch axis (advanced indices separated by a slice go first in numpy's result)."""
    idx = index if type(index) is tuple else (index,)
    if any(isinstance(e, (bool, np.bool_)) for e in idx):
        return None
    if any(_is_advanced(e) for e in idx):
        adv = [k for k, e in enumerate(idx) if _is_advanced(e) or isinstance(e, (int, np.integer))]
        if adv != list(range(adv[0], adv[-1] + 1)):
            return None
    return (slice(None),) + idx


def _getitem_rule(args: Any, dims: Any) -> Any:
    if not sole_batched(dims):
        return NotImplemented
    index = batched_index(args[1])
    if index is None:
        return NotImplemented
    return _getitem(to_front(args[0], dims[0]), index), 0


def _scatter_add_rule(args: Any, dims: Any) -> Any:
    if not sole_batched(dims):
        return NotImplemented
    g, index, shape, dtype = args
    bindex = batched_index(index)
    if bindex is None:
        return NotImplemented
    g = to_front(g, dims[0])
    n = shape_of(g)[0]
    return scatter_add(g, bindex, (n,) + tuple(shape), dtype), 0


defbatch(_getitem, _getitem_rule)
defbatch(scatter_add, _scatter_add_rule)


# Indices traced by tp.jit: the traced parts are positional (non-differentiable)
# arguments, so the recorded program reads them on every call.
def _np_getitem_traced(x: Any, *parts: Any, template: Any) -> Any:
    return x[_fill(template, parts)]


def _np_scatter_add_traced(g: Any, *parts: Any, template: Any, shape: Any, dtype: Any) -> Any:
    return _np_scatter_add(g, _fill(template, parts), shape, dtype)


_getitem_traced = primitive(_np_getitem_traced, name="getitem_traced")
_scatter_add_traced = primitive(_np_scatter_add_traced, name="scatter_add_traced")
defvjp(
    _getitem_traced,
    lambda ans, x, *parts, template: (
        lambda g: _scatter_add_traced(
            g, *parts, template=template, shape=shape_of(x), dtype=dtype_of(x)
        )
    ),
    rest=None,
)
defjvp(
    _getitem_traced,
    lambda t, ans, x, *parts, template: _getitem_traced(t, *parts, template=template),
    rest=None,
)
defvjp(
    _scatter_add_traced,
    lambda ans, g, *parts, template, shape, dtype: (
        lambda h: _getitem_traced(h, *parts, template=template)
    ),
    rest=None,
)
defjvp(
    _scatter_add_traced,
    lambda t, ans, g, *parts, template, shape, dtype: _scatter_add_traced(
        t, *parts, template=template, shape=shape, dtype=dtype
    ),
    rest=None,
)


def _traced_index_parts(template: Any) -> tuple[Any, ...]:
    return template if type(template) is tuple else (template,)


def _gather_index(args: Any, dims: Any, template: Any, first: int, size: int) -> Any:
    """(parts, template) indexing a batch-first array when some index parts are batched.

    The batch axis is indexed by ``arange(size)``, broadcast against the batched index
    arrays, so example ``i`` reads with its own indices. Returns None when numpy would
    then move the indexed axes (advanced indices separated by slices).
    """
    items = _traced_index_parts(template)
    parts = list(args[first:])
    pdims = list(dims[first:])
    ranks = [len(shape_of(p)) - (d is not None) for p, d in zip(parts, pdims, strict=False)]
    top = max(ranks) if ranks else 0
    kinds = []
    for it in items:
        if type(it) is IndexHole:
            p = parts[it.position]
            if np.dtype(p.dtype if type(p) is Tracer else np.result_type(p)) == np.bool_:
                return None
            kinds.append("adv")
        elif isinstance(it, (int, np.integer)) and not isinstance(it, bool):
            kinds.append("adv")
        elif _is_advanced(it):
            return None
        else:
            kinds.append("basic")
    # Advanced entries must come first (right after the batch axis) and be adjacent.
    n_adv = sum(k == "adv" for k in kinds)
    if kinds[:n_adv] != ["adv"] * n_adv:
        return None
    new_parts = []
    for p, d, r in zip(parts, pdims, ranks, strict=False):
        if d is not None:
            p = to_front(p, d)
            s = tuple(shape_of(p))
            p = reshape(p, s[:1] + (1,) * (top - r) + s[1:])
        new_parts.append(p)
    batch_index = np.arange(size).reshape((size,) + (1,) * top)
    new_template = (batch_index,) + tuple(
        IndexHole(it.position) if type(it) is IndexHole else it for it in items
    )
    return new_parts, new_template


def _getitem_traced_rule(args: Any, dims: Any, template: Any) -> Any:
    size = batch_size(args, dims)
    x = bcast_front(args[0], dims[0], size)
    if all(d is None for d in dims[1:]):
        items = _traced_index_parts(template)
        if batched_index(tuple(0 if type(i) is IndexHole else i for i in items)) is None:
            return NotImplemented
        return _getitem_traced(x, *args[1:], template=(slice(None),) + items), 0
    found = _gather_index(args, dims, template, 1, size)
    if found is None:
        return NotImplemented
    parts, new_template = found
    return _getitem_traced(x, *parts, template=new_template), 0


def _scatter_add_traced_rule(args: Any, dims: Any, template: Any, shape: Any, dtype: Any) -> Any:
    size = batch_size(args, dims)
    g = bcast_front(args[0], dims[0], size)
    shape = (size,) + tuple(shape)
    if all(d is None for d in dims[1:]):
        items = _traced_index_parts(template)
        if batched_index(tuple(0 if type(i) is IndexHole else i for i in items)) is None:
            return NotImplemented
        return _scatter_add_traced(
            g, *args[1:], template=(slice(None),) + items, shape=shape, dtype=dtype
        ), 0
    found = _gather_index(args, dims, template, 1, size)
    if found is None:
        return NotImplemented
    parts, new_template = found
    return _scatter_add_traced(g, *parts, template=new_template, shape=shape, dtype=dtype), 0


defbatch(_getitem_traced, _getitem_traced_rule)
defbatch(_scatter_add_traced, _scatter_add_traced_rule)


def take(
    a: Any,
    indices: Any,
    axis: int | None = None,
    out: Any = None,
    mode: str = "raise",
    *,
    unique_indices: bool = False,
    indices_are_sorted: bool = False,
) -> Any:
    """Entries of ``a`` at ``indices`` along ``axis`` (None: the flattened array), as numpy.take.

    Only ``mode="raise"`` is supported (out-of-range indices raise ``IndexError``).
    ``unique_indices`` and ``indices_are_sorted`` are JAX's promises about ``indices`` for
    its compiler; they change nothing here.

    Example:
        >>> take(np.array([[1., 2.], [3., 4.]]), [1, 1], axis=1)
        array([[2., 2.],
               [4., 4.]])
    """
    if out is not None:
        raise TypeError("tnp.take(..., out=...) would write in place; assign the result instead")
    if mode != "raise":
        raise NotImplementedError(f"tnp.take supports mode='raise' only, got mode={mode!r}")
    indices = _unwrap_index(indices)
    if not _has_tracer(indices):
        indices = np.asarray(indices)
    if axis is None:
        return getitem(ravel(a), indices)
    ndim = len(shape_of(a))
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return getitem(a, (slice(None),) * (axis % ndim) + (indices,))


def take_along_axis(arr: Any, indices: Any, axis: int | None = -1) -> Any:
    """Pick entries of ``arr`` with an index array shaped like ``arr`` (numpy.take_along_axis).

    Typical use: ``take_along_axis(x, np.argsort(x, axis=1), axis=1)`` sorts ``x``
    differentiably; each index may appear several times.
    """
    indices = _unwrap_index(indices)
    if not _has_tracer(indices):
        indices = np.asarray(indices)
    if not np.issubdtype(indices.dtype, np.integer):
        raise IndexError("take_along_axis: the indices must be an integer array")
    if axis is None:
        return getitem(ravel(arr), indices)
    shape = shape_of(arr)
    ndim = len(shape)
    if indices.ndim != ndim:
        raise ValueError(
            f"take_along_axis: indices has {indices.ndim} dimensions but arr has {ndim}; "
            "they must match"
        )
    axis = int(axis) % ndim
    # One broadcastable arange per other axis turns the call into plain fancy indexing.
    index = []
    for d in range(ndim):
        if d == axis:
            index.append(indices)
        else:
            view = [1] * ndim
            view[d] = shape[d]
            index.append(np.arange(shape[d]).reshape(view))
    return getitem(arr, tuple(index))


register_numpy(np.take, take)
register_numpy(np.take_along_axis, take_along_axis)
method("__getitem__", getitem, impl=getitem)
method("take", take)
