"""Joining and splitting arrays: concatenate, stack and friends, append, split, unravel.

``concatenate`` is the one variadic primitive: its VJP slices the cotangent back
into the pieces, and its forward rule concatenates the tangents in one call.
Everything else joins or splits with ``concatenate``, ``reshape`` and indexing,
including :func:`build_array`, which stacks the traced values found in (nested)
lists and tuples into one array (``tnp.array``, and array-likes in general).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.batching import batch_size, bcast_front, shift_axis
from tapeflow.core.primitive import (
    defbatch,
    defjvp_joint,
    deflinear,
    defvjp_argnum,
    primitive,
)
from tapeflow.core.tracer import Tracer
from tapeflow.numpy.declare import array_arguments, no_out, register_numpy
from tapeflow.numpy.elementwise import astype
from tapeflow.numpy.indexing import getitem
from tapeflow.numpy.items import items
from tapeflow.numpy.meta import (
    as_operand,
    axes_tuple,
    contains_tracer,
    dtype_of,
    shape_of,
    zeros_shaped_like,
)
from tapeflow.numpy.shape import atleast_1d, atleast_2d, atleast_3d, moveaxis, ravel, reshape

__all__ = [
    "concatenate",
    "stack",
    "hstack",
    "vstack",
    "dstack",
    "column_stack",
    "row_stack",
    "append",
    "build_array",
    "split",
    "array_split",
    "hsplit",
    "vsplit",
    "dsplit",
    "unravel_pieces",
]


# concatenate is variadic: the arrays are positional arguments of the primitive.
def _np_concatenate(*arrays: Any, axis: int = 0) -> Any:
    return np.concatenate(arrays, axis=axis)


_concatenate = primitive(_np_concatenate, name="concatenate")
array_arguments(_concatenate, every=True)


def _concatenate_vjp(argnum: int, ans: Any, args: Any, kwargs: Any) -> Any:
    axis = kwargs.get("axis", 0)
    ndim = len(shape_of(ans))
    ax = axis % ndim
    start = int(np.sum([shape_of(a)[ax] for a in args[:argnum]]))
    stop = start + shape_of(args[argnum])[ax]
    index = (slice(None),) * ax + (slice(start, stop),)
    return lambda g: getitem(g, index)


defvjp_argnum(_concatenate, _concatenate_vjp)


def _concatenate_batch(args: Any, dims: Any, axis: int = 0) -> Any:
    size = batch_size(args, dims)
    rank = len(shape_of(args[0])) - (dims[0] is not None)
    ax = shift_axis(axis, rank)
    if ax is None:
        return NotImplemented
    parts = [bcast_front(a, d, size) for a, d in zip(args, dims, strict=False)]
    return _concatenate(*parts, axis=ax), 0


defbatch(_concatenate, _concatenate_batch)


def _concatenate_jvp(tangents: Any, ans: Any, *args: Any, **kwargs: Any) -> Any:
    # One concatenation of every argument's tangent (zeros where there is none).
    like = next(t for t in tangents if t is not None)
    parts = [
        zeros_shaped_like(a, like) if t is None else t for t, a in zip(tangents, args, strict=True)
    ]
    return _concatenate(*parts, **kwargs)


defjvp_joint(_concatenate, _concatenate_jvp)


def _as_dtype(arrays: Any, dtype: Any, casting: str) -> tuple[Any, ...]:
    """The pieces cast to the result's ``dtype`` (numpy's and JAX's ``dtype=``), each cast
    checked against numpy's ``casting`` rule."""
    pieces: tuple[Any, ...] = tuple(arrays)
    if dtype is None:
        return pieces
    dtype = np.dtype(dtype)
    for a in pieces:
        if not np.can_cast(dtype_of(a), dtype, casting=casting):  # type: ignore[arg-type]
            raise TypeError(
                f"cannot cast an array of dtype {dtype_of(a)} to {dtype} with "
                f"casting={casting!r}; pass casting='unsafe' to allow it"
            )
    return tuple(astype(a, dtype) for a in pieces)


