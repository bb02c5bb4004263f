"""The collectives as primitives, each with its rules for every transform.

Each primitive communicates one array; the public functions in
:mod:`tapeflow.distributed` map them over pytrees. The derivative of a collective
is a collective: the program every rank runs is the sum of the ranks' programs, so
the cotangent of a value that every rank receives is the sum of the ranks'
cotangents. Hence the transposes (reverse mode): all-reduce-sum is its own
transpose, all-gather and reduce-scatter are each other's, broadcast from a root
and reduce to that root are each other's. Forward mode applies a linear collective
to the tangent; ``max``/``min`` route tangents and cotangents to the rank that holds
the winning entry (shared evenly between tied ranks). Batching (``vmap``) moves the
batch axis to the front and communicates the whole batch in one call.

Every rank must make the same calls in the same order; the transforms keep that
promise, since the rules depend only on the program, never on a rank's values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tapeflow.numpy as tnp
from tapeflow.core.leaves import leaf_dtype, value_shape
from tapeflow.core.primitive import defbatch, defjvp, deflinear, defvjp, primitive
from tapeflow.distributed.checks import agree
from tapeflow.distributed.runtime import comm, mpi

__all__ = [
    "allreduce_sum",
    "allreduce_max",
    "allreduce_min",
    "allgather",
    "reduce_scatter_sum",
    "broadcast",
    "reduce_sum",
]


def _array(x: Any) -> np.ndarray:
    return np.asarray(x, order="C")  # (np.ascontiguousarray makes 0-d arrays 1-d)


def _axis(axis: int, ndim: int, what: str) -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"tapeflow.distributed.{what}: axis {axis} is out of range for an array with "
            f"{ndim} dimension(s)"
        )
    return axis % ndim


# ----- all-reduce ------------------------------------------------------------------
def _allreduce(x: Any, op: str, check: bool) -> np.ndarray:
    send = _array(x)
    if op != "sum" and send.dtype.kind == "c":
        raise TypeError(
            f"tapeflow.distributed.allreduce: op={op!r} needs real values, got {send.dtype}"
        )
    if check:
        agree("allreduce", f"op={op!r}", [send.shape], [send.dtype])
    out = np.empty_like(send)
    comm().Allreduce(send, out, op={"sum": mpi().SUM, "max": mpi().MAX, "min": mpi().MIN}[op])
    return out


def _allreduce_sum(x: Any, *, check: bool = True) -> np.ndarray:
    """The entrywise sum over ranks of ``x``; every rank receives it."""
    return _allreduce(x, "sum", check)


def _allreduce_max(x: Any, *, check: bool = True) -> np.ndarray:
    """The entrywise maximum over ranks of ``x``; every rank receives it."""
    return _allreduce(x, "max", check)


def _allreduce_min(x: Any, *, check: bool = True) -> np.ndarray:
    """The entrywise minimum over ranks of ``x``; every rank receives it."""
    return _allreduce(x, "min", check)


allreduce_sum = primitive(_allreduce_sum, name="distributed.allreduce_sum")
allreduce_max = primitive(_allreduce_max, name="distributed.allreduce_max")
allreduce_min = primitive(_allreduce_min, name="distributed.allreduce_min")

deflinear(allreduce_sum, lambda g, ans, x, **kw: allreduce_sum(g, **kw))


def _winner_share(x: Any, ans: Any, check: bool) -> Any:
    """1 where this rank holds the extreme entry, divided evenly among tied ranks."""
    dtype = leaf_dtype(x)
    hit = tnp.where(tnp.equal(x, ans), np.ones((), dtype), np.zeros((), dtype))
    return hit / allreduce_sum(hit, check=check)


for _extreme in (allreduce_max, allreduce_min):
    defvjp(
        _extreme,
        lambda ans, x, check=True: (
            lambda g: allreduce_sum(g, check=check) * _winner_share(x, ans, check)
        ),
    )
    defjvp(
        _extreme,
        lambda t, ans, x, check=True: allreduce_sum(t * _winner_share(x, ans, check), check=check),
    )


def _same_axis_rule(prim: Any) -> Any:
    """Entrywise over ranks: the batched array is communicated as it is."""

    def rule(args: Any, dims: Any, **kwargs: Any) -> Any:
        return prim(args[0], **kwargs), dims[0]

    return rule


for _prim in (allreduce_sum, allreduce_max, allreduce_min):
    defbatch(_prim, _same_axis_rule(_prim))


# ----- all-gather and reduce-scatter -------------------------------------------------
def _allgather(x: Any, *, axis: int = 0, check: bool = True) -> np.ndarray:
    """The ranks' ``x`` concatenated along ``axis`` in rank order (a 0-d ``x``: stacked)."""
    x = np.asarray(x)
    if x.ndim == 0:
        x = x.reshape(1)
    axis = _axis(axis, x.ndim, "allgather")
    if check:
        agree("allgather", f"axis={axis}", [x.shape], [x.dtype])
    front = _array(np.moveaxis(x, axis, 0))
    n = comm().Get_size()
    out = np.empty((n,) + front.shape, front.dtype)
    comm().Allgather(front, out)
    out = out.reshape((n * front.shape[0],) + front.shape[1:])
    return np.moveaxis(out, 0, axis)


