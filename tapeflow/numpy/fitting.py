"""Work every rule would otherwise repeat: fitting cotangents and tangents to values.

Broadcasting primitives (``add``, ``multiply``, ``where``...) may receive inputs
of different shapes. Their rules are written as if no broadcasting happened;
the traces then call these functions (through the core's array protocol, which
``tapeflow.numpy`` installs) to sum a cotangent back down to its input's shape
(reverse mode) or to broadcast a tangent up to the output's shape (forward
mode). They are written with tapeflow operations, so they are traced when an
outer transform is running.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy import ndarray  # a global: np.ndarray is a slow attribute load (see core/tape.py)

from tapeflow.core.leaves import leaf_dtype, value_shape
from tapeflow.numpy.elementwise import astype, real
from tapeflow.numpy.meta import dtype_of, shape_of
from tapeflow.numpy.reductions import sum as _sum
from tapeflow.numpy.shape import broadcast_to, reshape

__all__ = ["unbroadcast", "fit_cotangent", "fit_tangent", "cast", "zeros"]


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
    if axes:
        g = _sum(g, axis=axes)
    if shape_of(g) != shape:
        g = reshape(g, shape)
    return g


def fit_cotangent(ct: Any, arg: Any, unbroadcast_axes: bool = True) -> Any:
    """``ct`` with ``arg``'s dtype (a real part for a real ``arg``) and, unless
    ``unbroadcast_axes`` is false, summed to ``arg``'s shape.

    The tape calls it for every cotangent that does not fit its argument, so no rule
    needs to: a real value that met a complex one never keeps an imaginary cotangent.
    """
    if type(ct) is tuple:  # the cotangents of a custom call's outputs, one per output
        return ct
    try:  # the common cases, checked cheaply
        shape = arg.shape
        if ct.dtype == arg.dtype:
            if ct.shape == shape or not unbroadcast_axes:
                return ct  # nothing to do
            if type(ct) is ndarray:  # a plain array broadcast up: sum it back down
                return unbroadcast(ct, shape)
    except AttributeError:
        pass
    if unbroadcast_axes:
        shape = shape_of(arg)
        if shape_of(ct) != shape:
            ct = unbroadcast(ct, shape)
    # type(), not isinstance: numpy's float64/complex128 scalars subclass float/complex
    # and still need their complex cotangents made real.
    kind = type(arg)
    if kind is float:  # a Python float (an input's value): real, with any float dtype
        if np.issubdtype(dtype_of(ct), np.complexfloating):
            ct = real(ct)
    elif kind is not int and kind is not complex:
        dtype = dtype_of(arg)
        ct_dtype = dtype_of(ct)
        if ct_dtype != dtype and np.issubdtype(dtype, np.inexact):
            if np.issubdtype(ct_dtype, np.complexfloating) and not np.issubdtype(
                dtype, np.complexfloating
            ):
                ct = real(ct)
            ct = astype(ct, dtype)
    return ct


def fit_tangent(t: Any, ans: Any) -> Any:
    """Broadcast a tangent up to the output's shape and give it the output's dtype."""
    shape = shape_of(ans)
    if shape_of(t) != shape:
        t = broadcast_to(t, shape)
    dtype = dtype_of(ans)
    if dtype_of(t) != dtype:
        t = astype(t, dtype)
    return t


def zeros(like: Any) -> np.ndarray:
    """A zero cotangent with ``like``'s shape and dtype (a constant)."""
    return np.zeros(value_shape(like), leaf_dtype(like))


def cast(x: Any, like: Any) -> Any:
    """``x`` with the dtype of the transform's input ``like``, a real part for a real input.

    A 0-d array becomes a numpy scalar when ``like`` is not an array (a Python or
    numpy scalar): scalar in, scalar out.
    """
    dtype = leaf_dtype(like)
    x_dtype = getattr(x, "dtype", None)
    if x_dtype is None:  # a Python number from a rule: a numpy scalar, as for arrays
        return np.asarray(x, dtype)[()]
    if x_dtype != dtype:
        if np.issubdtype(x_dtype, np.complexfloating) and not np.issubdtype(
            dtype, np.complexfloating
        ):
            x = real(x)
        x = astype(x, dtype)
    if type(x) is ndarray and x.ndim == 0 and not isinstance(like, ndarray):
        x = x[()]
    return x
