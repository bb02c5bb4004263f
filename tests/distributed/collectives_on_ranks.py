"""Run by ``test_collectives.py`` under ``mpiexec -n 2``: every collective, across ranks.

The job's function is the sum over ranks of each rank's loss; each rank's
``tp.grad`` is that function's gradient with respect to the rank's own input.
Directional derivatives of the job's function by central differences (the loss
values summed over ranks) are compared with reverse mode (the ranks' gradient dot
products summed) and forward mode (the ranks' output tangents summed), to first and
second order; ``vmap`` against a loop over examples and ``jit`` against eager
calls. Prints one JSON line on rank 0: each case's largest errors.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import tapeflow as tp  # noqa: E402
import tapeflow.distributed as dist  # noqa: E402
import tapeflow.numpy as tnp  # noqa: E402

R, N = dist.rank(), dist.size()

# name -> (collective applied to the rank's input, input shape). Inputs are far apart
# across ranks and entries, so that max and min have no near-ties.
CASES = {
    "allreduce-sum": (lambda x: dist.allreduce(x), (2, 3)),
    "allreduce-mean": (lambda x: dist.allreduce(x, op="mean"), (3,)),
    "allreduce-max": (lambda x: dist.allreduce(x, op="max"), (2, 3)),
    "allreduce-min": (lambda x: dist.allreduce(x, op="min"), (4,)),
    "allreduce-0d": (lambda x: dist.allreduce(x), ()),
    "allgather-axis0": (lambda x: dist.allgather(x), (2, 3)),
    "allgather-axis1": (lambda x: dist.allgather(x, axis=1), (2, 3)),
    "allgather-0d": (lambda x: dist.allgather(x), ()),
    "reduce_scatter-axis0": (lambda x: dist.reduce_scatter(x), (4, 3)),
    "reduce_scatter-axis-1": (lambda x: dist.reduce_scatter(x, axis=-1), (3, 2)),
    "reduce_scatter-mean": (lambda x: dist.reduce_scatter(x, op="mean"), (2,)),
    "broadcast-root0": (lambda x: dist.broadcast(x, root=0), (2, 3)),
    "broadcast-root1": (lambda x: dist.broadcast(x, root=N - 1), (3,)),
    "reduce-root0": (lambda x: dist.reduce(x, root=0), (2, 3)),
    "reduce-root1": (lambda x: dist.reduce(x, root=N - 1), (3,)),
    "fused_allreduce-mean": (
        lambda x: dist.fused_allreduce({"a": x, "b": x[:1] * 2.0}, op="mean")["a"],
        (2, 2),
    ),
    "fused_allreduce-max": (
        lambda x: dist.fused_allreduce([x, x[0]], op="max")[0],
        (2, 2),
    ),
}


def rank_rng(name: str) -> np.random.Generator:
    return np.random.default_rng([R, sum(map(ord, name))])


def loss_of(collective):
    """This rank's loss: a nonlinear function of the collective's (rank-weighted) output."""

    def loss(x):
        y = collective(x)
        weights = np.linspace(0.5, 1.5, int(np.prod(np.shape(y)))).reshape(np.shape(y))
        return tnp.sum(tnp.sin(y * 0.7) * weights * (1.0 + 0.5 * R))

    return loss


def total(value) -> float:
    """The job's value: the sum over ranks (plain numbers, no tracing)."""
    return float(dist.allreduce(np.asarray(float(value))))


def worst(err: float) -> float:
    return float(dist.allreduce(np.asarray(err), op="max"))


def relerr(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / (1e-8 + np.abs(b)))) if a.size else 0.0


