"""Helpers for batching rules: how primitives run on a whole batch at once (``tp.vmap``).

A rule has the signature ``rule(args, dims, **kwargs) -> (out, out_dim)``:
``args`` are the primitive's positional arguments with vmap's tracers unwrapped
(they may still be tracers of outer transforms), ``dims[i]`` is the batch axis
of ``args[i]`` (``None``: the argument is the same for every example), and
``out_dim`` is the batch axis of the answer (``None``: unbatched). A rule may
return ``NotImplemented`` for a case it does not handle; the call then falls
back to the loop over examples (``tapeflow.vmap.loop_rule``).

Each primitive declares its own rule beside its definition (``tp.defbatch``); this
module holds what many rules share: moving batch axes, the rule of elementwise
functions (which ``vmap`` uses for every elementwise primitive without a rule of
its own), functions of one array along ``axis``, and layers that fold the batch
into their leading axis. The shape operations come from the array layer through
:data:`tapeflow.core.arrays.ops`, so outer transforms record them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow.core.arrays import ops
from tapeflow.core.leaves import value_shape
from tapeflow.core.primitive import Primitive, get_primitive
from tapeflow.core.tracer import Tracer

__all__ = [
    "moveaxis",
    "to_front",
    "batch_size",
    "bcast_front",
    "sole_batched",
    "elementwise_rule",
    "unary_rule",
    "axis_rule",
    "shift_axis",
    "static_arg",
    "merge_rule",
    "has_batch_rule",
]

Rule = Callable[..., Any]


# ----- helpers ----------------------------------------------------------------------
def _ndim(x: Any) -> int:
    return len(value_shape(x))


def moveaxis(x: Any, src: int, dst: int) -> Any:
    """Move axis ``src`` of ``x`` to position ``dst`` (a traced transpose; no-op if equal)."""
    if src == dst:
        return x
    return ops.moveaxis(x, src, dst)


def to_front(x: Any, dim: int) -> Any:
    """Move the batch axis ``dim`` of ``x`` to axis 0."""
    return moveaxis(x, dim, 0)


def batch_size(args: Any, dims: Any) -> int:
    """The batch size, read off the first batched argument."""
    for a, d in zip(args, dims, strict=False):
        if d is not None:
            return int(value_shape(a)[d])
    raise ValueError("no batched argument")


def bcast_front(x: Any, d: Any, size: int) -> Any:
    """``x`` with its batch axis at 0; an unbatched ``x`` is repeated ``size`` times."""
    if d is not None:
        return to_front(x, d)
    shape = tuple(value_shape(x))
    return ops.broadcast_to(ops.reshape(x, (1,) + shape), (size,) + shape)


def sole_batched(dims: Any) -> bool:
    """True when only the first argument is batched."""
    return dims[0] is not None and all(d is None for d in dims[1:])


# ----- elementwise (n-ary, broadcasting) -------------------------------------------------
_PY_SCALARS = (float, int, bool, complex)


def elementwise_rule(prim: Any) -> Rule:
    """Batch an elementwise function whose positional arguments broadcast together."""
    fun = get_primitive(prim).bind

    def rule(args: Any, dims: Any, **kwargs: Any) -> Any:
        # Fastest path (x * 2.0, exp(x)): one batched argument, Python scalars besides.
        first = None
        for a, d in zip(args, dims, strict=False):
            if d is None:
                if type(a) not in _PY_SCALARS:
                    break
            elif first is None:
                first = d
            else:
                break
        else:
            return fun(*args, **kwargs), first
        nds = [_ndim(a) for a in args]
        ranks = [n - (d is not None) for n, d in zip(nds, dims, strict=False)]
        top = max(ranks)
        first = next(d for d in dims if d is not None)
        # Fast path: every batched argument has the batch axis at the same place and the
        # full per-example rank, and unbatched ones broadcast into the axes after it.
        if all(
            (d == first and r == top) if d is not None else r <= top - first
            for d, r in zip(dims, ranks, strict=False)
        ):
            return fun(*args, **kwargs), first
        moved = []
        for a, d, r in zip(args, dims, ranks, strict=False):
            if d is None:
                moved.append(a)
                continue
            a = to_front(a, d)
            if r < top:  # align per-example ranks so the batch axes line up
                shape = tuple(value_shape(a))
                a = ops.reshape(a, shape[:1] + (1,) * (top - r) + shape[1:])
            moved.append(a)
        return fun(*moved, **kwargs), 0

    return rule


def unary_rule(prim: Any) -> Rule:
    """Batch an elementwise function of its first argument; the others are static."""
    fun = get_primitive(prim).bind

    def rule(args: Any, dims: Any, **kwargs: Any) -> Any:
        if not sole_batched(dims):
            return NotImplemented
        return fun(*args, **kwargs), dims[0]

    return rule


# ----- functions of one array along an axis -----------------------------------------
def _axis_default(prim: Primitive) -> Any:
    try:
        params = inspect.signature(prim.fun).parameters
    except (TypeError, ValueError):
        return None
    p = params.get("axis")
    if p is None or p.default is inspect.Parameter.empty:
        return None
    return p.default


def _params(prim: Primitive) -> Any:
    try:
        return inspect.signature(prim.fun).parameters
    except (TypeError, ValueError):
        return {}


def shift_axis(axis: Any, rank: int) -> Any:
    """A per-example axis (int or tuple) as an axis of the batch-first array, or None if invalid."""
    if isinstance(axis, (tuple, list)):
        out = [shift_axis(a, rank) for a in axis]
        return None if any(a is None for a in out) else tuple(out)
    if not isinstance(axis, (int, np.integer)) or not -max(rank, 1) <= axis < max(rank, 1):
        return None
    if rank == 0:
        return None
    return int(axis) % rank + 1


def axis_rule(prim: Any, none_means: str) -> Rule:
    """Batch ``f(x, axis=..., **static)``: move the batch axis to the front, shift ``axis``.

    ``none_means`` says what ``axis=None`` does for this function: ``"all"`` (every
    axis, passed as a tuple: reductions), ``"flat"`` (the flattened array: cumsum,
    sort, argmax) or ``"loop"`` (no batched equivalent: use the fallback).
    """
    prim = get_primitive(prim)
    fun = prim.bind
    default = _axis_default(prim)
    names = list(_params(prim))

    def rule(args: Any, dims: Any, **kwargs: Any) -> Any:
        if len(args) > 1:
            # Extra positional arguments must be static parameters (a shift, an order...).
            if not sole_batched(dims) or len(args) > len(names):
                return NotImplemented
            for a in args[1:]:
                if isinstance(a, (np.ndarray, Tracer, list)):
                    return NotImplemented
            kwargs = {**dict(zip(names[1:], args[1:], strict=False)), **kwargs}
            args = args[:1]
        x = to_front(args[0], dims[0])
        rank = _ndim(x) - 1
        axis = kwargs.get("axis", default)
        if axis is None:
            if none_means == "all":
                kwargs = {**kwargs, "axis": tuple(range(1, rank + 1))}
            elif none_means == "flat":
                if kwargs.get("keepdims"):
                    return NotImplemented
                x = ops.reshape(x, (value_shape(x)[0], -1))
                kwargs = {**kwargs, "axis": 1}
            else:
                return NotImplemented
        else:
            shifted = shift_axis(axis, rank)
            if shifted is None:
                return NotImplemented  # let the loop raise numpy's own error
            kwargs = {**kwargs, "axis": shifted}
        return fun(x, **kwargs), 0

    return rule


# ----- static parameters ---------------------------------------------------------------
_REQUIRED: Any = object()


def static_arg(args: Any, kwargs: Any, i: int, name: str, default: Any = _REQUIRED) -> Any:
    """Static parameter ``name``, passed as positional argument ``i`` or as a keyword."""
    if len(args) > i:
        return args[i]
    if name in kwargs:
        return kwargs[name]
    if default is _REQUIRED:
        raise TypeError(f"missing argument {name!r}")
    return default


# ----- layers on (N, ...) arrays ----------------------------------------------------
def merge_rule(prim: Any, rows: tuple[int, ...], shape_kw: str | None = None) -> Rule:
    """Batch an op on ``(N, ...)`` arrays by folding the batch into ``N``.

    ``rows`` are the positional arguments whose leading axis is ``N`` (an unbatched one
    is repeated over the batch); the other arguments (weights) must be unbatched.
    ``shape_kw`` names a keyword holding the shape of a rows argument.
    """
    fun = get_primitive(prim).bind

    def rule(args: Any, dims: Any, **kwargs: Any) -> Any:
        if any(d is not None and i not in rows for i, d in enumerate(dims)):
            return NotImplemented  # a batched weight: no single call does that
        reshape = ops.reshape
        new = list(args)
        size = batch_size(args, dims)
        for i in rows:
            x = bcast_front(args[i], dims[i], size)  # a shared row array is repeated
            xs = tuple(value_shape(x))
            size = xs[0]
            new[i] = reshape(x, (xs[0] * xs[1],) + xs[2:])
        if shape_kw is not None and shape_kw in kwargs:
            shape = tuple(kwargs[shape_kw])
            kwargs = {**kwargs, shape_kw: (size * shape[0],) + shape[1:]}
        out = fun(*new, **kwargs)
        os = tuple(value_shape(out))
        return reshape(out, (size, os[0] // size) + os[1:]), 0

    return rule


def has_batch_rule(prim: Any) -> bool:
    """True when ``prim`` (a Primitive or bound function) batches without the loop fallback."""
    found = get_primitive(prim)
    return found.batch_rule is not None or found.elementwise
