"""The traced array: what a transformed function sees instead of an ndarray.

A :class:`Tracer` wraps a value (an ndarray, a numpy scalar, a Python float,
or a tracer of an outer transform) together with the trace that owns it and
one trace-specific field (``_aux``): the tape slot for reverse mode, the
tangent for forward mode, the batch axis for ``vmap``.

Tracers behave like read-only ndarrays: operators, the common ndarray methods
and numpy's dispatch protocols all route to tapeflow primitives. Anything not
supported fails loudly instead of silently dropping the gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy import ndarray  # a global: np.ndarray is a slow attribute load (see tape.py)

__all__ = ["Tracer", "is_traced", "unwrap"]


_TNP: Any = None


# numpy function -> tapeflow function (the registry's table, filled at import).
_NUMPY_DISPATCH: dict[Any, Any] = {}


def _tnp() -> Any:
    """The tapeflow.numpy module (imported late: it imports this module)."""
    global _TNP
    if _TNP is None:
        import tapeflow.numpy as tnp

        _TNP = tnp
    return _TNP


class Tracer:
    """A read-only array whose operations are recorded by a running transform.

    Example:
        >>> import tapeflow as tp
        >>> def f(x):
        ...     print(type(x).__name__, x.shape)
        ...     return x * x
        >>> tp.grad(f)(3.0)
        Tracer ()
        np.float64(6.0)
    """

    __slots__ = ("_value", "_trace", "_aux", "__weakref__")
    # Make numpy hand binary operators with ndarrays on the left to us.
    __array_priority__ = 1000.0

    def __init__(self, value: Any, trace: Any, aux: Any) -> None:
        self._value = value
        self._trace = trace
        self._aux = aux

    # ----- array attributes -------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        v = self._value
        try:
            shape: tuple[int, ...] = v.shape
        except AttributeError:
            shape = np.shape(v)
        if self._trace.batched:  # vmap: hide the batch axis (stored in _aux)
            d = self._aux
            return shape[:d] + shape[d + 1 :]
        return shape

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def dtype(self) -> np.dtype[Any]:
        v = self._value
        try:
            return v.dtype  # type: ignore[no-any-return]
        except AttributeError:
            return np.result_type(v)

    def __len__(self) -> int:
        shape = self.shape
        if not shape:
            raise TypeError("len() of unsized object (a 0-d traced array)")
        return shape[0]

    def __iter__(self) -> Any:
        for i in range(len(self)):
            yield self[i]

    @property
    def T(self) -> Any:
        return _tnp().transpose(self)

    @property
    def mT(self) -> Any:
        return _tnp().swapaxes(self, -1, -2)

    @property
    def real(self) -> Any:
        return _tnp().real(self)

    @property
    def imag(self) -> Any:
        return _tnp().imag(self)

    @property
    def at(self) -> Any:
        return _tnp().at(self)

    # ----- conversions to plain Python values ------------------------------
    def _concrete(self, what: str) -> Any:
        value: Any = self
        while type(value) is Tracer:
            trace = value._trace
            check = getattr(trace, "concrete_error", None)
            if check is not None:
                raise check(what)
            value = value._value
        return value

    def __bool__(self) -> bool:
        return bool(self._concrete("bool()"))

    def __float__(self) -> float:
        return float(self._concrete("float()"))

    def __int__(self) -> int:
        return int(self._concrete("int()"))

    def __complex__(self) -> complex:
        return complex(self._concrete("complex()"))

    def __format__(self, spec: str) -> str:
        # f"{loss:.4f}" while logging inside a transform: format the plain value.
        if not spec:
            return str(self)
        return format(self._concrete("format()"), spec)

    def __round__(self, ndigits: Any = None) -> Any:
        # round() is piecewise constant (zero gradient): a plain value, like float().
        return round(self._concrete("round()"), ndigits)

    def __index__(self) -> int:
        return int(np.asarray(self._concrete("use as an index")).__index__())

    def item(self, *args: Any) -> Any:
        return np.asarray(self._concrete(".item()")).item(*args)

    def tolist(self) -> Any:
        return np.asarray(self._concrete(".tolist()")).tolist()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise TypeError(
            "numpy tried to convert a traced array to a plain ndarray (np.asarray, np.array or "
            "a numpy function without tapeflow support), which would silently drop its "
            "gradient. Use tapeflow.numpy functions or operators on traced values; to get "
            "the numbers without a gradient, call tp.stop_gradient(x) outside numpy, "
            "float(x) for a scalar, or differentiate with respect to another argument."
        )

    def __repr__(self) -> str:
        inner: Any = self
        while type(inner) is Tracer:
            inner = inner._value
        return f"Traced<{self._trace.kind}, level {self._trace.level}>({inner!r})"

    # ----- operators --------------------------------------------------------
    def __add__(self, other: Any) -> Any:
        return _tnp().add(self, other)

    def __radd__(self, other: Any) -> Any:
        return _tnp().add(other, self)

    def __sub__(self, other: Any) -> Any:
        return _tnp().subtract(self, other)

    def __rsub__(self, other: Any) -> Any:
        return _tnp().subtract(other, self)

    def __mul__(self, other: Any) -> Any:
        return _tnp().multiply(self, other)

    def __rmul__(self, other: Any) -> Any:
        return _tnp().multiply(other, self)

    def __truediv__(self, other: Any) -> Any:
        return _tnp().true_divide(self, other)

    def __rtruediv__(self, other: Any) -> Any:
        return _tnp().true_divide(other, self)

    def __floordiv__(self, other: Any) -> Any:
        return _tnp().floor_divide(self, other)

    def __rfloordiv__(self, other: Any) -> Any:
        return _tnp().floor_divide(other, self)

    def __mod__(self, other: Any) -> Any:
        return _tnp().mod(self, other)

    def __rmod__(self, other: Any) -> Any:
        return _tnp().mod(other, self)

    def __pow__(self, other: Any) -> Any:
        return _tnp().power(self, other)

    def __rpow__(self, other: Any) -> Any:
        return _tnp().power(other, self)

    def __matmul__(self, other: Any) -> Any:
        return _tnp().matmul(self, other)

    def __rmatmul__(self, other: Any) -> Any:
        return _tnp().matmul(other, self)

    def __neg__(self) -> Any:
        return _tnp().negative(self)

    def __pos__(self) -> Any:
        return self

    def __abs__(self) -> Any:
        return _tnp().absolute(self)

    def __lt__(self, other: Any) -> Any:
        return _tnp().less(self, other)

    def __le__(self, other: Any) -> Any:
        return _tnp().less_equal(self, other)

    def __gt__(self, other: Any) -> Any:
        return _tnp().greater(self, other)

    def __ge__(self, other: Any) -> Any:
        return _tnp().greater_equal(self, other)

    def __eq__(self, other: Any) -> Any:
        return _tnp().equal(self, other)

    def __ne__(self, other: Any) -> Any:
        return _tnp().not_equal(self, other)

    __hash__ = None  # type: ignore[assignment]

    # Boolean masks stay traced under vmap (one mask per example), so &, |, ^, ~
    # must work on them; integer bit operations are not supported.
    def _logical(self, other: Any, name: str) -> Any:
        if (
            np.dtype(self.dtype) != np.bool_
            or np.result_type(other.dtype if type(other) is Tracer else other) != np.bool_
        ):
            raise TypeError(
                f"tapeflow supports the operator for {name} only on boolean traced arrays "
                "(masks); use tnp.logical_and/or/xor/not, or compute integer bit operations "
                "outside the transform"
            )
        return getattr(_tnp(), name)(self, other)

    def __and__(self, other: Any) -> Any:
        return self._logical(other, "logical_and")

    __rand__ = __and__

    def __or__(self, other: Any) -> Any:
        return self._logical(other, "logical_or")

    __ror__ = __or__

    def __xor__(self, other: Any) -> Any:
        return self._logical(other, "logical_xor")

    __rxor__ = __xor__

    def __invert__(self) -> Any:
        if np.dtype(self.dtype) != np.bool_:
            raise TypeError("~ on a traced array is only supported for boolean masks")
        return _tnp().logical_not(self)

    def __getitem__(self, index: Any) -> Any:
        return _tnp().getitem(self, index)

    # ----- immutability -----------------------------------------------------
    def _immutable(self, what: str) -> TypeError:
        return TypeError(
            f"traced arrays are immutable, so {what} is not allowed inside a transform. "
            "Use the functional form instead: y = x.at[idx].set(v) (or .add, .multiply, .min, "
            ".max), or y = x + v instead of x += v."
        )

    def __setitem__(self, index: Any, value: Any) -> None:
        raise self._immutable("item assignment (x[idx] = v)")

    def __iadd__(self, other: Any) -> Any:
        raise self._immutable("in-place addition (x += v)")

    def __isub__(self, other: Any) -> Any:
        raise self._immutable("in-place subtraction (x -= v)")

    def __imul__(self, other: Any) -> Any:
        raise self._immutable("in-place multiplication (x *= v)")

    def __itruediv__(self, other: Any) -> Any:
        raise self._immutable("in-place division (x /= v)")

    def __ipow__(self, other: Any) -> Any:
        raise self._immutable("in-place power (x **= v)")

    def __imatmul__(self, other: Any) -> Any:
        raise self._immutable("in-place matmul (x @= v)")

    # ----- ndarray methods --------------------------------------------------
    def reshape(self, *shape: Any, order: str = "C") -> Any:
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = tuple(shape[0])
        return _tnp().reshape(self, shape, order=order)

    def transpose(self, *axes: Any) -> Any:
        perm: Any = axes
        if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], int)):
            perm = axes[0]
        return _tnp().transpose(self, perm or None)

    def astype(self, dtype: Any, copy: bool = True) -> Any:
        return _tnp().astype(self, dtype)

    # ----- numpy dispatch protocols (NEP 13 and NEP 18) ---------------------
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if method == "__call__" and not kwargs:  # ``ndarray @ tracer`` and friends
            impl = _NUMPY_DISPATCH.get(ufunc)
            if impl is not None:
                return impl(*inputs)
        from tapeflow.numpy.dispatch import array_ufunc

        return array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        from tapeflow.numpy.dispatch import array_function

        return array_function(func, args, kwargs)


# ndarray methods that forward to the tapeflow.numpy function of the same role.
_METHODS: dict[str, str] = {
    "sum": "sum",
    "mean": "mean",
    "max": "max",
    "min": "min",
    "prod": "prod",
    "var": "var",
    "std": "std",
    "cumsum": "cumsum",
    "cumprod": "cumprod",
    "dot": "dot",
    "clip": "clip",
    "flatten": "ravel",
    "ravel": "ravel",
    "squeeze": "squeeze",
    "swapaxes": "swapaxes",
    "take": "take",
    "repeat": "repeat",
    "conj": "conj",
    "conjugate": "conj",
    "argmax": "argmax",
    "argmin": "argmin",
    "argsort": "argsort",
    "all": "all",
    "any": "any",
    "diagonal": "diagonal",
    "trace": "trace",
    "round": "round",
    "nonzero": "nonzero",
    "copy": "copy",
    "ptp": "ptp",
}


# ndarray methods that modify the array in place, with the functional form to use.
_IN_PLACE_METHODS: dict[str, str] = {
    "sort": "y = tnp.sort(x, axis)",
    "partition": "y = tnp.partition(x, kth)",
    "fill": "y = tnp.full_like(x, value)",
    "put": "y = x.at[indices].set(values)",
    "itemset": "y = x.at[index].set(value)",
    "resize": "y = tnp.reshape(x, shape) (or tnp.resize)",
}


def is_traced(x: Any) -> bool:
    """True when ``x`` is a traced array of a running (or finished) transform.

    Example:
        >>> import tapeflow as tp
        >>> tp.grad(lambda x: float(tp.is_traced(x)) * x)(2.0)
        np.float64(1.0)
    """
    return type(x) is Tracer


def unwrap(x: Any) -> Any:
    """The plain value under every layer of tracing (no gradient flows through it).

    Under ``tp.jit`` the value seen while tracing is not the value of later calls,
    so reading it raises ``ConcretizationError`` instead of silently baking it into
    the compiled program.
    """
    while type(x) is Tracer:
        check = getattr(x._trace, "concrete_error", None)
        if check is not None:
            raise check("reading the contents of a traced array (unwrap)")
        x = x._value
    return x


def _operator_impl(op: Any, ufunc: Any) -> Any:
    """``op(a, b)`` when numpy's own dunder methods will run the ufunc, else ``ufunc(a, b)``.

    With an ndarray or numpy scalar on either side the operator calls the very same
    ufunc (identical results) but numpy scalars take a much shorter path; plain
    Python values keep numpy's semantics through the ufunc itself.
    """
    numpy_types = (np.ndarray, np.float64, np.float32, np.float16, np.complex128, np.complex64)

    def impl(a: Any, b: Any, **kwargs: Any) -> Any:
        if not kwargs and (type(a) in numpy_types or type(b) in numpy_types):
            return op(a, b)
        return ufunc(a, b, **kwargs)

    return impl


def _power_impl(a: Any, b: Any, **kwargs: Any) -> Any:
    """np.power, computing ``x ** 2`` of a float array as ``x * x``: bit-identical
    (IEEE pow is exact there) and several times faster than pow()."""
    if not kwargs and type(b) is int and b == 2 and type(a) is ndarray and a.dtype.kind == "f":
        return np.multiply(a, a)
    return np.power(a, b, **kwargs)


def _method(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def method(self: Tracer, *args: Any, **kwargs: Any) -> Any:
        return fn(self, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``{fn.__name__}(x, ...)`` as a method (numpy's ndarray.{name})."
    return method


def _refused(message: str) -> property:
    """A property that raises ``AttributeError(message)``: ndarray attributes we lack."""

    def get(self: Tracer) -> Any:
        raise AttributeError(message)

    return property(get)


def _unsupported_message(name: str) -> str:
    return (
        f"tapeflow traced arrays do not support the ndarray attribute {name!r} yet. "
        f"Use the tapeflow.numpy function if there is one (tnp.{name}(x)); see "
        "docs/coverage.md for what is supported."
    )


def install_methods(tnp: Any) -> None:
    """Give ``Tracer`` numpy's ndarray methods (called once at import).

    The methods in ``_METHODS`` forward to their tapeflow.numpy functions; the
    in-place ones and every other public ndarray attribute tapeflow lacks become
    properties that raise an AttributeError saying what to do instead. Real class
    attributes, rather than a ``__getattr__`` hook, keep attribute access on
    tracers (``x._value`` on every recorded operation) on Python's fast path.
    """
    for name, target in _METHODS.items():
        fn = getattr(tnp, target, None)
        setattr(
            Tracer,
            name,
            _method(name, fn) if fn is not None else _refused(_unsupported_message(name)),
        )
    for name, fix in _IN_PLACE_METHODS.items():
        message = (
            f"ndarray.{name} changes the array in place, which traced arrays do not allow "
            f"(they are immutable); use {fix} instead"
        )
        setattr(Tracer, name, _refused(message))
    for name in dir(np.ndarray):
        if not name.startswith("_") and not hasattr(Tracer, name):
            setattr(Tracer, name, _refused(_unsupported_message(name)))


def install_operators(tnp: Any) -> None:
    """Bind the arithmetic operators straight to the primitives (called once at import).

    The methods above go through ``_tnp()`` and work at any time; replacing them by
    the bound primitives saves two Python calls on every operator, the hottest path
    of the library.
    """
    direct = {
        "__add__": "add",
        "__sub__": "subtract",
        "__mul__": "multiply",
        "__truediv__": "true_divide",
        "__pow__": "power",
        "__matmul__": "matmul",
        "__neg__": "negative",
        "__lt__": "less",
        "__le__": "less_equal",
        "__gt__": "greater",
        "__ge__": "greater_equal",
    }
    for method, name in direct.items():
        fn = getattr(tnp, name, None)
        if fn is not None:
            setattr(Tracer, method, fn)
    reflected = {
        "__radd__": "add",
        "__rsub__": "subtract",
        "__rmul__": "multiply",
        "__rtruediv__": "true_divide",
        "__rpow__": "power",
        "__rmatmul__": "matmul",
    }
    for method, name in reflected.items():
        fn = getattr(tnp, name, None)
        if fn is not None:
            setattr(Tracer, method, (lambda f: lambda self, other: f(other, self))(fn))
    import operator

    from tapeflow.primitive import get_primitive

    for name, op in (
        ("add", operator.add),
        ("subtract", operator.sub),
        ("multiply", operator.mul),
        ("true_divide", operator.truediv),
    ):
        fn = getattr(tnp, name, None)
        if fn is not None and get_primitive(fn).fun is getattr(np, name):
            get_primitive(fn).impl = _operator_impl(op, getattr(np, name))
    power = getattr(tnp, "power", None)
    if power is not None and get_primitive(power).fun is np.power:
        get_primitive(power).impl = _power_impl
