"""Array creation and constants: these pass through unchanged, without gradients.

``array``/``asarray`` also accept (nested) sequences that contain traced
scalars or arrays, which is how users build arrays from pieces: those are
stacked with the differentiable ``stack``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.numpy._cotangent import dtype_of, shape_of
from tapeflow.tracer import Tracer

__all__ = [
    "array",
    "asarray",
    "zeros",
    "ones",
    "empty",
    "full",
    "eye",
    "identity",
    "arange",
    "linspace",
    "zeros_like",
    "ones_like",
    "full_like",
    "shape",
    "ndim",
    "size",
    "zeros_like_shape",
    "newaxis",
    "pi",
    "e",
    "inf",
    "nan",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "bool_",
    "dtype",
    "ndarray",
]

newaxis = None
pi = np.pi
e = np.e
inf = np.inf
nan = np.nan
float16, float32, float64 = np.float16, np.float32, np.float64
complex64, complex128 = np.complex64, np.complex128
int8, int16, int32, int64, uint8, bool_ = np.int8, np.int16, np.int32, np.int64, np.uint8, np.bool_
dtype = np.dtype
ndarray = np.ndarray
zeros, ones, empty, full, eye, identity = np.zeros, np.ones, np.empty, np.full, np.eye, np.identity
arange, linspace = np.arange, np.linspace


def _contains_tracer(obj: Any) -> bool:
    if type(obj) is Tracer:
        return True
    if isinstance(obj, (list, tuple)):
        return any(_contains_tracer(o) for o in obj)
    return False


def _build(obj: Any, dtype: Any) -> Any:
    from tapeflow.numpy.elementwise import astype
    from tapeflow.numpy.shape import concatenate, reshape

    if isinstance(obj, (list, tuple)):
        parts = [_build(o, dtype) for o in obj]
        parts = [reshape(p, (1,) + tuple(shape_of(p))) for p in parts]
        return concatenate(parts, axis=0)
    if type(obj) is Tracer:
        return astype(obj, dtype) if dtype is not None and dtype_of(obj) != dtype else obj
    return np.asarray(obj, dtype=dtype)


def array(obj: Any, dtype: Any = None, copy: bool = True, ndmin: int = 0) -> Any:
    """numpy.array that also stacks traced values found inside lists and tuples."""
    if type(obj) is Tracer:
        from tapeflow.numpy.elementwise import astype

        return obj if dtype is None else astype(obj, dtype)
    if _contains_tracer(obj):
        return _build(obj, dtype)
    return np.array(obj, dtype=dtype, copy=copy, ndmin=ndmin)


def asarray(obj: Any, dtype: Any = None) -> Any:
    """numpy.asarray that keeps traced values traced (see :func:`array`)."""
    if type(obj) is Tracer or _contains_tracer(obj):
        return array(obj, dtype=dtype)
    return np.asarray(obj, dtype=dtype)


def zeros_like(a: Any, dtype: Any = None) -> np.ndarray:
    """Zeros with the shape and dtype of ``a`` (a plain array: constants carry no gradient)."""
    return np.zeros(shape_of(a), dtype or dtype_of(a))


def ones_like(a: Any, dtype: Any = None) -> np.ndarray:
    """Ones with the shape and dtype of ``a`` (a plain array)."""
    return np.ones(shape_of(a), dtype or dtype_of(a))


def full_like(a: Any, fill_value: Any, dtype: Any = None) -> np.ndarray:
    """An array of ``fill_value`` with the shape and dtype of ``a`` (a plain array)."""
    return np.full(shape_of(a), fill_value, dtype or dtype_of(a))


def zeros_like_shape(a: Any, like_dtype_of: Any) -> np.ndarray:
    """Zeros shaped like ``a`` with the dtype of ``like_dtype_of`` (tangent padding)."""
    return np.zeros(shape_of(a), dtype_of(like_dtype_of))


def shape(a: Any) -> tuple[int, ...]:
    """The shape of an array or traced array."""
    return shape_of(a)


def ndim(a: Any) -> int:
    """The number of dimensions of an array or traced array."""
    return len(shape_of(a))


def size(a: Any) -> int:
    """The number of elements of an array or traced array."""
    return int(np.prod(shape_of(a)))
