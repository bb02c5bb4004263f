"""numpy's dispatch protocols for traced arrays (NEP 13 ``__array_ufunc__`` and
NEP 18 ``__array_function__``).

Plain numpy code (``np.exp(x)``, ``np.sum(x, axis=0)``, ``ndarray @ x``,
``np.add.reduce(x)``) reaches tapeflow through these hooks, which this module
installs on traced arrays. Each numpy function maps to the one tapeflow
implementation its family registered for it with ``register_numpy``; ufunc methods
are keyed ``(ufunc, method)``, for example ``(np.add, "reduce")`` maps to ``sum``
(:func:`ufunc_reduce` and :func:`ufunc_accumulate` make those entries). Anything
unregistered fails with a message naming the function, instead of numpy's generic
error or a silently dropped gradient.

Lists and tuples that hold traced arrays, where numpy takes an array-like
(``np.dot([a, b], x)``), become one traced array here, as numpy's own ``asarray``
would make them one array, except for the functions that take sequences of
separate arrays (``concatenate``, ``stack``: declared with ``sequences=True``).
numpy only asks tapeflow when a traced array is among the arguments it inspects:
``np.mean([a, b])``, with traced arrays only inside the list, is converted by numpy
itself and fails with the ``__array__`` error below, which says to stack the
pieces first (``np.mean(np.stack([a, b]))``) or to call ``tnp.mean([a, b])``:
tapeflow.numpy's functions take such lists wherever they read an array (see
:func:`~tapeflow.numpy.declare.array_arguments`).

Keyword arguments are checked here, once, so that the implementations only
ever see the keywords they declare:

* ``out=`` would write into an array in place: always an error.
* ``where=`` on a ufunc leaves unselected entries uninitialized: an error.
* ``dtype=`` on a ufunc call casts the inputs first, as numpy computes in
  that dtype.
* any other keyword the implementation does not take is dropped when it has
  numpy's default value and is an error naming it otherwise.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow.core.tracer import Tracer, define
from tapeflow.numpy.creation import asarray
from tapeflow.numpy.declare import (
    NUMPY_DISPATCH,
    TAKES_SEQUENCES,
    qualified_name,
    register_numpy,
    unsupported_error,
)
from tapeflow.numpy.elementwise import astype
from tapeflow.numpy.meta import contains_tracer, shape_of
from tapeflow.numpy.shape import reshape

__all__ = [
    "array_ufunc",
    "array_function",
    "ufunc_reduce",
    "ufunc_accumulate",
    "outer_ufuncs",
]

# Ufunc keywords that only affect memory layout or casting checks, never values.
_IGNORED_UFUNC_KWARGS = ("casting", "order", "subok")


def _in_place_error(what: str) -> TypeError:
    return TypeError(
        f"{what} would write into an array in place, which traced arrays do not allow "
        "(they are immutable). Assign the result instead (y = np.f(x)), or use the "
        "functional update y = tnp.at(x)[idx].set(v) / .add(v)."
    )


# ----- keyword arguments ------------------------------------------------------
@functools.cache
def _accepted(impl: Callable[..., Any]) -> tuple[frozenset[str], bool]:
    """(keyword names ``impl`` takes, whether it takes **kwargs)."""
    try:
        params = inspect.signature(impl).parameters.values()
    except (TypeError, ValueError):
        return frozenset(), True
    names = frozenset(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    return names, any(p.kind is p.VAR_KEYWORD for p in params)


@functools.cache
def _numpy_defaults(func: Any) -> dict[str, Any]:
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {p.name: p.default for p in params if p.default is not p.empty}


def _is_default(value: Any, default: Any) -> bool:
    if value is default or value is np._NoValue:
        return True
    if default is np._NoValue:
        return False
    try:
        return bool(type(value) is type(default) and value == default)
    except Exception:  # arrays and other values without a plain truth value
        return False


def _clean_kwargs(func: Any, impl: Callable[..., Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    if kwargs.get("out") is not None:
        raise _in_place_error(f"{qualified_name(func)}(..., out=...)")
    if "where" in kwargs and kwargs["where"] is None:
        # numpy reads None as a mask that selects nothing; tapeflow.numpy reads it as JAX
        # does, every entry. Neither answer would be numpy's on traced arrays: refuse.
        raise TypeError(
            f"{qualified_name(func)}(..., where=None): numpy reads None as a mask that selects "
            "no entry; pass where=True for every entry, or a boolean mask"
        )
    names, var_kw = _accepted(impl)
    if var_kw:
        return {k: v for k, v in kwargs.items() if k != "out"}
    defaults = _numpy_defaults(func)
    clean = {}
    for key, value in kwargs.items():
        if key in names:
            clean[key] = value
        elif key == "out" or (key in defaults and _is_default(value, defaults[key])):
            continue
        else:
            raise TypeError(
                f"tapeflow supports {qualified_name(func)} but not its keyword argument "
                f"{key}={_short(value)}; leave it out or compute the same result another way "
                "(see docs/coverage.md)"
            )
    return clean


def _short(value: Any) -> str:
    shape = getattr(value, "shape", None)
    if shape is not None and shape != ():
        return f"<{type(value).__name__} of shape {shape}>"
    return repr(value)


def _cast(x: Any, dtype: Any) -> Any:
    if type(x) is Tracer:
        return x if x.dtype == dtype else astype(x, dtype)
    return np.asarray(x).astype(dtype, copy=False)


# ----- array-likes holding traced arrays ------------------------------------------
def _stacked(value: Any) -> Any:
    if type(value) in (list, tuple) and contains_tracer(value):
        return asarray(value)
    return value


def _arrays_from_sequences(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """``args`` with each list or tuple that holds traced arrays stacked into one array.

    numpy would call ``asarray`` on such an argument, which cannot keep the gradient.
    """
    for a in args:
        if type(a) in (list, tuple):
            return tuple(_stacked(a) for a in args)
    return args


# ----- NEP 13: ufuncs and their methods -------------------------------------------
def array_ufunc(ufunc: Any, method: str, inputs: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Route ``ufunc(...)`` / ``ufunc.method(...)`` on traced arrays to tapeflow."""
    inputs = _arrays_from_sequences(inputs)
    out = kwargs.pop("out", None)
    if out is not None and not (isinstance(out, tuple) and all(o is None for o in out)):
        raise _in_place_error(
            f"numpy.{ufunc.__name__}(..., out=...) (or x op= y with an ndarray x)"
        )
    if method == "at":
        raise _in_place_error(f"numpy.{ufunc.__name__}.at(a, indices, b)")
    for key in _IGNORED_UFUNC_KWARGS:
        kwargs.pop(key, None)
    if method != "__call__":
        impl = NUMPY_DISPATCH.get((ufunc, method))
        if impl is None and method == "outer" and ufunc in NUMPY_DISPATCH and ufunc.nin == 2:
            impl = _make_outer(ufunc)
        if impl is None:
            raise unsupported_error(ufunc, f".{method}")
        return impl(*inputs, **kwargs)
    impl = NUMPY_DISPATCH.get(ufunc)
    if impl is None:
        raise unsupported_error(ufunc)
    where = kwargs.pop("where", True)
    if where is not True:
        raise TypeError(
            f"numpy.{ufunc.__name__}(..., where=...) leaves the unselected entries "
            "uninitialized and is not supported on traced arrays; use np.where(cond, "
            f"np.{ufunc.__name__}(...), other) instead"
        )
    dtype = kwargs.pop("dtype", None)
    if kwargs:
        key, value = next(iter(kwargs.items()))
        raise TypeError(
            f"tapeflow supports numpy.{ufunc.__name__} but not its keyword argument "
            f"{key}={_short(value)} on traced arrays"
        )
    if dtype is not None:
        inputs = tuple(_cast(x, np.dtype(dtype)) for x in inputs)
    return impl(*inputs)


