"""What the core and the transforms need from an array library, as a small protocol.

The tape adds cotangents, makes zero ones and fits them to the shape and dtype of
the value they belong to; ``vmap`` moves, takes and stacks batch axes. None of that
is an operation the core defines: an array layer (``tapeflow.numpy``) installs its
own with :func:`install` when it is imported, as autograd's numpy layer fills its
vector-space registry. The defaults handle Python numbers, which is all the core
needs on its own (``tests/core/`` declares primitives on floats and uses them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["ops", "install"]


def _no_array_layer(what: str) -> Callable[..., Any]:
    def missing(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(
            f"tapeflow's core needs an array layer to {what}; import tapeflow (or "
            "tapeflow.numpy), which installs numpy's"
        )

    return missing


def _add(a: Any, b: Any) -> Any:
    """The sum of two cotangents of one value (tuples: one entry per output)."""
    if type(a) is tuple:
        return tuple(
            x if y is None else y if x is None else x + y for x, y in zip(a, b, strict=True)
        )
    return a + b


def _same(value: Any, like: Any, *flags: Any) -> Any:
    return value


def _unchanged(prim: Any, args: tuple) -> tuple:
    return args


class ArrayOps:
    """The operations on values that the core and the transforms call.

    ``zeros(like)``: a zero cotangent with ``like``'s shape and dtype (a constant).
    ``add(a, b)``: the sum of two cotangents or tangents of one value.
    ``fit_cotangent(ct, arg, unbroadcast)``: give a cotangent ``arg``'s dtype (the real
    part for a real ``arg``) and, when ``unbroadcast`` is true (broadcasting primitives),
    sum it over the axes that broadcasting added to ``arg``. The tape calls it for every
    cotangent whose dtype (or broadcast shape) differs from its argument's.
    ``fit_tangent(t, ans)``: broadcast a tangent up to ``ans``'s shape and dtype.
    ``cast(x, like)``: ``x`` with the dtype of the transform's input ``like`` (a real
    part for a real input), as a scalar when ``like`` is one.
    ``moveaxis(x, src, dst)``, ``take(x, i, axis)``, ``stack(xs)`` (along a new first
    axis) and ``broadcast_to(x, shape)``: the shape operations of ``vmap``, each
    recorded by outer transforms.
    ``array_likes(prim, args)``: ``args`` with the lists and tuples holding traced values
    that ``prim`` reads as arrays made into traced arrays (``args`` itself when none
    is); a primitive's bind calls it when a positional argument is a list or tuple that
    holds a traced value or another list or tuple.
    ``asarray(x)``: a list or tuple holding traced values as one traced array.
    """

    __slots__ = (
        "zeros",
        "add",
        "fit_cotangent",
        "fit_tangent",
        "cast",
        "moveaxis",
        "take",
        "stack",
        "broadcast_to",
        "reshape",
        "array_likes",
        "asarray",
    )

    def __init__(self) -> None:
        self.zeros: Callable[[Any], Any] = lambda like: 0.0 * like
        self.add: Callable[[Any, Any], Any] = _add
        self.fit_cotangent: Callable[[Any, Any, bool], Any] = _same
        self.fit_tangent: Callable[[Any, Any], Any] = _same
        self.cast: Callable[[Any, Any], Any] = _same
        self.moveaxis: Callable[..., Any] = _no_array_layer("move a batch axis")
        self.take: Callable[..., Any] = _no_array_layer("take one example of a batch")
        self.stack: Callable[..., Any] = _no_array_layer("stack examples into a batch")
        self.broadcast_to: Callable[..., Any] = _no_array_layer("repeat a value over a batch")
        self.reshape: Callable[..., Any] = _no_array_layer("reshape a batch")
        self.array_likes: Callable[[Any, tuple], tuple] = _unchanged
        self.asarray: Callable[[Any], Any] = _no_array_layer("stack a list of traced values")


ops = ArrayOps()


def install(**impls: Callable[..., Any]) -> None:
    """Replace the named operations of :data:`ops` (called by an array layer at import)."""
    for name, impl in impls.items():
        if name not in ArrayOps.__slots__:
            raise TypeError(
                f"install: {name!r} is not an array operation the core uses; "
                f"the operations are {', '.join(ArrayOps.__slots__)}"
            )
        setattr(ops, name, impl)
