"""The traced array: what a transformed function sees instead of an ndarray.

A :class:`Tracer` wraps a value (an ndarray, a numpy scalar, a Python float, or a
tracer of an outer transform) together with the trace that owns it and one field
that trace uses: ``_slot`` (its record on a tape or in a jit program),
``_tangent`` (forward mode) or ``_batch_axis`` (``vmap``).

The core gives tracers what every array has (shape, dtype, conversions to Python
values, immutability). Operators and ndarray methods are installed by the array
layer (``tapeflow.numpy``) with :func:`define`, each beside the function it forwards
to; anything not installed fails loudly instead of silently dropping a gradient.
"""

from __future__ import annotations

import abc
import math
from typing import TYPE_CHECKING, Any

import numpy as np

__all__ = ["Array", "Tracer", "is_traced", "unwrap", "define"]


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

    # One field per kind of trace, so that each reads a name that says what it holds.
    __slots__ = ("_value", "_trace", "_slot", "_tangent", "_batch_axis", "__weakref__")
    _value: Any
    _trace: Any
    _slot: int  # reverse mode and jit: the index of the record that made the value
    _tangent: Any  # forward mode
    _batch_axis: int  # vmap: the axis of _value that runs over the examples

    def __init__(self, value: Any, trace: Any) -> None:
        self._value = value
        self._trace = trace

    # ----- array attributes -------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        try:
            shape: tuple[int, ...] = self._value.shape
        except AttributeError:
            shape = ()  # a Python number
        if self._trace.batched:  # vmap: hide the batch axis
            d = self._batch_axis
            return shape[:d] + shape[d + 1 :]
        return shape

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

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

    # ----- conversions to plain Python values ------------------------------
    def _concrete(self, what: str) -> Any:
        value: Any = self
        while type(value) is Tracer:
            error = value._trace.concrete_error(what)
            if error is not None:
                raise error
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

    def __repr__(self) -> str:
        inner: Any = self
        while type(inner) is Tracer:
            inner = inner._value
        return f"Traced<{self._trace.kind}, level {self._trace.level}>({inner!r})"

    def __pos__(self) -> Any:
        return self

    __hash__ = None  # type: ignore[assignment]

    # ----- immutability -----------------------------------------------------
    def _immutable(self, what: str) -> TypeError:
        return TypeError(
            f"traced arrays are immutable, so {what} is not allowed inside a transform. "
            "Use the functional form instead: y = tnp.at(x)[idx].set(v) (or .add, .multiply, "
            ".min, .max), which works on numpy arrays too (x.at[idx] only on traced ones), or "
            "y = x + v instead of x += v."
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

    if TYPE_CHECKING:  # installed by the array layer (tapeflow.numpy) with define()

        def __getattr__(self, name: str) -> Any: ...
        def __add__(self, other: Any) -> Any: ...
        def __radd__(self, other: Any) -> Any: ...
        def __sub__(self, other: Any) -> Any: ...
        def __rsub__(self, other: Any) -> Any: ...
        def __mul__(self, other: Any) -> Any: ...
        def __rmul__(self, other: Any) -> Any: ...
        def __truediv__(self, other: Any) -> Any: ...
        def __rtruediv__(self, other: Any) -> Any: ...
        def __pow__(self, other: Any) -> Any: ...
        def __rpow__(self, other: Any) -> Any: ...
        def __matmul__(self, other: Any) -> Any: ...
        def __rmatmul__(self, other: Any) -> Any: ...
        def __neg__(self) -> Any: ...
        def __abs__(self) -> Any: ...
        def __lt__(self, other: Any) -> Any: ...
        def __le__(self, other: Any) -> Any: ...
        def __gt__(self, other: Any) -> Any: ...
        def __ge__(self, other: Any) -> Any: ...
        def __getitem__(self, index: Any) -> Any: ...


class Array(abc.ABC):  # noqa: B024  (no methods: a type to test against, by registration)
    """The type of arrays, traced or not: ``isinstance(x, tp.Array)`` holds for numpy
    arrays, for numpy's scalars (what numpy's reductions return), and for the traced
    arrays a function sees inside any transform. Python numbers are not arrays.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> isinstance(np.ones(2), tp.Array), isinstance(1.0, tp.Array)
        (True, False)
        >>> float(tp.grad(lambda x: x * isinstance(x, tp.Array))(3.0))
        1.0
    """

    __slots__ = ()


# (abstract base classes cache their answers: the check costs one lookup after the first)
Array.register(np.ndarray)
Array.register(np.number)  # type: ignore[type-abstract]
Array.register(np.bool_)
Array.register(Tracer)


def define(name: str, attribute: Any) -> None:
    """Install an operator, method or property on :class:`Tracer` (for array layers).

    A class attribute, rather than a ``__getattr__`` hook, keeps attribute access on
    tracers (``x._value`` on every recorded operation) on Python's fast path.
    """
    setattr(Tracer, name, attribute)


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
        error = x._trace.concrete_error("reading the contents of a traced array (unwrap)")
        if error is not None:
            raise error
        x = x._value
    return x
