"""Start a script on several local processes with the mpiexec of the mpi extra."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def mpiexec_path() -> str:
    """The mpiexec next to this Python (the mpich wheel's), else the one on PATH."""
    pytest.importorskip("mpi4py", reason='needs the mpi extra: pip install "tapeflow[mpi]"')
    here = Path(sys.executable).parent / "mpiexec"
    found = str(here) if here.exists() else shutil.which("mpiexec")
    if found is None:
        pytest.skip('no mpiexec found: pip install "tapeflow[mpi]" installs one')
    return found


def run_ranks(
    script: str | Path, *args: str, n: int = 2, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``mpiexec -n n python script args`` on this machine only (the fork launcher: no
    ssh, no other host), one BLAS thread per process; output captured."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    command = [mpiexec_path(), "-launcher", "fork", "-n", str(n), sys.executable]
    return subprocess.run(
        command + [str(script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )
