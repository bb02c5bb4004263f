"""How the numpy families declare what they offer beyond the primitive itself.

Each family file declares, beside each function: the numpy function (or ufunc
method) that reaches it from plain numpy code on traced arrays
(:func:`register_numpy`, the table :data:`NUMPY_DISPATCH`), and the ndarray
methods and operators of traced arrays that forward to it (:func:`method`,
:func:`operator`). :func:`ufunc` declares the primitive of a numpy ufunc and its
dispatch entry in one call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow.core.primitive import primitive
from tapeflow.core.tracer import Tracer, define

__all__ = [
    "NUMPY_DISPATCH",
    "TAKES_SEQUENCES",
    "ARRAY_ARGUMENTS",
    "array_arguments",
    "REPLACEMENTS",
    "register_numpy",
    "register_replacement",
    "ufunc",
    "method",
    "METHODS",
    "operator",
    "reflected_operator",
    "refused",
    "qualified_name",
    "unsupported_error",
    "no_out",
    "refuse_other_ndarray_attributes",
]

# ufunc() declares primitives for the family that calls it (see core.primitive).
DECLARES_FOR_CALLER = True

# numpy function, ufunc, or (ufunc, method name) -> tapeflow function implementing it on
# traced arrays (read by numpy's dispatch protocols, see tapeflow.numpy.dispatch).
NUMPY_DISPATCH: dict[Any, Callable[..., Any]] = {}

_PUBLIC_SUBMODULES = ("fft", "linalg", "random", "ma", "polynomial", "strings", "char")


# numpy functions whose arguments are sequences of separate arrays (concatenate's pieces,
# select's choices): the dispatch passes their lists on as they are (see below).
TAKES_SEQUENCES: set[Any] = set()


def register_numpy(numpy_fun: Any, impl: Callable[..., Any], sequences: bool = False) -> None:
    """Let ``numpy_fun`` (a function, ufunc or ``(ufunc, method)``) reach ``impl`` on tracers.

    The dispatch turns each list or tuple that holds traced arrays into one traced array
    before calling ``impl``, as numpy turns an array-like into an array;
    ``sequences=True`` declares a function whose lists are sequences of separate arrays
    (``concatenate``, ``stack``), passed on as they are.
    """
    NUMPY_DISPATCH[numpy_fun] = impl
    if sequences:
        TAKES_SEQUENCES.add(numpy_fun)
    else:
        TAKES_SEQUENCES.discard(numpy_fun)


# primitive -> the positional arguments it reads as arrays, where that is not the default:
# every argument of an elementwise primitive, the first of any other (the data; the rest
# are indices, shapes or options, whose lists mean something else).
ARRAY_ARGUMENTS: dict[Any, tuple[int, ...] | None] = {}


def array_arguments(fn: Any, *argnums: int, every: bool = False) -> None:
    """Declare the positional arguments of the primitive ``fn`` that are array-likes
    (``every=True``: all of them; none named: none): a list or tuple holding traced
    values there is stacked into one traced array, as numpy's ``asarray`` would."""
    ARRAY_ARGUMENTS[fn.primitive] = None if every else argnums


def ufunc(np_fun: np.ufunc, broadcasts: bool = False) -> Any:
    """Declare the (elementwise) primitive of a numpy ufunc and route ``np.<ufunc>`` to it."""
    prim = primitive(np_fun, name=np_fun.__name__, broadcasts=broadcasts, elementwise=True)
    register_numpy(np_fun, prim)
    return prim


# numpy objects that no dispatch reaches on traced arrays (np.r_ converts its pieces with
# np.array), by numpy name -> the tapeflow.numpy object to use instead (for the docs).
REPLACEMENTS: dict[str, Any] = {}


def register_replacement(numpy_name: str, replacement: Any) -> None:
    """Record that ``tapeflow.numpy``'s ``replacement`` stands in for ``numpy_name``."""
    REPLACEMENTS[numpy_name] = replacement


# ndarray method or property name -> the tapeflow function it forwards to (for the docs).
METHODS: dict[str, Callable[..., Any]] = {}


