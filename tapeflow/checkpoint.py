"""Rematerialisation: trade one extra forward pass for the memory of a block's intermediates.

Under reverse mode a checkpointed call is recorded as one tape entry that keeps only
the block's inputs and outputs (``Tape.process_checkpoint_call``); the block's own
operations run on plain values and their intermediate arrays are freed at once. The
backward pass runs the block again under a fresh tape. Other traces just run it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from tapeflow.core.pytree import tree_flatten
from tapeflow.core.trace import top_trace

__all__ = ["checkpoint", "remat", "checkpoint_policies"]


class checkpoint_policies:
    """Which values a checkpointed function keeps (JAX's ``jax.checkpoint_policies``).

    A policy changes memory and time, never values. tapeflow keeps either everything
    (``everything_saveable``: as if not checkpointed) or only the inputs
    (``nothing_saveable``, the default); any other policy is treated as
    ``nothing_saveable``, which recomputes more than it might but gives the same numbers.

    Example:
        >>> import tapeflow as tp
        >>> f = tp.checkpoint(lambda x: x * x, policy=tp.checkpoint_policies.nothing_saveable)
        >>> float(tp.grad(f)(3.0))
        6.0
    """

    @staticmethod
    def everything_saveable(*_: Any, **__: Any) -> bool:
        """Keep every intermediate value: the same as not checkpointing."""
        return True

    @staticmethod
    def nothing_saveable(*_: Any, **__: Any) -> bool:
        """Keep only the inputs and recompute the rest (the default)."""
        return False


def _positions(
    fun: Callable[..., Any], nums: int | Sequence[int], names: str | Iterable[str]
) -> frozenset[int]:
    nums = (nums,) if isinstance(nums, int) else tuple(nums)
    names = (names,) if isinstance(names, str) else tuple(names)
    if not names:
        return frozenset(nums)
    params = [
        p.name
        for p in inspect.signature(fun).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    missing = [n for n in names if n not in params]
    if missing:
        raise ValueError(
            f"checkpoint: static_argnames names {missing}, which are not positional "
            f"parameters of {getattr(fun, '__name__', 'the function')}"
        )
    return frozenset(nums) | {params.index(n) for n in names}


def checkpoint(
    fun: Callable[..., Any],
    *,
    prevent_cse: bool | Sequence[bool] = True,
    policy: Callable[..., bool] | None = None,
    static_argnums: int | Sequence[int] = (),
    static_argnames: str | Iterable[str] = (),
) -> Callable[..., Any]:
    """Rematerialise ``fun`` under reverse mode: keep its inputs, recompute the inside.

    Under ``grad``/``vjp`` the checkpointed call leaves a single entry on the tape
    that holds only its inputs (and outputs); none of ``fun``'s intermediate
    arrays stay alive. In the backward pass ``fun`` runs again under a fresh
    ``vjp`` to pull the cotangent back. This trades one extra forward pass for
    memory: checkpointing each block of a deep network keeps only the block
    boundaries alive. Under other transforms (or none) ``fun`` just runs.

    ``static_argnums`` / ``static_argnames`` mark arguments that are not arrays
    (flags, sizes, functions): they must be hashable and are never differentiated.
    ``policy`` is one of :class:`checkpoint_policies`; ``prevent_cse`` is accepted
    and has no effect (tapeflow does not merge common subexpressions).

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
    if policy is checkpoint_policies.everything_saveable:
        return fun  # every value kept: the tape records fun's operations as usual
    if policy is not None and not callable(policy):
        raise TypeError(f"checkpoint: policy must be a checkpoint policy, got {policy!r}")
    static = _positions(fun, static_argnums, static_argnames)

    @functools.wraps(fun)
    def rematerialized(*args: Any, **kwargs: Any) -> Any:
        target = fun
        if static:
            fixed = {i % len(args): args[i] for i in static if -len(args) <= i < len(args)}
            for i, value in fixed.items():
                try:
                    hash(value)
                except TypeError:
                    raise TypeError(
                        f"checkpoint: static argument {i} is {type(value).__name__}, which is "
                        "not hashable; static arguments are constants (flags, sizes), never "
                        "arrays or traced values"
                    ) from None
            dyn_pos = [i for i in range(len(args)) if i not in fixed]

            given = args

            def target(*dyn: Any, **kw: Any) -> Any:
                full = list(given)
                for i, a in zip(dyn_pos, dyn, strict=True):
                    full[i] = a
                return fun(*full, **kw)

            args = tuple(given[i] for i in dyn_pos)
        top = top_trace(tree_flatten(args)[0])
        if top is None:
            return target(*args, **kwargs)
        return top.process_checkpoint_call(target, args, kwargs)

    return rematerialized


remat = checkpoint  # JAX's other name for it
