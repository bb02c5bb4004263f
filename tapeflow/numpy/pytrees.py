"""``ravel_pytree``: a pytree of arrays as one differentiable vector, and back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow.core.pytree import tree_flatten, tree_unflatten
from tapeflow.numpy.elementwise import astype
from tapeflow.numpy.joining import concatenate, unravel_pieces
from tapeflow.numpy.shape import ravel

__all__ = ["ravel_pytree"]


def ravel_pytree(tree: Any) -> tuple[Any, Callable[[Any], Any]]:
    """Flatten a pytree of arrays into one 1-d vector, and return the inverse.

    The vector has the dtype numpy's type promotion gives the leaves; ``unravel``
    restores each leaf's shape and dtype. Both directions are differentiable.

    Example:
        >>> import numpy as np
        >>> flat, unravel = ravel_pytree({"w": np.ones((2, 2)), "b": np.zeros(3)})
        >>> flat.shape
        (7,)
        >>> unravel(flat)["w"].shape
        (2, 2)
    """
    leaves, treedef = tree_flatten(tree)
    shapes = [np.shape(x) for x in leaves]
    dtypes = [x.dtype if hasattr(x, "dtype") else np.result_type(x) for x in leaves]
    sizes = [int(np.prod(s)) for s in shapes]
    ends = np.cumsum(sizes, dtype=np.int64).tolist() if sizes else []
    bounds = [(end - size, end) for size, end in zip(sizes, ends, strict=True)]
    if leaves:
        flat = concatenate([ravel(x) for x in leaves])
    else:
        flat = np.zeros(0)

    def unravel(vec: Any) -> Any:
        if np.shape(vec) != (sum(sizes),):
            raise ValueError(
                f"unravel expects a vector of shape ({sum(sizes)},), got shape {np.shape(vec)}"
            )
        parts = unravel_pieces(vec, bounds, shapes) if shapes else []
        for i, dtype in enumerate(dtypes):
            if parts[i].dtype != dtype:
                parts[i] = astype(parts[i], dtype)
        return tree_unflatten(treedef, parts)

    return flat, unravel
