"""The array operations the core and the transforms call, as numpy's layer does them.

``tapeflow.core`` defines what it needs from arrays as a protocol
(:mod:`tapeflow.core.arrays`) and :func:`install` fills it when ``tapeflow.numpy``
is imported: fitting cotangents and tangents (:mod:`~tapeflow.numpy.fitting`), and
the shape operations of ``vmap``, each a recorded tapeflow operation.
"""

from __future__ import annotations

from typing import Any

from tapeflow.core import arrays
from tapeflow.numpy.fitting import cast, fit_cotangent, fit_tangent, zeros
from tapeflow.numpy.indexing import getitem
from tapeflow.numpy.joining import concatenate
from tapeflow.numpy.meta import shape_of
from tapeflow.numpy.shape import broadcast_to, moveaxis, reshape

__all__ = ["install", "take_example", "stack_examples"]


def take_example(value: Any, i: int, axis: int) -> Any:
    """Example ``i`` of a batch ``value`` whose batch axis is ``axis``."""
    return getitem(value, (slice(None),) * axis + (i,))


def stack_examples(outs: list[Any]) -> Any:
    """Stack per-example results along a new axis 0."""
    return concatenate([reshape(o, (1,) + tuple(shape_of(o))) for o in outs], axis=0)


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
    )