def method(
    name: str, fn: Callable[..., Any], impl: Callable[..., Any] | None = None, prop: bool = False
) -> None:
    """Give traced arrays the ndarray method ``name``: ``x.name(...)`` is ``fn(x, ...)``.

    ``impl`` replaces the plain forwarding when numpy's method takes its arguments
    differently from the function (``x.reshape(2, 3)``); ``prop`` makes it a property
    (``x.T``).
    """
    if impl is None:

        def forward(self: Any, *args: Any, **kwargs: Any) -> Any:
            return fn(self, *args, **kwargs)

        forward.__name__ = forward.__qualname__ = name
        forward.__doc__ = f"``{fn.__name__}(x, ...)`` as a method (numpy's ndarray.{name})."
        impl = forward
    define(name, property(impl) if prop else impl)
    METHODS[name] = fn


def operator(name: str, fn: Callable[..., Any]) -> None:
    """Bind the operator ``name`` (``"__add__"``) of traced arrays straight to ``fn``.

    A bound primitive as the method itself saves two Python calls on every operator,
    the hottest path of the library.
    """
    define(name, fn)


def reflected_operator(name: str, fn: Callable[..., Any]) -> None:
    """The reflected operator ``name`` (``"__radd__"``): ``other op x`` is ``fn(other, x)``."""
    define(name, lambda self, other: fn(other, self))


def refused(name: str, message: str) -> None:
    """Make the ndarray attribute ``name`` of traced arrays raise ``AttributeError(message)``."""

    def get(self: Any) -> Any:
        raise AttributeError(message)

    define(name, property(get))


def qualified_name(func: Any) -> str:
    """``numpy.fft.fft``, ``numpy.linalg.solve``, ``numpy.add.reduce``: how users spell it."""
    if isinstance(func, tuple):
        ufunc_, method_name = func
        return f"{qualified_name(ufunc_)}.{method_name}"
    name = getattr(func, "__name__", repr(func))
    if isinstance(func, np.ufunc):
        return f"numpy.{name}"
    module = getattr(func, "__module__", None) or "numpy"
    if module.startswith("numpy"):
        # numpy.linalg.solve and numpy.fft.fft keep their submodule; private ones
        # (numpy._core.fromnumeric) are spelled numpy.<name>, as users write them.
        public = [p for p in module.split(".")[1:2] if p in _PUBLIC_SUBMODULES]
        module = ".".join(["numpy"] + public)
    return f"{module}.{name}"


def unsupported_error(func: Any, detail: str = "") -> TypeError:
    """The error for a numpy function that tapeflow has no rule for."""
    return TypeError(
        f"tapeflow cannot differentiate {qualified_name(func)}{detail} yet; see docs/coverage.md "
        "for the supported functions, or declare it with tp.primitive and tp.defvjp."
    )


def no_out(out: Any, name: str) -> None:
    """Refuse numpy's ``out=`` argument of ``tapeflow.numpy.<name>`` (arrays are immutable)."""
    if out is not None:
        raise TypeError(
            f"tapeflow.numpy.{name}(..., out=...) would write into an array in place; "
            f"assign the result instead (y = np.{name}(x))"
        )


# ndarray methods that modify the array in place, with the functional form to use.
_IN_PLACE_METHODS: dict[str, str] = {
    "sort": "y = tnp.sort(x, axis)",
    "partition": "y = tnp.partition(x, kth)",
    "fill": "y = tnp.full_like(x, value)",
    "put": "y = tnp.at(x)[indices].set(values)",
    "itemset": "y = tnp.at(x)[index].set(value)",
    "resize": "y = tnp.reshape(x, shape) (or tnp.resize)",
}


def refuse_other_ndarray_attributes() -> None:
    """Make every public ndarray attribute that traced arrays lack raise a clear error.

    Called once, after every family declared its methods: the in-place methods say
    which functional form to use, the others point to tapeflow.numpy and coverage.
    """
    for name, fix in _IN_PLACE_METHODS.items():
        refused(
            name,
            f"ndarray.{name} changes the array in place, which traced arrays do not allow "
            f"(they are immutable); use {fix} instead",
        )
    for name in dir(np.ndarray):
        if not name.startswith("_") and not hasattr(Tracer, name):
            refused(
                name,
                f"tapeflow traced arrays do not support the ndarray attribute {name!r} yet. "
                f"Use the tapeflow.numpy function if there is one (tnp.{name}(x)); see "
                "docs/coverage.md for what is supported.",
            )
