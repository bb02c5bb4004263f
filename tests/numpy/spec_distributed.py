"""Matrix rows for tapeflow/distributed/collectives.py, in one process (one rank).

With one rank every collective is the identity on its array (all-gather of a 0-d
value: a 1-vector), so these rows check the rules' shapes, dtypes and bookkeeping
under every transform; tests/distributed/ checks the values across two ranks.
"""

import importlib.util

import pytest

import tapeflow.distributed as dist
from tests.numpy.spec import UNARY_SHAPES, Case, distinct, real

HAVE_MPI = importlib.util.find_spec("mpi4py") is not None


def _needs_mpi(f):
    def run(*args):
        if not HAVE_MPI:
            pytest.skip('needs mpi4py and an MPI library: pip install "tapeflow[mpi]"')
        return f(*args)

    return run


NONEMPTY = tuple(s for s in UNARY_SHAPES if s[0])

CASES = [
    Case(
        "distributed.allreduce-sum",
        _needs_mpi(lambda x: dist.allreduce(x)),
        UNARY_SHAPES,
        real,
        covers=["distributed.allreduce_sum"],
    ),
    Case(
        "distributed.allreduce-mean",
        _needs_mpi(lambda x: dist.allreduce(x, op="mean")),
        NONEMPTY,
        real,
        covers=["distributed.allreduce_sum"],
    ),
    Case(
        "distributed.allreduce-max",
        _needs_mpi(lambda x: dist.allreduce(x, op="max")),
        UNARY_SHAPES,
        distinct,
        covers=["distributed.allreduce_max"],
    ),
    Case(
        "distributed.allreduce-min",
        _needs_mpi(lambda x: dist.allreduce(x, op="min")),
        UNARY_SHAPES,
        distinct,
        covers=["distributed.allreduce_min"],
    ),
    Case(
        "distributed.allgather",
        _needs_mpi(lambda x: dist.allgather(x, axis=-1)),
        UNARY_SHAPES,
        real,
        covers=["distributed.allgather"],
    ),
    Case(
        "distributed.reduce_scatter",
        _needs_mpi(lambda x: dist.reduce_scatter(x, axis=0)),
        NONEMPTY,
        real,
        covers=["distributed.reduce_scatter_sum"],
    ),
    Case(
        "distributed.broadcast",
        _needs_mpi(lambda x: dist.broadcast(x, root=0)),
        UNARY_SHAPES,
        real,
        covers=["distributed.broadcast"],
    ),
    Case(
        "distributed.reduce",
        _needs_mpi(lambda x: dist.reduce(x, root=0)),
        UNARY_SHAPES,
        real,
        covers=["distributed.reduce_sum"],
    ),
    Case(
        "distributed.fused_allreduce",
        _needs_mpi(lambda x, y: dist.fused_allreduce({"x": x, "y": y}, op="mean")),
        (((2, 3), (3,)), ((), (4,))),
        real,
        covers=["distributed.allreduce_sum"],
    ),
]
