"""Rematerialisation: trade one extra forward pass for the memory of a block's intermediates.

Under reverse mode a checkpointed call is recorded as one tape entry (see
``tapeflow.custom``) that keeps only the block's inputs and outputs; the
block's own operations run on plain values and their intermediate arrays are
freed at once. The backward pass runs the block again under a fresh ``vjp``.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

from tapeflow.custom import _record_reverse, _top_trace, closes_over_trace
from tapeflow.tape import Tape
from tapeflow.tracer import Tracer
from tapeflow.transforms import _cast_to, _is_float, vjp
from tapeflow.tree_util import tree_flatten, tree_unflatten

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
        leaves, in_tree = tree_flatten(args)
        top = _top_trace(leaves)
        if not isinstance(top, Tape):
            return fun(*args, **kwargs)
        vals = [x._value if type(x) is Tracer and x._trace is top else x for x in leaves]
        traced = [i for i, x in enumerate(leaves) if type(x) is Tracer and x._trace is top]

        def call(*xs: Any) -> tuple[Any, ...]:
            return tuple(tree_flatten(fun(*tree_unflatten(in_tree, xs), **kwargs))[0])

        out = fun(*tree_unflatten(in_tree, vals), **kwargs)
        if closes_over_trace(out, top):
            warnings.warn(
                f"tp.checkpoint({getattr(fun, '__name__', 'fun')}): the function reads a traced "
                "value from a closure, so it cannot be rematerialised and runs without "
                "checkpointing (no memory is saved). Pass every differentiated value as an "
                "argument: tp.checkpoint(lambda params, x: ...)(params, x).",
                stacklevel=2,
            )
            return fun(*args, **kwargs)
        out_leaves, out_tree = tree_flatten(out)

        def pullback(ct_leaves: list[Any]) -> list[Any]:
            # The tape does not check dtypes on the way back, vjp_fn does: a cotangent that a
            # careless rule widened (float64 for a float32 output) is cast back here.
            ct_leaves = [
                _cast_to(c, o) if _is_float(o) else c
                for c, o in zip(ct_leaves, out_leaves, strict=True)
            ]

            def of_traced(*xs: Any) -> Any:
                full = list(vals)
                for i, x in zip(traced, xs, strict=True):
                    full[i] = x
                return fun(*tree_unflatten(in_tree, full), **kwargs)

            _, f_vjp = vjp(of_traced, *[vals[i] for i in traced])
            cts = f_vjp(tree_unflatten(out_tree, ct_leaves))
            full_cts: list[Any] = [None] * len(leaves)
            for i, c in zip(traced, cts, strict=True):
                full_cts[i] = c
            return full_cts

        return _record_reverse(top, leaves, vals, out, pullback, call)

    return remat