def _binary_impl(ufunc: Any) -> Callable[..., Any]:
    impl = NUMPY_DISPATCH.get(ufunc)
    if impl is None:
        raise unsupported_error(ufunc)
    return impl


def ufunc_reduce(ufunc: Any, fn: Callable[..., Any], combine: Any = None) -> None:
    """Route ``ufunc.reduce`` on traced arrays to the reduction ``fn(array, axis, keepdims)``.

    ``combine`` is the ufunc that joins numpy's ``initial=`` with the result (None
    when ``initial=`` is not supported).
    """

    # The reductions that take numpy's where= and initial= themselves (sum, prod, max...).
    masks = "where" in inspect.signature(fn).parameters

    def reduce(
        array: Any,
        axis: Any = 0,
        dtype: Any = None,
        out: Any = None,
        keepdims: bool = False,
        initial: Any = np._NoValue,
        where: Any = True,
    ) -> Any:
        given = initial is not np._NoValue and initial is not None
        if where is None:  # numpy's mask that selects nothing (see _clean_kwargs)
            raise TypeError(
                f"numpy.{ufunc.__name__}.reduce(..., where=None): numpy reads None as a mask "
                "that selects no entry; pass where=True for every entry, or a boolean mask"
            )
        if where is not True and not masks:
            raise TypeError(
                f"numpy.{ufunc.__name__}.reduce(..., where=...) is not supported on traced "
                "arrays; select with np.where first"
            )
        if dtype is not None:
            array = _cast(array, np.dtype(dtype))
        if masks:
            extra = {"initial": initial} if given else {}
            return fn(array, axis=axis, keepdims=keepdims, where=where, **extra)
        result = fn(array, axis=axis, keepdims=keepdims)
        if given:
            if combine is None:
                raise TypeError(f"numpy.{ufunc.__name__}.reduce(..., initial=) is not supported")
            result = _binary_impl(combine)(result, initial)
        return result

    reduce.__name__ = f"{ufunc.__name__}_reduce"
    reduce.tapeflow_target = fn.__name__  # type: ignore[attr-defined]
    register_numpy((ufunc, "reduce"), reduce)