def _reduce_scatter_sum(x: Any, *, axis: int = 0, check: bool = True) -> np.ndarray:
    """The sum over ranks of ``x``, split along ``axis``: rank ``r`` receives block ``r``."""
    x = np.asarray(x)
    if x.ndim == 0:
        raise ValueError(
            "tapeflow.distributed.reduce_scatter needs an array with at least one axis to "
            "split among the ranks, got a 0-d value"
        )
    axis = _axis(axis, x.ndim, "reduce_scatter")
    n = comm().Get_size()
    if x.shape[axis] % n:
        raise ValueError(
            f"tapeflow.distributed.reduce_scatter: axis {axis} of the array of shape "
            f"{x.shape} has length {x.shape[axis]}, which does not split into {n} equal "
            "blocks, one per rank; pad it to a multiple of the number of ranks"
        )
    if check:
        agree("reduce_scatter", f"axis={axis}", [x.shape], [x.dtype])
    front = _array(np.moveaxis(x, axis, 0))
    out = np.empty((front.shape[0] // n,) + front.shape[1:], front.dtype)
    comm().Reduce_scatter_block(front, out, op=mpi().SUM)
    return np.moveaxis(out, 0, axis)


allgather = primitive(_allgather, name="distributed.allgather")
reduce_scatter_sum = primitive(_reduce_scatter_sum, name="distributed.reduce_scatter_sum")


def _gather_transpose(g: Any, ans: Any, x: Any, axis: int = 0, check: bool = True) -> Any:
    # A 0-d x was gathered as a 1-vector: its block of the cotangent is reshaped back.
    block = reduce_scatter_sum(g, axis=axis if len(x.shape) else 0, check=check)
    return tnp.reshape(block, x.shape) if not len(x.shape) else block


deflinear(allgather, _gather_transpose)
deflinear(
    reduce_scatter_sum,
    lambda g, ans, x, axis=0, check=True: allgather(g, axis=axis, check=check),
)


def _shifted_axis_rule(prim: Any) -> Any:
    """The batch axis to the front, the collective's axis one further."""

    def rule(args: Any, dims: Any, axis: int = 0, **kwargs: Any) -> Any:
        x = tnp.moveaxis(args[0], dims[0], 0)
        shape = value_shape(x)
        if len(shape) == 1:  # 0-d examples: gather them as 1-vectors, as unbatched
            x = tnp.reshape(x, (shape[0], 1))
        per_example = len(value_shape(x)) - 1
        return prim(x, axis=_axis(axis, per_example, prim.__name__) + 1, **kwargs), 0

    return rule


defbatch(allgather, _shifted_axis_rule(allgather))
defbatch(reduce_scatter_sum, _shifted_axis_rule(reduce_scatter_sum))


# ----- broadcast and reduce to a root ------------------------------------------------
def _root(root: int, what: str) -> int:
    n = comm().Get_size()
    if not 0 <= root < n:
        raise ValueError(
            f"tapeflow.distributed.{what}: root={root} is not a rank of this job of {n} "
            f"process(es); use 0 to {n - 1}"
        )
    return root


def _broadcast(x: Any, *, root: int = 0, check: bool = True) -> np.ndarray:
    """Rank ``root``'s ``x`` on every rank (the others pass an array of the same shape)."""
    buf = np.array(x, order="C", copy=True)
    root = _root(root, "broadcast")
    if check:
        agree("broadcast", f"root={root}", [buf.shape], [buf.dtype])
    comm().Bcast(buf, root=root)
    return buf


def _reduce_sum(x: Any, *, root: int = 0, check: bool = True) -> np.ndarray:
    """The sum over ranks of ``x`` on rank ``root``; zeros of the same shape elsewhere."""
    send = _array(x)
    root = _root(root, "reduce")
    if check:
        agree("reduce", f"root={root}", [send.shape], [send.dtype])
    out = np.zeros_like(send)
    comm().Reduce(send, out if comm().Get_rank() == root else None, op=mpi().SUM, root=root)
    return out


broadcast = primitive(_broadcast, name="distributed.broadcast")
reduce_sum = primitive(_reduce_sum, name="distributed.reduce_sum")

deflinear(broadcast, lambda g, ans, x, root=0, check=True: reduce_sum(g, root=root, check=check))
deflinear(reduce_sum, lambda g, ans, x, root=0, check=True: broadcast(g, root=root, check=check))
defbatch(broadcast, _same_axis_rule(broadcast))
defbatch(reduce_sum, _same_axis_rule(reduce_sum))
