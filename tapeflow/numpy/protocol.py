"""The array operations the core and the transforms call, as numpy's layer does them.

``tapeflow.core`` defines what it needs from arrays as a protocol
(:mod:`tapeflow.core.arrays`) and :func:`install` fills it when ``tapeflow.numpy``
is imported: fitting cotangents and tangents (:mod:`~tapeflow.numpy.fitting`), and
the shape operations of ``vmap``, each a recorded tapeflow operation.
"""

from __future__ import annotations

from typing import Any

from tapeflow.core import arrays
from tapeflow.numpy.creation import asarray
from tapeflow.numpy.declare import ARRAY_ARGUMENTS
from tapeflow.numpy.fitting import cast, fit_cotangent, fit_tangent, zeros
from tapeflow.numpy.indexing import getitem
from tapeflow.numpy.joining import concatenate
from tapeflow.numpy.meta import contains_tracer, shape_of
from tapeflow.numpy.shape import broadcast_to, moveaxis, reshape

__all__ = ["install", "take_example", "stack_examples"]


def take_example(value: Any, i: int, axis: int) -> Any:
    """Example ``i`` of a batch ``value`` whose batch axis is ``axis``."""
    return getitem(value, (slice(None),) * axis + (i,))


def stack_examples(outs: list[Any]) -> Any:
    """Stack per-example results along a new axis 0."""
    return concatenate([reshape(o, (1,) + tuple(shape_of(o))) for o in outs], axis=0)


# Primitives declared here read arrays; a user's primitive gets its arguments as given.
_ARRAY_FAMILIES = ("tapeflow.numpy.", "tapeflow.scipy.")


def _positions(prim: Any) -> tuple[int, ...] | None:
    """The positional arguments ``prim`` reads as arrays (None: every one)."""
    if not prim.declared_in.startswith(_ARRAY_FAMILIES):
        return ()
    if prim in ARRAY_ARGUMENTS:
        return ARRAY_ARGUMENTS[prim]
    return None if prim.elementwise else (0,)


# primitive -> its _positions, decided on its first call with a list of traced values and
# kept (every declaration is made at import).
_POSITIONS: dict[Any, tuple[int, ...] | None] = {}


def array_likes(prim: Any, args: tuple) -> tuple:
    """``args`` with each list or tuple holding traced values that ``prim`` reads as an
    array (see :func:`~tapeflow.numpy.declare.array_arguments`) stacked into one."""
    try:
        positions = _POSITIONS[prim]
    except KeyError:
        positions = _POSITIONS[prim] = _positions(prim)
    lifted = None
    for i in range(len(args)) if positions is None else positions:
        if i < len(args) and type(args[i]) in (list, tuple) and contains_tracer(args[i]):
            lifted = lifted or list(args)
            lifted[i] = asarray(args[i])
    return args if lifted is None else tuple(lifted)


def install() -> None:
    """Give the core numpy's operations (called once, when ``tapeflow.numpy`` is imported)."""
    arrays.install(
        zeros=zeros,
        fit_cotangent=fit_cotangent,
        fit_tangent=fit_tangent,
        cast=cast,
        moveaxis=moveaxis,
        take=take_example,
        stack=stack_examples,
        broadcast_to=broadcast_to,
        reshape=reshape,
        array_likes=array_likes,
        asarray=asarray,
    )
