"""``mpiexec -n 2 python benchmarks/mnist.py --distributed`` against one process.

A short run on the real MNIST files: the same seed and global batch size give the
same parameters (to float64 rounding) and the same test accuracy as training in one
process, and the ranks end with identical parameters.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import tapeflow as tp
from benchmarks import mnist as job
from tests.distributed.launch import ROOT, run_ranks

# An odd global batch: the ranks' shares (50 and 51 examples) differ, so the gradients
# must be weighted by share to give the global batch's mean.
RUNS = {
    "lab-mlp-eager-float32": ["--model", "lab-mlp", "--dtype", "float32", "--batch-size", "101"],
    "mlp-adam-jit-float64": [
        "--model",
        "mlp",
        "--dtype",
        "float64",
        "--batch-size",
        "101",
        "--jit",
    ],
}
TOLERANCE = {"float32": 1e-5, "float64": 1e-12}


@pytest.mark.parametrize("name", sorted(RUNS))
def test_two_ranks_train_as_one_process(name: str, tmp_path) -> None:
    args = RUNS[name] + ["--epochs", "1", "--max-batches", "6", "--quiet"]
    saved, report = tmp_path / "params.npz", tmp_path / "results.json"
    done = run_ranks(
        ROOT / "benchmarks" / "mnist.py",
        *args,
        "--distributed",
        "--save",
        str(saved),
        "--json",
        str(report),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "parameters identical on all 2 ranks" in done.stdout
    assert done.stdout.count("test accuracy") == 1  # rank 0 alone prints
    results = json.loads(report.read_text())
    assert results["ranks"] == 2

    dtype = args[args.index("--dtype") + 1]
    before = job.get_blas_threads()
    job.set_blas_threads(1)
    try:
        alone = job.train(
            model=args[1],
            dtype=dtype,
            batch_size=101,
            epochs=1,
            max_batches=6,
            quiet=True,
            jit="--jit" in args,
        )
    finally:
        if before is not None:
            job.set_blas_threads(before)
    ranks = tp.load_params(str(saved))
    for a, b in zip(
        tp.tree_util.tree_leaves(alone["params"]), tp.tree_util.tree_leaves(ranks), strict=True
    ):
        assert a.dtype == b.dtype == np.dtype(dtype)
        np.testing.assert_allclose(b, a, rtol=0, atol=TOLERANCE[dtype] * np.abs(a).max())
    assert results["test_accuracy"] == alone["test_accuracy"]
    assert results["history"][0]["train_loss"] == pytest.approx(
        alone["history"][0]["train_loss"], rel=TOLERANCE[dtype]
    )


def test_distributed_without_mpiexec_says_how_to_launch() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "mnist.py"), "--distributed"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 2
    assert "mpiexec -n 2 python benchmarks/mnist.py --distributed" in done.stderr
