"""Checking that every rank calls the same collective with the same arrays.

MPI assumes it: a sum of arrays of different lengths reads past the shorter one or
waits forever. Before a collective each rank contributes a short integer header
(which collective, its static arguments, the dtype and the shape) to one small
all-reduce of ``[header, -header]`` with MAX: the ranks agree exactly when the
maximum of the header equals minus the maximum of its negation. When they disagree,
every rank sees it at once, so all of them can gather descriptions and raise the same
error naming what each rank passed.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from tapeflow.distributed.runtime import comm, mpi

__all__ = ["agree", "describe"]


def _crc(text: str) -> int:
    return zlib.crc32(text.encode())


def describe(shapes: Any, dtypes: Any) -> str:
    """``float64 (3, 2)``; a list for several arrays."""
    parts = [f"{np.dtype(d).name} {tuple(s)}" for s, d in zip(shapes, dtypes, strict=True)]
    return parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"


def agree(what: str, static: str, shapes: Any, dtypes: Any, structure: str = "") -> None:
    """Raise the same ValueError on every rank unless all of them passed the same thing.

    ``what`` names the collective, ``static`` its static arguments (``op='sum'``),
    ``shapes`` and ``dtypes`` the arrays (one entry per array), ``structure`` the pytree
    structure for the fused all-reduce. A no-op in a job of one process.
    """
    world = comm()
    if world.Get_size() == 1:
        return
    shapes = [tuple(int(n) for n in s) for s in shapes]
    dtypes = [np.dtype(d).str for d in dtypes]
    header = np.array(
        [
            _crc(what),
            _crc(static),
            _crc(repr(dtypes)),
            _crc(repr(shapes)),
            _crc(structure),
            sum(int(np.prod(s)) for s in shapes),
        ],
        dtype=np.int64,
    )
    both = np.concatenate([header, -header])
    world.Allreduce(mpi().IN_PLACE, both, op=mpi().MAX)
    if np.array_equal(both[: len(header)], -both[len(header) :]):
        return
    mine = f"{what}({describe(shapes, dtypes)}{', ' + static if static else ''})"
    if structure:
        mine += f" of the pytree {structure}"
    every = world.allgather(mine)
    listing = "; ".join(f"rank {r}: {d}" for r, d in enumerate(every))
    raise ValueError(
        f"tapeflow.distributed.{what}: the ranks did not pass the same thing ({listing}). "
        "Every rank must call the same collectives in the same order, with arrays of the "
        "same shape and dtype and the same static arguments; pad or split the data so "
        "that the shapes agree"
    )
