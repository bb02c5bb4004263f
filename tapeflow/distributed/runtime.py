"""The MPI runtime behind ``tapeflow.distributed``: loaded on first use, never at import.

``import tapeflow`` works without mpi4py; the first call that needs MPI imports
``mpi4py.MPI`` (which initialises MPI) and fails with an ImportError that says how to
install it when either mpi4py or an MPI library is missing. In a job of several
processes an uncaught exception on one rank aborts the whole job (an exception hook
calling ``MPI_Abort``): the other ranks would otherwise wait forever in their next
collective.
"""

from __future__ import annotations

import functools
import os
import sys
import traceback
import types
from typing import Any

__all__ = [
    "mpi",
    "comm",
    "rank",
    "size",
    "barrier",
    "launched_by_mpi",
    "install_abort_hook",
    "INSTALL_HINT",
]

INSTALL_HINT = 'pip install "tapeflow[mpi]"'

# Environment variables that MPI launchers (Hydra's mpiexec, Open MPI's mpirun, SLURM's
# srun, PMIx-based launchers) set in every process they start.
_LAUNCHER_VARIABLES = (
    "PMI_RANK",
    "PMI_SIZE",
    "PMIX_RANK",
    "OMPI_COMM_WORLD_SIZE",
    "MPI_LOCALNRANKS",
    "SLURM_STEP_NUM_TASKS",
)


def launched_by_mpi() -> bool:
    """True when an MPI launcher (mpiexec, mpirun, srun) started this process."""
    return any(name in os.environ for name in _LAUNCHER_VARIABLES)


@functools.cache
def mpi() -> types.ModuleType:
    """``mpi4py.MPI``, imported (and MPI initialised) on the first call."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(
            f"tapeflow.distributed needs mpi4py and an MPI library, which are not "
            f"installed or could not be loaded ({e}); install both with `{INSTALL_HINT}`"
        ) from e
    except RuntimeError as e:  # mpi4py present, but its MPI library failed to load
        raise ImportError(
            f"tapeflow.distributed could not load the MPI library ({e}); install one with "
            f"`{INSTALL_HINT}` (it brings the mpich wheel)"
        ) from e
    install_abort_hook(MPI)
    return MPI


def comm() -> Any:
    """The communicator of all the job's processes (``MPI.COMM_WORLD``)."""
    return mpi().COMM_WORLD


def rank() -> int:
    """This process's number in the job, from 0 to ``size() - 1``.

    Example:
        >>> import tapeflow.distributed as dist
        >>> dist.rank()  # one process, not started by mpiexec
        0
    """
    return int(comm().Get_rank())


def size() -> int:
    """The number of processes in the job (1 when not started by ``mpiexec``).

    Example:
        >>> import tapeflow.distributed as dist
        >>> dist.size()
        1
    """
    return int(comm().Get_size())


def barrier() -> None:
    """Wait until every process of the job has reached this call.

    Example:
        >>> import tapeflow.distributed as dist
        >>> dist.barrier()
    """
    comm().Barrier()


def install_abort_hook(MPI: Any) -> None:
    """In a job of several processes, abort the whole job on an uncaught exception.

    The failing rank prints its traceback, prefixed with its number, then calls
    ``MPI_Abort``, which stops every process and makes the launcher exit non-zero.
    """
    if MPI.COMM_WORLD.Get_size() < 2 or getattr(sys.excepthook, "tapeflow_abort", False):
        return
    previous = sys.excepthook

    def abort_on_exception(
        kind: type[BaseException], value: BaseException, tb: types.TracebackType | None
    ) -> None:
        world = MPI.COMM_WORLD
        text = "".join(traceback.format_exception(kind, value, tb))
        sys.stderr.write(
            f"tapeflow.distributed: rank {world.Get_rank()} of {world.Get_size()} raised an "
            f"exception; aborting the job\n{text}"
        )
        sys.stderr.flush()
        try:
            world.Abort(1)
        finally:  # pragma: no cover  (Abort does not return)
            previous(kind, value, tb)

    abort_on_exception.tapeflow_abort = True  # type: ignore[attr-defined]
    sys.excepthook = abort_on_exception
