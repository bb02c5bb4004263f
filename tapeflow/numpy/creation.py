"""Array creation and constants: these pass through unchanged, without gradients.

``array``/``asarray`` also accept (nested) sequences that contain traced
scalars or arrays, which is how users build arrays from pieces: those are
stacked with the differentiable ``stack``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.core.primitive import nondifferentiable, primitive
from tapeflow.core.tracer import Tracer
from tapeflow.numpy.declare import array_arguments, register_numpy
from tapeflow.numpy.elementwise import astype
from tapeflow.numpy.joining import build_array
from tapeflow.numpy.meta import contains_tracer, dtype_of, shape_of
from tapeflow.numpy.shape import broadcast_to, moveaxis, reshape

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
    "empty_like",
    "iscomplexobj",
    "isrealobj",
    "result_type",
    "isclose",
    "allclose",
    "array_equal",
    "shape",
    "ndim",
    "size",
    "newaxis",
    "pi",
    "e",
    "inf",
    "nan",
    "float16",
    "float32",
    "float64",
    "longdouble",
    "complex64",
    "complex128",
    "clongdouble",
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
longdouble, clongdouble = np.longdouble, np.clongdouble
int8, int16, int32, int64, uint8, bool_ = np.int8, np.int16, np.int32, np.int64, np.uint8, np.bool_
dtype = np.dtype
ndarray = np.ndarray
zeros, ones, empty, full, eye, identity = np.zeros, np.ones, np.empty, np.full, np.eye, np.identity
arange = np.arange


def array(obj: Any, dtype: Any = None, copy: bool = True, ndmin: int = 0) -> Any:
    """numpy.array that also stacks traced values found inside lists and tuples.

    Example:
        >>> import tapeflow as tp, tapeflow.numpy as tnp
        >>> tp.grad(lambda x: tnp.array([x, 2 * x, [3.0]]).sum())(np.ones(1))
        array([3.])
    """
    if type(obj) is Tracer or contains_tracer(obj):
        out = obj if type(obj) is Tracer else build_array(obj, dtype)
        if dtype is not None and dtype_of(out) != np.dtype(dtype):
            out = astype(out, dtype)
        shape = tuple(shape_of(out))
        if len(shape) < ndmin:
            out = reshape(out, (1,) * (ndmin - len(shape)) + shape)
        return out
    return np.array(obj, dtype=dtype, copy=copy, ndmin=ndmin)


def asarray(obj: Any, dtype: Any = None) -> Any:
    """numpy.asarray that keeps traced values traced (see :func:`array`)."""
    if type(obj) is Tracer or contains_tracer(obj):
        return array(obj, dtype=dtype)
    return np.asarray(obj, dtype=dtype)


def _like_shape(a: Any, shape: Any) -> Any:
    return shape_of(a) if shape is None else shape


def zeros_like(
    a: Any, dtype: Any = None, order: str = "K", subok: bool = True, shape: Any = None
) -> np.ndarray:
    """Zeros with the shape and dtype of ``a`` (a plain array: constants carry no gradient)."""
    return np.zeros(_like_shape(a, shape), dtype or dtype_of(a))


def ones_like(
    a: Any, dtype: Any = None, order: str = "K", subok: bool = True, shape: Any = None
) -> np.ndarray:
    """Ones with the shape and dtype of ``a`` (a plain array)."""
    return np.ones(_like_shape(a, shape), dtype or dtype_of(a))


def empty_like(
    a: Any, dtype: Any = None, order: str = "K", subok: bool = True, shape: Any = None
) -> np.ndarray:
    """An uninitialized array with the shape and dtype of ``a`` (a plain array)."""
    return np.empty(_like_shape(a, shape), dtype or dtype_of(a))


def full_like(
    a: Any,
    fill_value: Any,
    dtype: Any = None,
    order: str = "K",
    subok: bool = True,
    shape: Any = None,
) -> Any:
    """An array of ``fill_value`` with the shape and dtype of ``a``.

    Plain when ``fill_value`` is plain; a traced ``fill_value`` is broadcast
    (differentiably) to the shape.
    """
    target = _like_shape(a, shape)
    dtype = dtype or dtype_of(a)
    if type(fill_value) is Tracer:
        return broadcast_to(astype(fill_value, dtype), target)
    return np.full(target, fill_value, dtype)


def shape(a: Any) -> tuple[int, ...]:
    """The shape of an array or traced array."""
    return tuple(shape_of(a))


def ndim(a: Any) -> int:
    """The number of dimensions of an array or traced array."""
    return len(shape_of(a))


def size(a: Any, axis: Any = None) -> int:
    """The number of elements of an array or traced array (along ``axis`` if given)."""
    dims = shape_of(a)
    if axis is None:
        return int(np.prod(dims))
    return int(dims[axis])


def iscomplexobj(x: Any) -> bool:
    """True when ``x`` has a complex dtype (numpy.iscomplexobj for traced arrays)."""
    return bool(np.issubdtype(dtype_of(x), np.complexfloating))


def isrealobj(x: Any) -> bool:
    """True when ``x`` does not have a complex dtype."""
    return not iscomplexobj(x)


def result_type(*arrays_and_dtypes: Any) -> np.dtype[Any]:
    """numpy.result_type, reading the dtype of traced arrays without touching their values."""
    return np.result_type(*[dtype_of(a) if type(a) is Tracer else a for a in arrays_and_dtypes])


def linspace(
    start: Any,
    stop: Any,
    num: int = 50,
    endpoint: bool = True,
    retstep: bool = False,
    dtype: Any = None,
    axis: int = 0,
) -> Any:
    """numpy.linspace; differentiable in ``start`` and ``stop`` when they are traced.

    Example:
        >>> import tapeflow as tp, tapeflow.numpy as tnp
        >>> float(tp.grad(lambda b: tnp.linspace(0.0, b, 5).sum())(2.0))
        2.5
    """
    if type(start) is not Tracer and type(stop) is not Tracer:
        return np.linspace(start, stop, num, endpoint, retstep, dtype, axis)  # type: ignore[call-overload]
    div = (num - 1) if endpoint else num
    steps = np.arange(num, dtype=np.float64) / div if div > 0 else np.zeros(num)
    if num == 1 and endpoint:
        steps = np.zeros(1)
    # numpy's rule: the endpoints' dtypes with a Python float, which float32 and complex64
    # endpoints keep (the type `float` would widen them to 64 bits). Python numbers are
    # passed as they are, weak as in numpy.
    common = np.result_type(
        *[dtype_of(a) if type(a) is Tracer else a for a in (start, stop)], float(num)
    )
    steps = steps.astype(common)
    extra = max(len(shape_of(start)), len(shape_of(stop)))
    steps = steps.reshape((num,) + (1,) * extra)
    out = start + (stop - start) * steps
    if axis != 0:
        out = moveaxis(out, 0, axis)
    if dtype is not None:
        out = astype(out, dtype)
    if retstep:
        return out, (stop - start) / div if div > 0 else np.nan
    return out


def _np_isclose(a: Any, b: Any, **tolerances: Any) -> Any:
    return np.isclose(a, b, **tolerances)


def _np_allclose(a: Any, b: Any, **tolerances: Any) -> Any:
    return np.allclose(a, b, **tolerances)


def _np_array_equal(a1: Any, a2: Any, equal_nan: bool = False) -> Any:
    return np.array_equal(a1, a2, equal_nan=equal_nan)


_isclose = primitive(_np_isclose, name="isclose", elementwise=True)
_allclose = primitive(_np_allclose, name="allclose")
_array_equal = primitive(_np_array_equal, name="array_equal")
for _prim in (_isclose, _allclose, _array_equal):
    nondifferentiable(_prim)
    array_arguments(_prim, every=True)


def isclose(
    a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> Any:
    """numpy.isclose on values (a plain boolean array; no gradient)."""
    return _isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


def allclose(
    a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> bool:
    """numpy.allclose on values (a plain bool; no gradient)."""
    return bool(_allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def array_equal(a1: Any, a2: Any, equal_nan: bool = False) -> bool:
    """numpy.array_equal on values (a plain bool; no gradient)."""
    return bool(_array_equal(a1, a2, equal_nan=equal_nan))


def _like_creation(np_fun: Any) -> Any:
    """``np.zeros(3, like=traced)`` (NEP 35): numpy's own array; constants carry no gradient."""

    def create(*args: Any, **kwargs: Any) -> np.ndarray:
        kwargs.pop("like", None)
        out: np.ndarray = np_fun(*args, **kwargs)
        return out

    create.__name__ = np_fun.__name__
    create.__doc__ = f"numpy.{np_fun.__name__} called with like= a traced array (a plain array)."
    create.tapeflow_plain = True  # type: ignore[attr-defined]
    return create


