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


def array_likes(prim: Any, args: tuple) -> tuple:
    """``args`` with each list or tuple holding traced values that ``prim`` reads as an
    array (see :func:`~tapeflow.numpy.declare.array_arguments`) stacked into one."""
    if not prim.declared_in.startswith(_ARRAY_FAMILIES):
        return args
    if prim in ARRAY_ARGUMENTS:
        argnums = ARRAY_ARGUMENTS[prim]
    else:
        argnums = None if prim.elementwise else (0,)
    lifted = None
    for i, a in enumerate(args):
        if (argnums is None or i in argnums) and type(a) in (list, tuple) and contains_tracer(a):
            lifted = lifted or list(args)
            lifted[i] = asarray(a)
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
