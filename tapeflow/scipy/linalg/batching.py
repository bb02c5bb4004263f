"""``vmap`` for the primitives of ``tapeflow.scipy.linalg``: their kernels take stacks of
matrices whose leading axes broadcast, so a batch becomes one more leading axis."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tapeflow.numpy.meta import shape_of
from tapeflow.numpy.shape import expand_dims, moveaxis, reshape

__all__ = ["stacked_batch_rule"]


def stacked_batch_rule(
    prim: Any, cores: tuple[int, ...], vector_arg: int | None = None
) -> Callable[..., Any]:
    """The batching rule of ``prim``, whose argument ``i`` is a stack of ``cores[i]``-axis
    blocks. An argument without a batch axis gets one of length 1; singleton axes then
    line the examples' own stack axes up. ``vector_arg`` names an argument that may be a
    single vector per example (numpy 2's rule for 1-d right-hand sides): it is solved as a
    one-column matrix."""

    def rule(args: Any, dims: Any, **kwargs: Any) -> Any:
        ranks = [len(shape_of(x)) - (d is not None) for x, d in zip(args, dims, strict=True)]
        vector = vector_arg is not None and ranks[vector_arg] == 1
        moved = []
        for i, (x, d) in enumerate(zip(args, dims, strict=True)):
            x = expand_dims(x, 0) if d is None else moveaxis(x, d, 0)
            if vector and i == vector_arg:
                x = expand_dims(x, -1)
            moved.append(x)
        lead = [len(shape_of(x)) - 1 - c for x, c in zip(moved, cores, strict=True)]
        top = max(lead)
        aligned = [
            reshape(x, shape_of(x)[:1] + (1,) * (top - n) + shape_of(x)[1:])
            for x, n in zip(moved, lead, strict=True)
        ]
        out = prim(*aligned, **kwargs)
        if vector:
            out = reshape(out, shape_of(out)[:-1])
        return out, 0

    return rule
