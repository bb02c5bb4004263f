"""Shape manipulation: reshape, transpose, broadcasting, flips, rolls, repetition.

These functions only move entries around, so each is linear: its VJP moves the
cotangent back the same way and its JVP applies the same function to the tangent.
Most are compositions of a few primitives (``reshape``, ``transpose``,
``broadcast_to``, ``flip``, ``roll``) and need no rules of their own.
Joining and splitting are in :mod:`tapeflow.numpy.joining`, diagonals in
:mod:`tapeflow.numpy.diagonals`, padding in :mod:`tapeflow.numpy.padding`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.batching import axis_rule, sole_batched, static_arg, to_front
from tapeflow.core.primitive import (
    defbatch,
    defelementwise,
    deflinear,
    primitive,
    vjp_needs,
)
from tapeflow.core.tracer import Tracer, unwrap
from tapeflow.jit.codegen import Slot
from tapeflow.numpy.declare import method, register_numpy
from tapeflow.numpy.meta import as_operand, axes_tuple, contains_tracer, shape_of

__all__ = [
    "reshape",
    "transpose",
    "broadcast_to",
    "ravel",
    "swapaxes",
    "expand_dims",
    "squeeze",
    "moveaxis",
    "rollaxis",
    "broadcast_arrays",
    "tile",
    "repeat",
    "flip",
    "fliplr",
    "flipud",
    "roll",
    "rot90",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "copy",
    "meshgrid",
]


def _np_reshape(x: Any, shape: Any, order: str = "C") -> Any:
    return np.reshape(x, shape, order=order)  # type: ignore[call-overload]


_reshape = primitive(_np_reshape, name="reshape")
deflinear(_reshape, lambda g, ans, x, shape, order="C": _reshape(g, shape_of(x), order=order))


def _reshape_batch(args: Any, dims: Any, **kwargs: Any) -> Any:
    shape = static_arg(args, kwargs, 1, "shape")
    order = static_arg(args, kwargs, 2, "order", "C")
    if order != "C" or not sole_batched(dims):
        return NotImplemented
    x = to_front(args[0], dims[0])
    n = shape_of(x)[0]
    return _reshape(x, (n,) + tuple(shape)), 0


defbatch(_reshape, _reshape_batch)


def reshape(a: Any, shape: Any, order: str = "C") -> Any:
    """Give an array a new shape without changing its data (numpy.reshape)."""
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    return _reshape(a, tuple(shape), order=order)


def ravel(a: Any, order: str = "C") -> Any:
    """Flatten to one dimension (numpy.ravel)."""
    return _reshape(a, (-1,), order=order)


def _np_transpose(x: Any, axes: Any = None) -> Any:
    return np.transpose(x, axes)


_transpose = primitive(_np_transpose, name="transpose")


def _inverse_axes(axes: Any, ndim: int) -> Any:
    if axes is None:
        return None
    return tuple(np.argsort([a % ndim for a in axes]))


deflinear(
    _transpose,
    lambda g, ans, x, axes=None: _transpose(g, _inverse_axes(axes, len(shape_of(x)))),
)


def _transpose_batch(args: Any, dims: Any, **kwargs: Any) -> Any:
    axes = static_arg(args, kwargs, 1, "axes", None)
    if not sole_batched(dims):
        return NotImplemented
    x, d = args[0], dims[0]
    rank = len(shape_of(x)) - 1
    per = tuple(reversed(range(rank))) if axes is None else tuple(int(a) % rank for a in axes)
    physical = tuple(a if a < d else a + 1 for a in per)
    return _transpose(x, (d,) + physical), 0


def _transpose_jit_call(
    x: str, margs: tuple[Any, ...], kwargs: dict[str, Any], const: Any
) -> str | None:
    # np.transpose is a Python function ending in ndarray.transpose: tp.jit calls the
    # method directly (every weight gradient of a dense layer is a transpose).
    if len(margs) > 2 or set(kwargs) - {"axes"} or (len(margs) == 2 and kwargs):
        return None
    axes = margs[1] if len(margs) == 2 else kwargs.get("axes")
    if type(axes) is Slot or type(axes) is tuple and any(type(a) is Slot for a in axes):
        return None  # (axes are static in practice; traced ones take the general call)
    return f"{x}.transpose({const(axes)})"


defbatch(_transpose, _transpose_batch)
_transpose.primitive.jit_call = _transpose_jit_call


def transpose(a: Any, axes: Any = None) -> Any:
    """Permute the axes (reverse them by default), as numpy.transpose."""
    return _transpose(a, None if axes is None else tuple(axes))


def swapaxes(a: Any, axis1: int, axis2: int) -> Any:
    """Interchange two axes (numpy.swapaxes)."""
    ndim = len(shape_of(a))
    axes = list(range(ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return _transpose(a, tuple(axes))


def _np_broadcast_to(x: Any, shape: Any) -> Any:
    return np.broadcast_to(x, shape)


# The identity, broadcast: declared as a broadcasting primitive with derivative 1, the
# traces do the rest (sum the cotangent back to x's shape, broadcast the tangent up).
_broadcast_to = primitive(_np_broadcast_to, name="broadcast_to", broadcasts=True)
defelementwise(_broadcast_to, lambda u, ans, x, shape: u)
vjp_needs(_broadcast_to, ans=False, args=())


def _broadcast_to_batch(args: Any, dims: Any, **kwargs: Any) -> Any:
    shape = tuple(static_arg(args, kwargs, 1, "shape"))
    if not sole_batched(dims):
        return NotImplemented
    x = to_front(args[0], dims[0])
    xs = tuple(shape_of(x))
    lead = len(shape) - (len(xs) - 1)
    if lead < 0:
        return NotImplemented
    x = _reshape(x, xs[:1] + (1,) * lead + xs[1:])
    return _broadcast_to(x, xs[:1] + shape), 0


defbatch(_broadcast_to, _broadcast_to_batch)


def broadcast_to(array: Any, shape: Any) -> Any:
    """Broadcast an array to a new shape (numpy.broadcast_to); read-only result."""
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    return _broadcast_to(array, tuple(shape))


def expand_dims(a: Any, axis: Any) -> Any:
    """Insert length-1 axes (numpy.expand_dims)."""
    return _reshape(a, np.expand_dims(np.empty(shape_of(a), dtype=bool), axis).shape)


def squeeze(a: Any, axis: Any = None) -> Any:
    """Remove length-1 axes (numpy.squeeze)."""
    return _reshape(a, np.squeeze(np.empty(shape_of(a), dtype=bool), axis).shape)


def moveaxis(a: Any, source: Any, destination: Any) -> Any:
    """Move axes to new positions, keeping the others in order (numpy.moveaxis)."""
    ndim = len(shape_of(a))
    src = axes_tuple(source, ndim)
    dst = axes_tuple(destination, ndim)
    if len(src) != len(dst):
        raise ValueError("moveaxis: `source` and `destination` need the same number of elements")
    order = [i for i in range(ndim) if i not in src]
    for d, s_ in sorted(zip(dst, src, strict=False)):
        order.insert(d, s_)
    return _transpose(a, tuple(order))


def rollaxis(a: Any, axis: int, start: int = 0) -> Any:
    """Move ``axis`` to come just before position ``start`` (numpy.rollaxis; prefer
    :func:`moveaxis`).

    Example:
        >>> rollaxis(np.ones((2, 3, 4)), 2).shape
        (4, 2, 3)
    """
    ndim = len(shape_of(a))
    axis = axes_tuple(axis, ndim)[0]
    if start < 0:
        start += ndim
    if not 0 <= start < ndim + 1:
        raise np.exceptions.AxisError(
            f"'start' arg requires {-ndim} <= start < {ndim + 1}, but {start} was passed in"
        )
    if axis < start:
        start -= 1  # the axis leaves its place before start
    order = [i for i in range(ndim) if i != axis]
    order.insert(start, axis)
    return _transpose(a, tuple(order))


def broadcast_arrays(*args: Any) -> tuple[Any, ...]:
    """Broadcast arrays against each other (numpy.broadcast_arrays); returns a tuple."""
    shape = np.broadcast_shapes(*(shape_of(a) for a in args))
    return tuple(a if shape_of(a) == shape else broadcast_to(a, shape) for a in args)


def atleast_1d(*arys: Any) -> Any:
    """View inputs as arrays of at least one dimension (numpy.atleast_1d)."""
    out = tuple(a if len(shape_of(a)) >= 1 else _reshape(a, (1,)) for a in arys)
    return out[0] if len(out) == 1 else out


def _at_least_2d(a: Any) -> Any:
    shape = shape_of(a)
    if len(shape) >= 2:
        return a
    return _reshape(a, (1,) * (2 - len(shape)) + shape)


def _at_least_3d(a: Any) -> Any:
    shape = shape_of(a)
    if len(shape) >= 3:
        return a
    new = {0: (1, 1, 1), 1: (1,) + shape + (1,), 2: shape + (1,)}[len(shape)]
    return _reshape(a, new)


def atleast_2d(*arys: Any) -> Any:
    """View inputs as arrays of at least two dimensions (numpy.atleast_2d)."""
    out = tuple(_at_least_2d(a) for a in arys)
    return out[0] if len(out) == 1 else out


def atleast_3d(*arys: Any) -> Any:
    """View inputs as arrays of at least three dimensions (numpy.atleast_3d)."""
    out = tuple(_at_least_3d(a) for a in arys)
    return out[0] if len(out) == 1 else out


# ----- repetition -----------------------------------------------------------------
def tile(A: Any, reps: Any) -> Any:
    """Repeat an array ``reps`` times along each axis (numpy.tile).

    Written as reshape -> broadcast -> reshape, so the VJP sums the copies.
    """
    A = as_operand(A)
    reps = (int(reps),) if isinstance(reps, (int, np.integer)) else tuple(int(r) for r in reps)
    shape = shape_of(A)
    d = max(len(shape), len(reps))
    shape = (1,) * (d - len(shape)) + tuple(shape)
    reps = (1,) * (d - len(reps)) + reps
    spread = tuple(x for r, n in zip(reps, shape, strict=False) for x in (1, n))
    big = tuple(x for r, n in zip(reps, shape, strict=False) for x in (r, n))
    out = broadcast_to(_reshape(A, spread), big)
    return _reshape(out, tuple(r * n for r, n in zip(reps, shape, strict=False)))


def repeat(a: Any, repeats: Any, axis: int | None = None) -> Any:
    """Repeat each element ``repeats`` times along ``axis`` (flattened when None), as numpy.repeat.

    ``repeats`` is an int or one count per element along ``axis``.
    """
    a = as_operand(a)
    if axis is None:
        a = ravel(a)
        axis = 0
    shape = shape_of(a)
    ax = axes_tuple(axis, len(shape))[0]
    counts = np.asarray(unwrap(repeats))
    if counts.size == 1:
        r = int(counts.reshape(()))
        out = broadcast_to(
            _reshape(a, shape[: ax + 1] + (1,) + shape[ax + 1 :]),
            shape[: ax + 1] + (r,) + shape[ax + 1 :],
        )
        return _reshape(out, shape[:ax] + (shape[ax] * r,) + shape[ax + 1 :])
    index = np.repeat(np.arange(shape[ax]), counts)
    return a[(slice(None),) * ax + (index,)]


# ----- flips and rotations ---------------------------------------------------------
def _np_flip(x: Any, axis: Any) -> Any:
    return np.flip(x, axis)


_flip = primitive(_np_flip, name="flip")
deflinear(_flip, lambda g, ans, x, axis: _flip(g, axis=axis))
defbatch(_flip, axis_rule(_flip, "all"))


def flip(m: Any, axis: Any = None) -> Any:
    """Reverse the order of entries along the given axes (all when None), as numpy.flip."""
    ndim = len(shape_of(m))
    axes = tuple(range(ndim)) if axis is None else axes_tuple(axis, ndim)
    return _flip(m, axis=axes)


def fliplr(m: Any) -> Any:
    """Reverse the columns (axis 1), as numpy.fliplr."""
    if len(shape_of(m)) < 2:
        raise ValueError("Input must be >= 2-d.")
    return flip(m, 1)


def flipud(m: Any) -> Any:
    """Reverse the rows (axis 0), as numpy.flipud."""
    if len(shape_of(m)) < 1:
        raise ValueError("Input must be >= 1-d.")
    return flip(m, 0)


def rot90(m: Any, k: int = 1, axes: Any = (0, 1)) -> Any:
    """Rotate by 90 degrees ``k`` times in the plane of ``axes`` (numpy.rot90)."""
    ndim = len(shape_of(m))
    a0, a1 = axes_tuple(tuple(axes), ndim)
    if a0 == a1:
        raise ValueError("Axes must be different.")
    k %= 4
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, a0), a1)
    perm = list(range(ndim))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return _transpose(flip(m, a1), tuple(perm))
    return flip(_transpose(m, tuple(perm)), a1)


def _np_roll(x: Any, shift: Any, axis: Any) -> Any:
    return np.roll(x, shift, axis)


def _negate(shift: Any) -> Any:
    return tuple(-s for s in shift) if isinstance(shift, tuple) else -shift


_roll = primitive(_np_roll, name="roll")
deflinear(_roll, lambda g, ans, x, shift, axis: _roll(g, shift=_negate(shift), axis=axis))
defbatch(_roll, axis_rule(_roll, "loop"))


def roll(a: Any, shift: Any, axis: Any = None) -> Any:
    """Shift entries cyclically along ``axis`` (the flattened array when None), as numpy.roll."""
    if axis is None:
        return _reshape(_roll(ravel(a), shift=int(shift), axis=0), shape_of(a))
    shift = int(shift) if isinstance(shift, (int, np.integer)) else tuple(int(s) for s in shift)
    axis = int(axis) if isinstance(axis, (int, np.integer)) else tuple(int(s) for s in axis)
    return _roll(a, shift=shift, axis=axis)


# ----- copies and grids --------------------------------------------------------------
def copy(a: Any, order: str = "K", subok: bool = False) -> Any:
    """A copy (numpy.copy). Traced arrays are immutable, so they are returned as they are."""
    if type(a) is Tracer or contains_tracer(a):
        return as_operand(a)
    return np.copy(a, order=order, subok=subok)  # type: ignore[call-overload]


def meshgrid(*xi: Any, copy: bool = True, sparse: bool = False, indexing: str = "xy") -> tuple:
    """Coordinate grids from 1-d coordinate arrays (numpy.meshgrid), differentiable in them."""
    if not contains_tracer(list(xi)):
        return tuple(np.meshgrid(*xi, copy=copy, sparse=sparse, indexing=indexing))  # type: ignore[call-overload]
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    ndim = len(xi)
    ones = (1,) * ndim
    out = [_reshape(as_operand(x), ones[:i] + (-1,) + ones[i + 1 :]) for i, x in enumerate(xi)]
    if indexing == "xy" and ndim > 1:
        out[0] = _reshape(out[0], (1, -1) + ones[2:])
        out[1] = _reshape(out[1], (-1, 1) + ones[2:])
    return tuple(out) if sparse else broadcast_arrays(*out)


for _np_fun, _impl in (
    (np.reshape, reshape),
    (np.ravel, ravel),
    (np.transpose, transpose),
    (np.swapaxes, swapaxes),
    (np.broadcast_to, broadcast_to),
    (np.expand_dims, expand_dims),
    (np.squeeze, squeeze),
    (np.moveaxis, moveaxis),
    (np.rollaxis, rollaxis),
    (np.broadcast_arrays, broadcast_arrays),
    (np.tile, tile),
    (np.repeat, repeat),
    (np.flip, flip),
    (np.fliplr, fliplr),
    (np.flipud, flipud),
    (np.roll, roll),
    (np.rot90, rot90),
    (np.atleast_1d, atleast_1d),
    (np.atleast_2d, atleast_2d),
    (np.atleast_3d, atleast_3d),
    (np.copy, copy),
    (np.meshgrid, meshgrid),
):
    register_numpy(_np_fun, _impl)


# ----- ndarray methods -------------------------------------------------------------
def _reshape_method(self: Any, *shape: Any, order: str = "C") -> Any:
    if len(shape) == 1 and not isinstance(shape[0], int):
        shape = tuple(shape[0])
    return reshape(self, shape, order=order)


def _transpose_method(self: Any, *axes: Any) -> Any:
    perm: Any = axes
    if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], int)):
        perm = axes[0]
    return transpose(self, perm or None)


method("reshape", reshape, impl=_reshape_method)
method("transpose", transpose, impl=_transpose_method)
method("T", transpose, prop=True)
method("mT", swapaxes, impl=lambda self: swapaxes(self, -1, -2), prop=True)
method("flatten", ravel)
method("ravel", ravel)
method("squeeze", squeeze)
method("swapaxes", swapaxes)
method("repeat", repeat)
method("copy", copy)