def ufunc_accumulate(ufunc: Any, fn: Callable[..., Any]) -> None:
    """Route ``ufunc.accumulate`` on traced arrays to the scan ``fn(array, axis)``."""

    def accumulate(array: Any, axis: int = 0, dtype: Any = None, out: Any = None) -> Any:
        if dtype is not None:
            array = _cast(array, np.dtype(dtype))
        return fn(array, axis=axis)

    accumulate.__name__ = f"{ufunc.__name__}_accumulate"
    accumulate.tapeflow_target = fn.__name__  # type: ignore[attr-defined]
    register_numpy((ufunc, "accumulate"), accumulate)


def _make_outer(ufunc: Any) -> Callable[..., Any]:
    """``ufunc.outer(a, b)``: the ufunc on ``a`` reshaped to broadcast against all of ``b``."""

    def outer(a: Any, b: Any, dtype: Any = None) -> Any:
        if dtype is not None:
            a, b = _cast(a, np.dtype(dtype)), _cast(b, np.dtype(dtype))
        a_shape, b_shape = tuple(shape_of(a)), tuple(shape_of(b))
        return _binary_impl(ufunc)(reshape(a, a_shape + (1,) * len(b_shape)), b)

    outer.__name__ = f"{ufunc.__name__}_outer"
    outer.tapeflow_target = ufunc.__name__  # type: ignore[attr-defined]
    return outer


def outer_ufuncs() -> list[Any]:
    """The registered binary ufuncs, whose ``.outer`` method therefore works on traced arrays."""
    return [f for f in NUMPY_DISPATCH if isinstance(f, np.ufunc) and f.nin == 2]


# ----- NEP 18: every other numpy function ------------------------------------------
def array_function(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Route ``np.func(...)`` with a traced argument to its tapeflow implementation."""
    impl = NUMPY_DISPATCH.get(func)
    if impl is None:
        raise unsupported_error(func)
    if func not in TAKES_SEQUENCES:
        args = _arrays_from_sequences(args)
        if kwargs and any(type(v) in (list, tuple) for v in kwargs.values()):
            kwargs = {k: _stacked(v) for k, v in kwargs.items()}
    if kwargs:
        kwargs = _clean_kwargs(func, impl, kwargs)
    return impl(*args, **kwargs)


# ----- the hooks on traced arrays ---------------------------------------------------
def _tracer_array_ufunc(self: Any, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
    if method == "__call__" and not kwargs:  # ``ndarray @ tracer`` and friends
        impl = NUMPY_DISPATCH.get(ufunc)
        if impl is not None:
            return impl(*_arrays_from_sequences(inputs))
    return array_ufunc(ufunc, method, inputs, kwargs)


def _tracer_array_function(self: Any, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
    return array_function(func, args, kwargs)


# numpy's index objects that convert their pieces with np.array, by class name.
_INDEX_OBJECTS = {"RClass": "r_", "CClass": "c_"}


def _numpy_caller() -> str | None:
    """The numpy function (``mean``, or the index object ``r_``) whose own Python code is
    converting an argument, if any: numpy converts a list of traced arrays itself when
    none is outside it, and ``np.r_[...]`` converts every piece."""
    try:
        frame = sys._getframe(2)
    except ValueError:  # called from the outermost frame
        return None
    name = None
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module == "numpy" or module.startswith("numpy."):
            name = frame.f_code.co_name
            if name == "__getitem__":
                name = _INDEX_OBJECTS.get(type(frame.f_locals.get("self")).__name__)
        elif name is not None:
            break
        frame = frame.f_back  # type: ignore[assignment]
    return name if name is not None and not name.startswith("_") else None


def _tracer_array(self: Any, dtype: Any = None, copy: Any = None) -> np.ndarray:
    caller = _numpy_caller()
    if caller in ("r_", "c_"):
        where = (
            f" (numpy.{caller}[...] converts every piece with np.array: use "
            f"tapeflow.numpy.{caller}[...] for traced pieces)"
        )
    else:
        where = f" (numpy.{caller} was converting its argument)" if caller else ""
    raise TypeError(
        "numpy tried to convert a traced array to a plain ndarray (np.asarray, np.array or "
        "a numpy function without tapeflow support), which would silently drop its "
        f"gradient{where}. Use tapeflow.numpy functions or operators on traced values; a "
        "list or tuple of traced arrays given to a numpy function that sees no traced "
        "array outside it (np.mean([a, b])) is converted by numpy itself: stack the "
        "pieces first (np.mean(np.stack([a, b])), or tnp.array([a, b])), or call the "
        "tapeflow.numpy function, which takes such lists (tnp.mean([a, b])). "
        "To get the numbers without a gradient, call tp.stop_gradient(x) outside numpy, "
        "float(x) for a scalar, or differentiate with respect to another argument."
    )


define("__array_ufunc__", _tracer_array_ufunc)
define("__array_function__", _tracer_array_function)
define("__array__", _tracer_array)
# Make numpy hand binary operators with ndarrays on the left to traced arrays.
define("__array_priority__", 1000.0)