def check(name: str, collective, shape) -> dict[str, float]:
    rng = rank_rng(name)
    size = int(np.prod(shape))
    # Distinct values on every rank and entry: a shuffled grid offset by rank.
    grid = (rng.permutation(size) * N + R).reshape(shape) * 0.3 + 0.05 * rng.standard_normal(shape)
    x = np.asarray(grid, dtype=np.float64)
    v = rng.standard_normal(shape)
    w = rng.standard_normal(shape)
    loss = loss_of(collective)
    h = 1e-5
    out: dict[str, float] = {}

    # first order: reverse and forward mode against central differences of the job's value
    fd = (total(loss(x + h * v)) - total(loss(x - h * v))) / (2 * h)
    g = tp.grad(loss)(x)
    assert np.shape(g) == shape and np.result_type(g) == np.float64
    rev = total(np.vdot(g, v))
    _, tangent = tp.jvp(loss, (x,), (v,))
    fwd = total(tangent)
    out["rev_vs_fd"] = worst(relerr(rev, fd))
    out["fwd_vs_fd"] = worst(relerr(fwd, fd))

    # second order: the gradient of <grad loss, w> against differences of the gradient
    def inner(x):
        return tnp.sum(tp.grad(loss)(x) * w)

    fd2 = (total(inner(x + h * v)) - total(inner(x - h * v))) / (2 * h)
    rev2 = total(np.vdot(tp.grad(inner)(x), v))
    fwd2 = total(tp.jvp(inner, (x,), (v,))[1])
    out["rev2_vs_fd"] = worst(relerr(rev2, fd2))
    out["fwd2_vs_fd"] = worst(relerr(fwd2, fd2))

    # vmap: the batch communicated in one call equals one call per example
    xs = np.stack([x, x * 1.1 + 0.01, x * 0.9 - 0.02])
    batched = tp.vmap(collective)(xs)
    looped = np.stack([collective(xi) for xi in xs])
    out["vmap_vs_loop"] = worst(relerr(batched, looped))
    vgrad = tp.vmap(tp.grad(loss))(xs)
    lgrad = np.stack([tp.grad(loss)(xi) for xi in xs])
    out["vmap_grad_vs_loop"] = worst(relerr(vgrad, lgrad))

    # jit: traced once, then the compiled program communicates as the eager call does
    jitted = tp.jit(tp.value_and_grad(loss))
    for xi in (x, x * 1.1 + 0.01):
        value, grad = jitted(xi)
        out["jit_vs_eager"] = max(
            out.get("jit_vs_eager", 0.0),
            worst(relerr(value, loss(xi))),
            worst(relerr(grad, tp.grad(loss)(xi))),
        )
    return out


def ties() -> float:
    """Every rank holds the same maximum: the job's gradient (each rank's loss is the sum
    of the maximum, so the job's is N times it) is shared evenly, 1 on every rank."""
    x = np.array([1.0, -2.0, 3.0])
    g = tp.grad(lambda x: tnp.sum(dist.allreduce(x, op="max")))(x)
    t = tp.jvp(lambda x: tnp.sum(dist.allreduce(x, op="min")), (x,), (np.ones(3),))[1]
    return worst(max(relerr(g, np.ones(3)), relerr(total(t), 3.0 * N)))


def mismatches() -> dict[str, str]:
    """The errors of collectives whose ranks disagree (every rank raises the same one)."""
    calls = {
        "shape": lambda: dist.allreduce(np.zeros(3 + R)),
        "dtype": lambda: dist.allgather(np.zeros(2, dtype=np.float32 if R else np.float64)),
        "op": lambda: dist.allreduce(np.zeros(2), op="max" if R else "sum"),
        "fused": lambda: dist.fused_allreduce({"w": np.zeros((2, 2 + R)), "b": np.zeros(2)}),
    }
    messages = {}
    for name, call in calls.items():
        try:
            call()
        except ValueError as e:
            messages[name] = str(e)
        else:
            messages[name] = "no error"
    return messages


def main() -> None:
    assert N >= 2, "run with mpiexec -n 2 (or more)"
    results = {name: check(name, fn, shape) for name, (fn, shape) in CASES.items()}
    errors = mismatches()
    tied = ties()
    dist.barrier()
    if R == 0:
        report = {"size": N, "cases": results, "mismatch_errors": errors, "ties": tied}
        print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
