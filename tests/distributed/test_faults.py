"""What goes wrong gets a clear error: a failing rank, a missing MPI."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from tapeflow.distributed import runtime
from tests.distributed.launch import ROOT, run_ranks

HERE = Path(__file__).resolve().parent


def test_an_exception_on_one_rank_stops_the_job_with_its_error() -> None:
    done = run_ranks(HERE / "fault_on_rank.py", timeout=60)
    assert done.returncode != 0
    assert "rank 1 of 2 raised an exception" in done.stderr, done.stderr
    assert "RuntimeError: rank 1 failed on purpose at step 3" in done.stderr, done.stderr
    assert "finished without the failure" not in done.stdout


def _without_mpi(monkeypatch: pytest.MonkeyPatch, mpi4py: object) -> None:
    for name in ("mpi4py", "mpi4py.MPI"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setitem(sys.modules, "mpi4py", mpi4py)


def test_missing_mpi4py_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    _without_mpi(monkeypatch, None)  # None in sys.modules: `import mpi4py` fails
    with pytest.raises(ImportError, match=r'pip install "tapeflow\[mpi\]"'):
        runtime.mpi.__wrapped__()


def test_a_missing_mpi_library_says_how_to_install_one(monkeypatch: pytest.MonkeyPatch) -> None:
    # mpi4py installed, its MPI library not loadable: mpi4py raises RuntimeError on import
    package = types.ModuleType("mpi4py")
    package.__path__ = []  # a package, so that `from mpi4py import MPI` looks for MPI

    def missing(name: str) -> object:
        raise RuntimeError("cannot load MPI library")

    package.__getattr__ = missing  # type: ignore[attr-defined]
    _without_mpi(monkeypatch, package)
    with pytest.raises(ImportError, match=r"could not load the MPI library.*tapeflow\[mpi\]"):
        runtime.mpi.__wrapped__()


def test_import_tapeflow_does_not_load_mpi() -> None:
    import subprocess

    code = "import sys, tapeflow; print('mpi4py' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.strip() == "False", done.stderr
