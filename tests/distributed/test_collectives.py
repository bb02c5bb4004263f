"""Every collective across two ranks (``mpiexec -n 2``), against finite differences.

One job runs ``collectives_on_ranks.py``, which reports each case's largest relative
errors; the tests below read them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.distributed.collectives_on_ranks import CASES
from tests.distributed.launch import run_ranks

HERE = Path(__file__).resolve().parent
TOLERANCE = {
    "rev_vs_fd": 1e-6,
    "fwd_vs_fd": 1e-6,
    "rev2_vs_fd": 1e-6,
    "fwd2_vs_fd": 1e-6,
    "vmap_vs_loop": 1e-12,
    "vmap_grad_vs_loop": 1e-12,
    "jit_vs_eager": 1e-12,
}


@pytest.fixture(scope="module")
def report() -> dict:
    done = run_ranks(HERE / "collectives_on_ranks.py")
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", sorted(CASES))
def test_collective_across_ranks(report: dict, name: str) -> None:
    assert report["size"] == 2
    errors = report["cases"][name]
    assert set(errors) == set(TOLERANCE)
    bad = {k: v for k, v in errors.items() if not v <= TOLERANCE[k]}
    assert not bad, f"{name}: errors above tolerance {bad}"


@pytest.mark.parametrize(
    "name,rank0,rank1",
    [
        ("shape", "allreduce(float64 (3,), op='sum')", "allreduce(float64 (4,), op='sum')"),
        ("dtype", "allgather(float64 (2,), axis=0)", "allgather(float32 (2,), axis=0)"),
        ("op", "op='sum'", "op='max'"),
        ("fused", "float64 (2, 2)", "float64 (2, 3)"),
    ],
)
def test_ranks_that_disagree_get_a_clear_error(
    report: dict, name: str, rank0: str, rank1: str
) -> None:
    message = report["mismatch_errors"][name]
    assert "did not pass the same thing" in message, message
    assert "rank 0: " in message and rank0 in message.split("rank 1:")[0], message
    assert rank1 in message.split("rank 1:")[1], message


def test_tied_ranks_share_the_derivative_of_max_and_min(report: dict) -> None:
    assert report["ties"] <= 1e-12
