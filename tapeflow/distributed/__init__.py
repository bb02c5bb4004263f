"""Data-parallel computing over MPI: ranks, differentiable collectives, one-message gradients.

Launch the same script on several processes with ``mpiexec -n 4 python train.py``
(on several machines: ``mpiexec -hosts a,b -n 8 ...`` or SLURM's ``srun``); each
process asks :func:`rank` and :func:`size` which part of the work is its own, and
the collectives combine arrays (or pytrees of arrays) across processes. The
collectives are primitives with rules for ``grad``, ``jvp``, ``vmap`` and ``jit``:
the gradient of a function that communicates is the gradient of the whole job's
computation (see docs/distributed.md). Every rank must call the same collectives in
the same order with arrays of the same shape; by default each call checks that
(``check=False`` skips the small extra message).

Needs mpi4py and an MPI library, loaded on first use: ``pip install "tapeflow[mpi]"``
(it installs the mpich wheel; no system MPI is needed). Without them ``import
tapeflow`` still works, and the first call here raises an ImportError saying so.

Example:
    >>> import numpy as np, tapeflow as tp, tapeflow.distributed as dist
    >>> x = np.arange(3.0) + dist.rank()
    >>> total = dist.allreduce(x)  # the sum over ranks; x itself with one process
    >>> g = tp.grad(lambda x: (dist.allreduce(x) ** 2).sum())(x)
"""

from __future__ import annotations

from typing import Any

from tapeflow.core.pytree import tree_map
from tapeflow.distributed.collectives import allgather as _allgather
from tapeflow.distributed.collectives import (
    allreduce_max,
    allreduce_min,
    allreduce_sum,
)
from tapeflow.distributed.collectives import broadcast as _broadcast
from tapeflow.distributed.collectives import reduce_scatter_sum as _reduce_scatter_sum
from tapeflow.distributed.collectives import reduce_sum as _reduce_sum
from tapeflow.distributed.fused import fused_allreduce
from tapeflow.distributed.runtime import INSTALL_HINT, barrier, launched_by_mpi, rank, size

__all__ = [
    "rank",
    "size",
    "barrier",
    "allreduce",
    "allgather",
    "broadcast",
    "reduce",
    "reduce_scatter",
    "fused_allreduce",
    "launched_by_mpi",
    "INSTALL_HINT",
]

_ALLREDUCE_OPS = ("sum", "mean", "max", "min")
_SCATTER_OPS = ("sum", "mean")


def _check_op(what: str, op: str, allowed: tuple[str, ...]) -> None:
    if op not in allowed:
        raise ValueError(
            f"tapeflow.distributed.{what}: unknown op {op!r}; use one of "
            f"{', '.join(map(repr, allowed))}"
        )


def allreduce(x: Any, op: str = "sum", *, check: bool = True) -> Any:
    """Combine ``x`` entry by entry across ranks; every rank receives the result.

    Args:
        x: an array, a number or a pytree of them (the same shapes on every rank).
        op: ``"sum"``, ``"mean"``, ``"max"`` or ``"min"``. The derivative of ``max``
            and ``min`` goes to the rank holding the winning entry (shared evenly when
            ranks tie).
        check: first check that the ranks passed the same shape and dtype.

    Returns:
        The combined value(s), in ``x``'s structure. For one leaf per message over a
        whole gradient pytree, use :func:`fused_allreduce`.

    Example:
        >>> import numpy as np, tapeflow.distributed as dist
        >>> dist.allreduce({"w": np.ones(2)}, op="mean")  # one process: unchanged
        {'w': array([1., 1.])}
    """
    _check_op("allreduce", op, _ALLREDUCE_OPS)
    if op == "mean":
        n = size()
        return tree_map(lambda leaf: allreduce_sum(leaf, check=check) / n, x)
    prim = {"sum": allreduce_sum, "max": allreduce_max, "min": allreduce_min}[op]
    return tree_map(lambda leaf: prim(leaf, check=check), x)


def allgather(x: Any, axis: int = 0, *, check: bool = True) -> Any:
    """Concatenate the ranks' ``x`` along ``axis``, in rank order, on every rank.

    A 0-d ``x`` gives a vector of one entry per rank. The derivative is a
    reduce-scatter: each rank receives the sum of the ranks' cotangents for its block.

    Example:
        >>> import numpy as np, tapeflow.distributed as dist
        >>> dist.allgather(np.array([[1.0, 2.0]]), axis=0).shape  # (size, 2)
        (1, 2)
    """
    return tree_map(lambda leaf: _allgather(leaf, axis=axis, check=check), x)


def reduce_scatter(x: Any, op: str = "sum", axis: int = 0, *, check: bool = True) -> Any:
    """Sum ``x`` across ranks and split the result along ``axis``: rank r gets block r.

    ``x.shape[axis]`` must be a multiple of :func:`size`. ``op="mean"`` divides the
    sum by the number of ranks. The derivative is an all-gather.

    Example:
        >>> import numpy as np, tapeflow.distributed as dist
        >>> dist.reduce_scatter(np.arange(4.0))  # one process: all of it
        array([0., 1., 2., 3.])
    """
    _check_op("reduce_scatter", op, _SCATTER_OPS)
    n = size() if op == "mean" else 1

    def one(leaf: Any) -> Any:
        out = _reduce_scatter_sum(leaf, axis=axis, check=check)
        return out / n if op == "mean" else out

    return tree_map(one, x)


def broadcast(x: Any, root: int = 0, *, check: bool = True) -> Any:
    """Rank ``root``'s ``x`` on every rank (the others pass arrays of the same shape).

    The derivative sums the ranks' cotangents on ``root`` (zero on the other ranks).

    Example:
        >>> import numpy as np, tapeflow.distributed as dist
        >>> dist.broadcast(np.array([3.0, 4.0]), root=0)
        array([3., 4.])
    """
    return tree_map(lambda leaf: _broadcast(leaf, root=root, check=check), x)


def reduce(x: Any, root: int = 0, *, check: bool = True) -> Any:
    """The sum of the ranks' ``x`` on rank ``root``; zeros of the same shape elsewhere.

    The derivative is a broadcast from ``root``.

    Example:
        >>> import numpy as np, tapeflow.distributed as dist
        >>> dist.reduce(np.array([3.0, 4.0]), root=0)
        array([3., 4.])
    """
    return tree_map(lambda leaf: _reduce_sum(leaf, root=root, check=check), x)
