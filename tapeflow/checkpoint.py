"""Rematerialisation: trade one extra forward pass for the memory of a block's intermediates.

Under reverse mode a checkpointed call is recorded as one tape entry that keeps only
the block's inputs and outputs (``Tape.process_checkpoint_call``); the block's own
operations run on plain values and their intermediate arrays are freed at once. The
backward pass runs the block again under a fresh tape. Other traces just run it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from tapeflow.core.pytree import tree_flatten
from tapeflow.core.trace import top_trace

__all__ = ["checkpoint"]


def checkpoint(fun: Callable[..., Any]) -> Callable[..., Any]:
    """Rematerialise ``fun`` under reverse mode: keep its inputs, recompute the inside.

    Under ``grad``/``vjp`` the checkpointed call leaves a single entry on the tape
    that holds only its inputs (and outputs); none of ``fun``'s intermediate
    arrays stay alive. In the backward pass ``fun`` runs again under a fresh
    ``vjp`` to pull the cotangent back. This trades one extra forward pass for
    memory: checkpointing each block of a deep network keeps only the block
    boundaries alive. Under other transforms (or none) ``fun`` just runs.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> import tapeflow.numpy as tnp
        >>> block = tp.checkpoint(lambda x: tnp.tanh(tnp.tanh(x)))
        >>> g = tp.grad(lambda x: tnp.sum(block(block(x))))(np.ones(3))
        >>> g.shape
        (3,)
    """
    if not callable(fun):
        raise TypeError(f"checkpoint expects a callable, got {type(fun).__name__}")

    @functools.wraps(fun)
    def remat(*args: Any, **kwargs: Any) -> Any:
        top = top_trace(tree_flatten(args)[0])
        if top is None:
            return fun(*args, **kwargs)
        return top.process_checkpoint_call(fun, args, kwargs)

    return remat