def _like_array(np_fun: Any, impl: Any) -> Any:
    """``np.array(obj, like=traced)``: tnp.array, which stacks traced pieces of ``obj``."""

    def create(obj: Any, dtype: Any = None, **kwargs: Any) -> Any:
        kwargs.pop("like", None)
        if contains_tracer(obj):
            return impl(obj, dtype=dtype)
        return np_fun(obj, dtype=dtype, **kwargs)

    create.__name__ = np_fun.__name__
    create.tapeflow_target = impl.__name__  # type: ignore[attr-defined]
    return create


# Helpers that only read shapes and dtypes (for the coverage table: no primitive, no gradient).
# The loop variables hold functions of different signatures.
_impl: Any
_np_fun: Any
for _impl in (
    zeros_like,
    ones_like,
    empty_like,
    shape,
    ndim,
    size,
    iscomplexobj,
    isrealobj,
    result_type,
):
    _impl.tapeflow_plain = True

for _np_fun, _impl in (
    (np.zeros_like, zeros_like),
    (np.ones_like, ones_like),
    (np.empty_like, empty_like),
    (np.full_like, full_like),
    (np.shape, shape),
    (np.ndim, ndim),
    (np.size, size),
    (np.iscomplexobj, iscomplexobj),
    (np.isrealobj, isrealobj),
    (np.result_type, result_type),
    (np.linspace, linspace),
    (np.isclose, isclose),
    (np.allclose, allclose),
    (np.array_equal, array_equal),
    (np.array, _like_array(np.array, array)),
    (np.asarray, _like_array(np.asarray, asarray)),
):
    register_numpy(_np_fun, _impl)
for _np_fun in (np.zeros, np.ones, np.empty, np.full, np.arange, np.eye, np.identity):
    register_numpy(_np_fun, _like_creation(_np_fun))
