"""Shape manipulation (reshape, transpose, concatenate, ...) and its rules.

Shape functions only move entries around, so each VJP moves the cotangent
back the same way and each JVP applies the same function to the tangent.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.numpy._cotangent import shape_of
from tapeflow.primitive import defjvp, defjvp_argnum, defvjp, defvjp_argnum, primitive
from tapeflow.primitive import register_numpy

__all__ = [
    "reshape",
    "transpose",
    "broadcast_to",
    "ravel",
    "swapaxes",
    "concatenate",
    "expand_dims",
    "squeeze",
]


def _np_reshape(x: Any, shape: Any, order: str = "C") -> Any:
    return np.reshape(x, shape, order=order)


_reshape = primitive(_np_reshape, name="reshape")
defvjp(_reshape, lambda ans, x, shape, order="C": lambda g: _reshape(g, shape_of(x), order=order))
defjvp(_reshape, lambda t, ans, x, shape, order="C": _reshape(t, shape, order=order))


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


defvjp(
    _transpose,
    lambda ans, x, axes=None: lambda g: _transpose(g, _inverse_axes(axes, len(shape_of(x)))),
)
defjvp(_transpose, lambda t, ans, x, axes=None: _transpose(t, axes))


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


_broadcast_to = primitive(_np_broadcast_to, name="broadcast_to")


def _unbroadcast_vjp(ans: Any, x: Any, shape: Any) -> Any:
    from tapeflow.numpy._cotangent import unbroadcast

    return lambda g: unbroadcast(g, shape_of(x))


defvjp(_broadcast_to, _unbroadcast_vjp)
defjvp(_broadcast_to, lambda t, ans, x, shape: _broadcast_to(t, shape))


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


# concatenate is variadic: the arrays are positional arguments of the primitive.
def _np_concatenate(*arrays: Any, axis: int = 0) -> Any:
    return np.concatenate(arrays, axis=axis)


_concatenate = primitive(_np_concatenate, name="concatenate")


def _concatenate_vjp(argnum: int, ans: Any, args: Any, kwargs: Any) -> Any:
    from tapeflow.numpy.indexing import getitem

    axis = kwargs.get("axis", 0)
    ndim = len(shape_of(ans))
    ax = axis % ndim
    start = int(np.sum([shape_of(a)[ax] for a in args[:argnum]]))
    stop = start + shape_of(args[argnum])[ax]
    index = (slice(None),) * ax + (slice(start, stop),)
    return lambda g: getitem(g, index)


defvjp_argnum(_concatenate, _concatenate_vjp)


def _concatenate_jvp(argnum: int, t: Any, ans: Any, args: Any, kwargs: Any) -> Any:
    from tapeflow.numpy.creation import zeros_like_shape

    parts = [t if i == argnum else zeros_like_shape(a, t) for i, a in enumerate(args)]
    return _concatenate(*parts, **kwargs)


defjvp_argnum(_concatenate, _concatenate_jvp)


def concatenate(arrays: Any, axis: int | None = 0) -> Any:
    """Join a sequence of arrays along an existing axis (numpy.concatenate)."""
    arrays = tuple(arrays)
    if axis is None:
        arrays = tuple(ravel(a) for a in arrays)
        axis = 0
    return _concatenate(*arrays, axis=axis)


for _np_fun, _impl in (
    (np.reshape, reshape),
    (np.ravel, ravel),
    (np.transpose, transpose),
    (np.swapaxes, swapaxes),
    (np.broadcast_to, broadcast_to),
    (np.expand_dims, expand_dims),
    (np.squeeze, squeeze),
    (np.concatenate, concatenate),
):
    register_numpy(_np_fun, _impl)