def concatenate(
    arrays: Any,
    axis: int | None = 0,
    out: Any = None,
    *,
    dtype: Any = None,
    casting: str = "same_kind",
) -> Any:
    """Join a sequence of arrays along an existing axis (numpy.concatenate); ``dtype`` is
    the result's.

    Example:
        >>> concatenate([np.ones(2, np.float32), np.zeros(1)], dtype=np.float32).dtype
        dtype('float32')
    """
    no_out(out, "concatenate")
    arrays = _as_dtype(arrays, dtype, casting)
    if axis is None:
        arrays = tuple(ravel(a) for a in arrays)
        axis = 0
    return _concatenate(*arrays, axis=axis)


# ----- joining -----------------------------------------------------------------
def stack(
    arrays: Any, axis: int = 0, out: Any = None, *, dtype: Any = None, casting: str = "same_kind"
) -> Any:
    """Join arrays of one shape along a new axis (numpy.stack); ``dtype`` is the result's."""
    no_out(out, "stack")
    arrays = _as_dtype(arrays, dtype, casting)
    if not arrays:
        raise ValueError("need at least one array to stack")
    shapes = {shape_of(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError("all input arrays must have the same shape")
    shape = shapes.pop()
    ax = axes_tuple(axis, len(shape) + 1)[0]
    new = shape[:ax] + (1,) + shape[ax:]
    return _concatenate(*(reshape(a, new) for a in arrays), axis=ax)


def hstack(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> Any:
    """Stack arrays column-wise (numpy.hstack): axis 1, or axis 0 for 1-d inputs."""
    arrs = [atleast_1d(as_operand(a)) for a in tup]
    axis = 0 if len(shape_of(arrs[0])) == 1 else 1
    return concatenate(arrs, axis=axis, dtype=dtype, casting=casting)


def vstack(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> Any:
    """Stack arrays row-wise (numpy.vstack)."""
    arrs = [atleast_2d(as_operand(a)) for a in tup]
    return concatenate(arrs, axis=0, dtype=dtype, casting=casting)


def dstack(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> Any:
    """Stack arrays along the third axis (numpy.dstack; ``dtype`` as in jax.numpy)."""
    arrs = [atleast_3d(as_operand(a)) for a in tup]
    return concatenate(arrs, axis=2, dtype=dtype, casting=casting)


def column_stack(tup: Any) -> Any:
    """Stack 1-d arrays as columns of a 2-d array (numpy.column_stack)."""
    cols = []
    for a in tup:
        a = as_operand(a)
        shape = shape_of(a)
        cols.append(reshape(a, (-1, 1)) if len(shape) < 2 else a)
    return concatenate(cols, axis=1)


row_stack = vstack  # numpy's older name (deprecated in numpy 2)


def build_array(obj: Any, dtype: Any = None) -> Any:
    """``obj`` as one array: traced values stay traced, and (nested) lists and tuples that
    hold traced values are stacked differentiably; anything else is ``np.asarray``.

    Example:
        >>> import tapeflow as tp
        >>> tp.grad(lambda x: build_array([[x, 1.0], [2.0, x]]).sum())(3.0)
        np.float64(2.0)
    """
    if type(obj) is Tracer:
        return obj if dtype is None or dtype_of(obj) == np.dtype(dtype) else astype(obj, dtype)
    if isinstance(obj, (list, tuple)) and contains_tracer(obj):
        parts = [build_array(o, dtype) for o in obj]
        return _concatenate(*(reshape(p, (1,) + tuple(shape_of(p))) for p in parts), axis=0)
    return np.asarray(obj, dtype=dtype)


def append(arr: Any, values: Any, axis: int | None = None) -> Any:
    """``values`` joined after ``arr`` along ``axis``, both flattened when it is None
    (numpy.append); differentiable in both.

    Example:
        >>> append(np.array([1.0, 2.0]), [[3.0], [4.0]])
        array([1., 2., 3., 4.])
    """
    arr, values = build_array(arr), build_array(values)
    if axis is None:
        return concatenate([ravel(arr), ravel(values)], axis=0)
    return concatenate([arr, values], axis=axis)


# ----- splitting: lists of differentiable pieces --------------------------------
def array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """Split into pieces along ``axis``; sections need not divide evenly (numpy.array_split)."""
    ary = as_operand(ary)
    ndim = len(shape_of(ary))
    ax = axes_tuple(axis, ndim)[0]
    n = shape_of(ary)[ax]
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.")
        each, extra = divmod(n, sections)
        sizes = [each + 1] * extra + [each] * (sections - extra)
        bounds = [0] + [int(b) for b in np.cumsum(sizes)]
    else:
        # Python slice semantics (negative or out-of-range indices) as in numpy.
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    lead = (slice(None),) * ax
    return [ary[lead + (slice(lo, hi),)] for lo, hi in zip(bounds[:-1], bounds[1:], strict=False)]


# ----- unravel: a flat vector into pieces of given shapes (ravel_pytree's inverse) ----
def _np_unravel(vec: Any, bounds: Any, shapes: Any) -> tuple[Any, ...]:
    return tuple(vec[lo:hi].reshape(shape) for (lo, hi), shape in zip(bounds, shapes, strict=True))


_unravel = primitive(_np_unravel, name="unravel")


def _unravel_vjp(g: Any, ans: Any, vec: Any, bounds: Any, shapes: Any) -> Any:
    # One concatenation of the pieces' cotangents: slicing each piece separately would
    # give each a full-length cotangent (zeros around one piece), all then summed.
    dtype = dtype_of(vec)
    parts = [
        np.zeros(hi - lo, dtype) if gi is None else reshape(gi, (hi - lo,))
        for gi, (lo, hi) in zip(g, bounds, strict=True)
    ]
    return _concatenate(*parts, axis=0)


def _unravel_batch(args: Any, dims: Any, bounds: Any, shapes: Any) -> Any:
    vec, d = args[0], dims[0]
    if d != 0:
        vec = moveaxis(vec, d, 0)
    n = shape_of(vec)[0]
    pieces = tuple(
        reshape(vec[:, lo:hi], (n, *shape)) for (lo, hi), shape in zip(bounds, shapes, strict=True)
    )
    return pieces, (0,) * len(pieces)


deflinear(_unravel, _unravel_vjp)
defbatch(_unravel, _unravel_batch)


def unravel_pieces(vec: Any, bounds: Any, shapes: Any) -> list[Any]:
    """``vec[lo:hi].reshape(shape)`` for each bound and shape, as one differentiable step.

    The inverse of ``ravel_pytree``'s concatenation: its gradient is one
    concatenation of the pieces' gradients.

    Example:
        >>> [p.shape for p in unravel_pieces(np.arange(5.0), ((0, 4), (4, 5)), ((2, 2), ()))]
        [(2, 2), ()]
    """
    bounds = tuple((int(lo), int(hi)) for lo, hi in bounds)
    shapes = tuple(tuple(int(n) for n in shape) for shape in shapes)
    return items(_unravel(vec, bounds=bounds, shapes=shapes), len(bounds))


def split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """Split into equal pieces or at the given indices along ``axis`` (numpy.split)."""
    if isinstance(indices_or_sections, (int, np.integer)):
        n = shape_of(ary)[axes_tuple(axis, len(shape_of(ary)))[0]]
        if n % int(indices_or_sections):
            raise ValueError("array split does not result in an equal division")
    return array_split(ary, indices_or_sections, axis)


def hsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    """Split column-wise: axis 1, or axis 0 for 1-d arrays (numpy.hsplit)."""
    ndim = len(shape_of(ary))
    if ndim == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return split(ary, indices_or_sections, axis=1 if ndim > 1 else 0)


def vsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    """Split row-wise, along axis 0 of an array of 2 or more dimensions (numpy.vsplit)."""
    if len(shape_of(ary)) < 2:
        raise ValueError("vsplit only works on arrays of 2 or more dimensions")
    return split(ary, indices_or_sections, axis=0)


def dsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    """Split along the third axis of an array of 3 or more dimensions (numpy.dsplit)."""
    if len(shape_of(ary)) < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return split(ary, indices_or_sections, axis=2)


for _np_joiner, _joiner in (
    (np.concatenate, concatenate),
    (np.stack, stack),
    (np.hstack, hstack),
    (np.vstack, vstack),
    (np.dstack, dstack),
    (np.column_stack, column_stack),
):
    register_numpy(_np_joiner, _joiner, sequences=True)  # lists of separate arrays
if hasattr(np, "row_stack"):  # deprecated in numpy 2, and going
    register_numpy(np.row_stack, row_stack, sequences=True)
for _np_fun, _impl in (
    (np.append, append),
    (np.split, split),
    (np.array_split, array_split),
    (np.hsplit, hsplit),
    (np.vsplit, vsplit),
    (np.dsplit, dsplit),
):
    register_numpy(_np_fun, _impl)
