"""One message for a whole pytree: the all-reduce of a training step's gradients.

Sending each parameter's gradient separately pays the latency of a message per
leaf (a network has a weight and a bias per layer); copying them into one buffer
per dtype and reducing it in place pays it once. Traced leaves (the all-reduce
inside ``tp.jit`` or differentiated) take the same route through the
differentiable :func:`~tapeflow.distributed.collectives.allreduce_sum` primitive.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tapeflow.numpy as tnp
from tapeflow.core.leaves import leaf_dtype, value_shape
from tapeflow.core.pytree import tree_flatten, tree_unflatten
from tapeflow.core.tracer import Tracer
from tapeflow.distributed.checks import agree
from tapeflow.distributed.collectives import allreduce_max, allreduce_min, allreduce_sum
from tapeflow.distributed.runtime import comm, mpi

__all__ = ["fused_allreduce", "FUSED_OPS"]

FUSED_OPS = ("sum", "mean", "max", "min")


def _groups(leaves: list[Any]) -> dict[Any, list[int]]:
    """Leaf positions by dtype, in order of first appearance."""
    groups: dict[Any, list[int]] = {}
    for i, leaf in enumerate(leaves):
        groups.setdefault(leaf_dtype(leaf), []).append(i)
    return groups


def fused_allreduce(tree: Any, op: str = "sum", *, check: bool = True) -> Any:
    """All-reduce every leaf of ``tree`` with one message per dtype.

    The leaves are copied into one contiguous buffer per dtype, reduced in place
    (``MPI_IN_PLACE``: no second buffer) and handed back as views of it, in the
    tree's structure. Equal to :func:`~tapeflow.distributed.allreduce` on each leaf.

    Args:
        tree: a pytree of arrays (the same structure, shapes and dtypes on every rank).
        op: ``"sum"``, ``"mean"``, ``"max"`` or ``"min"``.
        check: first check that every rank passed the same structure, shapes and
            dtypes (one small extra message), raising a ValueError that lists them
            if not.

    Returns:
        The reduced pytree; every rank receives the same values.

    Example:
        >>> import numpy as np, tapeflow.distributed as dist
        >>> grads = {"w": np.ones((2, 2)), "b": np.zeros(2)}
        >>> dist.fused_allreduce(grads, op="mean")["w"]  # one process: unchanged
        array([[1., 1.],
               [1., 1.]])
    """
    if op not in FUSED_OPS:
        raise ValueError(
            f"tapeflow.distributed.fused_allreduce: unknown op {op!r}; use one of "
            f"{', '.join(map(repr, FUSED_OPS))}"
        )
    leaves, treedef = tree_flatten(tree)
    if any(type(leaf) is Tracer for leaf in leaves):
        return tree_unflatten(treedef, _traced(leaves, op, check))
    arrays = [np.asarray(leaf) for leaf in leaves]
    if check:
        agree(
            "fused_allreduce",
            f"op={op!r}",
            [a.shape for a in arrays],
            [a.dtype for a in arrays],
            structure=str(treedef),
        )
    out: list[Any] = [None] * len(arrays)
    n = comm().Get_size()
    mpi_op = {"sum": mpi().SUM, "mean": mpi().SUM, "max": mpi().MAX, "min": mpi().MIN}[op]
    for dtype, where in _groups(arrays).items():
        buf = np.concatenate([arrays[i].reshape(-1) for i in where]).astype(dtype, copy=False)
        comm().Allreduce(mpi().IN_PLACE, buf, op=mpi_op)
        if op == "mean":
            if buf.dtype.kind in "fc":
                buf /= n
            else:  # integers average to floats, as np.mean gives
                buf = buf / n
        start = 0
        for i in where:
            stop = start + arrays[i].size
            out[i] = buf[start:stop].reshape(arrays[i].shape)
            start = stop
    return tree_unflatten(treedef, out)


def _traced(leaves: list[Any], op: str, check: bool) -> list[Any]:
    """The same reduction through the differentiable primitives (one call per dtype)."""
    reduce = {"max": allreduce_max, "min": allreduce_min}.get(op, allreduce_sum)
    out: list[Any] = [None] * len(leaves)
    for _, where in _groups(leaves).items():
        flat = tnp.concatenate([tnp.reshape(leaves[i], (-1,)) for i in where])
        total = reduce(flat, check=check)
        if op == "mean":
            total = total / comm().Get_size()
        start = 0
        for i in where:
            shape = value_shape(leaves[i])
            stop = start + int(np.prod(shape, dtype=np.int64))
            out[i] = tnp.reshape(total[start:stop], shape)
            start = stop
    return out
