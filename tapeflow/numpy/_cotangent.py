"""Work every rule would otherwise repeat: fitting cotangents and tangents to shapes.

Broadcasting primitives (``add``, ``multiply``, ``where``...) may receive inputs
of different shapes. Their rules are written as if no broadcasting happened;
the traces then call these helpers to sum a cotangent back down to its input's
shape (reverse mode) or to broadcast a tangent up to the output's shape
(forward mode). Both are written with tapeflow operations, so they are traced
when an outer transform is running.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy import ndarray  # a global: np.ndarray is a slow attribute load (see tape.py)

__all__ = ["unbroadcast", "fit_cotangent", "fit_tangent", "accumulate", "shape_of", "dtype_of"]


def shape_of(x: Any) -> tuple[int, ...]:
    """The shape of an array, tracer, numpy scalar or Python number."""
    try:
        return x.shape  # type: ignore[no-any-return]
    except AttributeError:
        return np.shape(x)


def dtype_of(x: Any) -> Any:
    """The dtype of an array, tracer, numpy scalar or Python number."""
    try:
        return x.dtype
    except AttributeError:
        return np.result_type(x)


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``g`` over the axes that broadcasting added or stretched, giving ``shape``."""
    g_shape = shape_of(g)
    if g_shape == shape:
        return g
    lead = len(g_shape) - len(shape)
    axes = tuple(range(lead))
    if 1 in shape:  # stretched length-1 axes too
        axes += tuple([lead + i for i, n in enumerate(shape) if n == 1 and g_shape[lead + i] != 1])
    if type(g) is ndarray:  # a plain cotangent (first order): numpy directly
        # np.add.reduce is what np.sum calls: the same values, without its wrappers.
        if axes:
            g = np.add.reduce(g, axis=axes)
        return g if g.shape == shape else g.reshape(shape)
    from tapeflow.numpy import reshape, sum

    if axes:
        g = sum(g, axis=axes)
    if shape_of(g) != shape:
        g = reshape(g, shape)
    return g


def fit_cotangent(ct: Any, arg: Any) -> Any:
    """Sum ``ct`` to ``arg``'s shape and give it ``arg``'s dtype when ``arg`` is an array."""
    try:  # the common cases, checked cheaply
        shape = arg.shape
        if ct.dtype == arg.dtype:
            if ct.shape == shape:
                return ct  # nothing to do
            if type(ct) is ndarray:  # a plain array broadcast up: sum it back down
                return unbroadcast(ct, shape)
    except AttributeError:
        pass
    shape = shape_of(arg)
    if shape_of(ct) != shape:
        ct = unbroadcast(ct, shape)
    # type(), not isinstance: numpy's float64/complex128 scalars subclass float/complex
    # and still need their complex cotangents made real.
    if type(arg) not in (float, int, complex):
        dtype = dtype_of(arg)
        ct_dtype = dtype_of(ct)
        if ct_dtype != dtype and np.issubdtype(dtype, np.inexact):
            from tapeflow.numpy import astype, real

            if np.issubdtype(ct_dtype, np.complexfloating) and not np.issubdtype(
                dtype, np.complexfloating
            ):
                ct = real(ct)
            ct = astype(ct, dtype)
    return ct


def fit_tangent(t: Any, ans: Any) -> Any:
    """Broadcast a tangent up to the output's shape and give it the output's dtype."""
    from tapeflow.numpy import astype, broadcast_to

    shape = shape_of(ans)
    if shape_of(t) != shape:
        t = broadcast_to(t, shape)
    dtype = dtype_of(ans)
    if dtype_of(t) != dtype:
        t = astype(t, dtype)
    return t


def accumulate(a: Any, b: Any) -> Any:
    """Add two cotangents for the same value (tuples of cotangents add entry by entry)."""
    if type(a) is tuple:
        return tuple(
            x if y is None else y if x is None else x + y for x, y in zip(a, b, strict=True)
        )
    return a + b
