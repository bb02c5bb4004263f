"""Data-parallel training over MPI: measured here, and modelled for more nodes.

    python benchmarks/distributed.py                    # 1 and 2 ranks, tables, JSON
    python benchmarks/distributed.py --json docs/distributed.json --steps 40

The script starts itself under ``mpiexec -n 1`` and ``mpiexec -n 2`` (the mpi extra's
launcher, this machine only, one BLAS thread per rank) and measures, for three
networks trained with plain SGD at a fixed global batch (strong scaling):

* the step time and throughput on 1 and 2 ranks, split into compute (forward,
  backward, update) and the fused all-reduce of the gradients (including the wait
  for the slower rank, and the shape check);
* the one-rank compute time at smaller per-rank batches (the compute model), as CPU
  time, which other processes taking turns on the cores do not inflate;
* the all-reduce alone (``MPI_Allreduce`` in place, no check) for messages from 4 bytes
  to 8 MB on 2 ranks, to which it fits an alpha-beta model (alpha from the small
  messages, beta from the large ones).

From those it predicts the step time and scaling efficiency at 2, 8, 32 and 128 nodes
(ring all-reduce: ``2 (P-1) alpha + 2 (P-1)/P m beta``, plus the shape check's small
all-reduce, ``log2(P) alpha``, plus the buffer copies measured on one rank) and the
global batch below which more nodes stop paying. Medians over steps; on a shared
machine the 2-rank numbers are noisy (both ranks compete with other work for 2 cores).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

import tapeflow as tp  # noqa: E402
from benchmarks import mnist  # noqa: E402
from tapeflow import nn, optim  # noqa: E402


def _wide_mlp() -> nn.Layer:
    return nn.serial(
        nn.Dense(1024, W_init=nn.initializers.he_normal),
        nn.Relu,
        nn.Dense(1024, W_init=nn.initializers.he_normal),
        nn.Relu,
        nn.Dense(10),
    )


# name -> (builder, input shape of one example, global batch)
MODELS: dict[str, tuple[Any, tuple[int, ...], int]] = {
    "lab MLP 784-256-10 sigmoid": (mnist.MODELS["lab-mlp"]["build"], (784,), 128),
    "MLP 784-1024-1024-10 relu": (_wide_mlp, (784,), 256),
    "CNN conv32-conv64-dense128": (mnist.MODELS["cnn"]["build"], (1, 28, 28), 64),
}
NODES = (2, 8, 32, 128)
# An assumed network for comparison (not measured): 10 Gb/s Ethernet with a 25 us
# per-message latency, a common small-cluster interconnect.
ETHERNET = {"alpha_s": 25e-6, "beta_s_per_byte": 1 / 1.25e9}


# ----- one rank's measurements (run under mpiexec) ----------------------------------
def _median(xs: list[float]) -> float:
    return float(np.median(xs))


def _fastest(xs: list[float]) -> float:
    # The models are fitted to the fastest run of each measurement: on a shared machine
    # it is the one least slowed by other work, the closest to the hardware's own cost.
    return float(np.min(xs))


def measure_model(name: str, steps: int, warmup: int) -> dict[str, Any]:
    """Median step, compute and all-reduce times of ``name`` at its global batch."""
    dist = tp.distributed
    rank, world = dist.rank(), dist.size()
    build, shape, batch = MODELS[name]
    init, apply = build()
    _, params = init(np.random.default_rng(0), (-1,) + shape, np.float32)
    opt = optim.sgd(0.01)
    state = opt.init(params)
    rng = np.random.default_rng(1)
    x = rng.random((batch,) + shape, dtype=np.float32)
    y = rng.integers(0, 10, batch)
    lo, hi = batch * rank // world, batch * (rank + 1) // world
    share = (hi - lo) / batch
    value_and_grad = tp.value_and_grad(lambda p, x, y: nn.softmax_cross_entropy(apply(p, x), y))
    n_params = sum(int(np.size(leaf)) for leaf in tp.tree_util.tree_leaves(params))

    compute, compute_cpu, reduce, step = [], [], [], []
    dist.barrier()
    for i in range(warmup + steps):
        t0, c0 = time.perf_counter(), time.process_time()
        loss, grads = value_and_grad(params, x[lo:hi], y[lo:hi])
        t1, c1 = time.perf_counter(), time.process_time()
        loss, grads = dist.fused_allreduce(
            tp.tree_util.tree_map(lambda g: g * share, (loss, grads)), op="sum"
        )
        t2, c2 = time.perf_counter(), time.process_time()
        params, state = opt.update(grads, state, params)
        t3, c3 = time.perf_counter(), time.process_time()
        if i >= warmup:
            compute.append((t1 - t0) + (t3 - t2))
            compute_cpu.append((c1 - c0) + (c3 - c2))
            reduce.append(t2 - t1)
            step.append(t3 - t0)
    out: dict[str, Any] = {
        "global_batch": batch,
        "params": n_params,
        "message_bytes": 4 * (n_params + 1),
        "step_s": _median(step),
        "compute_s": _median(compute),
        "compute_cpu_s": _median(compute_cpu),
        "allreduce_in_step_s": _median(reduce),
        "examples_per_s": batch / _median(step),
        "fastest_step_s": _fastest(step),
    }
    # The fused all-reduce alone, the ranks in step (a barrier before each call).
    alone = []
    for _ in range(max(steps, 10)):
        dist.barrier()
        t0 = time.perf_counter()
        dist.fused_allreduce(grads, op="sum")
        alone.append(time.perf_counter() - t0)
    out["fused_allreduce_s"] = _median(alone)
    out["fastest_fused_allreduce_s"] = _fastest(alone)
    if world == 1:
        out["compute_by_batch"] = compute_by_batch(value_and_grad, opt, params, x, y, steps)
    return out


def compute_by_batch(
    value_and_grad: Any, opt: Any, params: Any, x: np.ndarray, y: np.ndarray, steps: int
) -> dict[str, float]:
    """One rank's compute time (forward, backward, update) at smaller batches: the median
    CPU time of the process, which other processes taking turns on the cores do not
    inflate (wall times do: the longer a step, the likelier it is interrupted)."""
    state = opt.init(params)
    times: dict[str, float] = {}
    b = len(y)
    while b >= 1:
        runs = []
        for i in range(3 + steps):
            t0 = time.process_time()
            _, grads = value_and_grad(params, x[:b], y[:b])
            opt.update(grads, state, params)
            if i >= 3:
                runs.append(time.process_time() - t0)
        times[str(b)] = _median(runs)
        b //= 2
    return times


def measure_allreduce(reps: int) -> dict[str, float]:
    """Fastest time of an in-place MPI_Allreduce of float32 buffers, 4 B to 8 MB."""
    from tapeflow.distributed.runtime import comm, mpi

    world = comm()
    out = {}
    for k in range(0, 22):
        buf = np.ones(2**k, np.float32)
        times = []
        for _ in range(reps if k < 15 else max(reps // 5, 5)):
            world.Barrier()
            t0 = time.perf_counter()
            world.Allreduce(mpi().IN_PLACE, buf, op=mpi().SUM)
            times.append(time.perf_counter() - t0)
        out[str(buf.nbytes)] = _fastest(times)
    return out


def worker(path: str, steps: int, warmup: int) -> None:
    dist = tp.distributed
    mnist.set_blas_threads(1)
    result: dict[str, Any] = {"ranks": dist.size(), "models": {}}
    for name in MODELS:
        result["models"][name] = measure_model(name, steps, warmup)
    if dist.size() > 1:
        result["allreduce_by_bytes"] = measure_allreduce(reps=max(5 * steps, 50))
    if dist.rank() == 0:
        Path(path).write_text(json.dumps(result))


# ----- the driver: launch, fit, predict -------------------------------------------------
def launch(n: int, steps: int, warmup: int) -> dict[str, Any]:
    mpiexec = Path(sys.executable).parent / "mpiexec"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ranks.json"
        command = [str(mpiexec if mpiexec.exists() else "mpiexec"), "-launcher", "fork"]
        command += ["-n", str(n), sys.executable, __file__, "--worker", str(path)]
        command += ["--steps", str(steps), "--warmup", str(warmup)]
        subprocess.run(command, check=True, env=env)
        return dict(json.loads(path.read_text()))


def fit_alpha_beta(by_bytes: dict[str, float]) -> dict[str, float]:
    """alpha (latency per message) and beta (seconds per byte) of a 2-rank all-reduce.

    At P = 2 the ring all-reduce costs ``2 alpha + m beta``. The two parameters are read
    where each dominates: alpha from messages of at most 4 KB (half their median
    time), beta from messages of at least 256 KB (the median of ``(T - 2 alpha) / m``),
    the sizes of the gradients that matter here. (A least-squares line through every
    size is pulled towards the many small messages and underestimates beta.)
    """
    sizes = {float(k): t for k, t in by_bytes.items()}
    small = [(m, t) for m, t in sizes.items() if m <= 4096]
    large = [(m, t) for m, t in sizes.items() if m >= 2**18]
    alpha = float(np.median([t for _, t in small])) / 2
    beta = float(np.median([(t - 2 * alpha) / m for m, t in large]))
    # once more, with the small messages' own transfer time taken out
    alpha = float(np.median([t - m * beta for m, t in small])) / 2
    return {"alpha_s": alpha, "beta_s_per_byte": beta}


def allreduce_model(p: int, m: float, net: dict[str, float], copy_s: float) -> float:
    """Predicted fused all-reduce time: ring all-reduce, the check, the copies."""
    if p == 1:
        return copy_s
    alpha, beta = net["alpha_s"], net["beta_s_per_byte"]
    ring = 2 * (p - 1) * alpha + 2 * (p - 1) / p * m * beta
    check = math.ceil(math.log2(p)) * alpha
    return ring + check + copy_s


def compute_time(by_batch: dict[str, float], b: float) -> float:
    """One rank's compute time at per-rank batch ``b``, read off the measured batches.

    Linear between measured batches (compute is not linear in the batch over the whole
    range: small batches are bound by per-operation overhead, large ones by the
    caches), extended with the last segment's slope above the largest; below the
    smallest it stays at the smallest's time. Made non-decreasing in ``b`` first.
    """
    bs = np.array(sorted(float(k) for k in by_batch))
    # Never faster for more examples: a measured dip is noise, not a property.
    ts = np.maximum.accumulate(np.array([by_batch[str(int(k))] for k in bs]))
    if b <= bs[-1]:
        return float(np.interp(b, bs, ts))
    slope = (ts[-1] - ts[-2]) / (bs[-1] - bs[-2])
    return float(ts[-1] + slope * (b - bs[-1]))


def _smallest_batch(p: int, holds: Any) -> float:
    """The smallest global batch (one example per node or more) for which ``holds``."""
    b = float(p)
    while b < 1e8:
        if holds(b):
            return b
        b *= 1.01
    return math.inf


def predict(one: dict[str, Any], net: dict[str, float]) -> dict[str, Any]:
    """Step time, efficiency and break-even batches at each node count, for one model."""
    by_batch = one["compute_by_batch"]
    batch, m = one["global_batch"], one["message_bytes"]
    copy_s = one["fastest_fused_allreduce_s"]  # one rank: the buffer copies alone

    def step(b: float, p: int) -> float:
        # one process needs no all-reduce at all
        return (
            compute_time(by_batch, b)
            if p == 1
            else compute_time(by_batch, b / p) + (allreduce_model(p, m, net, copy_s))
        )

    rows = {}
    for p in NODES:
        t1, tp_ = step(batch, 1), step(batch, p)
        rows[str(p)] = {
            # fewer examples than nodes: some nodes would idle
            "examples_per_node": batch / p,
            "step_s": tp_,
            "allreduce_s": allreduce_model(p, m, net, copy_s),
            "speedup": t1 / tp_,
            "efficiency": t1 / (p * tp_),
            "global_batch_to_pay": _smallest_batch(p, lambda b, p=p: step(b, p) <= step(b, 1)),
            "global_batch_for_half_efficiency": _smallest_batch(
                p, lambda b, p=p: step(b, 1) >= 0.5 * p * step(b, p)
            ),
        }
    return {"nodes": rows}


def _batch(b: float, p: int) -> str:
    if math.isinf(b):
        return "never"
    return f"<= {p}" if b <= p else f"{math.ceil(b):,}"


def report(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    one, two = runs["1"], runs["2"]
    print("\nmeasured on this machine (medians; 2 ranks share its 2 cores with other work)\n")
    print(
        "| model | global batch | ranks | step (ms) | compute (ms) | compute CPU (ms) "
        "| all-reduce in step (ms) | all-reduce alone (ms) | examples/s | speedup |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in MODELS:
        base = one["models"][name]["examples_per_s"]
        for run in (one, two):
            r = run["models"][name]
            print(
                f"| {name} | {r['global_batch']} | {run['ranks']} | {1e3 * r['step_s']:.2f} | "
                f"{1e3 * r['compute_s']:.2f} | {1e3 * r['compute_cpu_s']:.2f} | "
                f"{1e3 * r['allreduce_in_step_s']:.3f} | "
                f"{1e3 * r['fused_allreduce_s']:.3f} | {r['examples_per_s']:,.0f} | "
                f"{r['examples_per_s'] / base:.2f}x |"
            )
    fitted = fit_alpha_beta(two["allreduce_by_bytes"])
    print(
        f"\nall-reduce on 2 ranks (MPI_Allreduce in place): fitted alpha = "
        f"{1e6 * fitted['alpha_s']:.2f} us, beta = {1e9 * fitted['beta_s_per_byte']:.3f} ns/byte "
        f"({1e-9 / fitted['beta_s_per_byte']:.2f} GB/s)\n"
    )
    print("| bytes | measured, fastest (us) | fitted 2 alpha + m beta (us) |")
    print("|---|---|---|")
    for k, t in two["allreduce_by_bytes"].items():
        model = 2 * fitted["alpha_s"] + float(k) * fitted["beta_s_per_byte"]
        print(f"| {int(k):,} | {1e6 * t:.2f} | {1e6 * model:.2f} |")
    predictions = {}
    for label, net in (("fitted", fitted), ("ethernet", ETHERNET)):
        predictions[label] = {name: predict(one["models"][name], net) for name in MODELS}
        print(
            f"\npredicted ({label} network: alpha {1e6 * net['alpha_s']:.2f} us, "
            f"{1e-9 / net['beta_s_per_byte']:.2f} GB/s), global batch fixed\n"
        )
        print(
            "| model | nodes | examples per node | step (ms) | all-reduce (ms) | speedup "
            "| efficiency | global batch to pay | global batch for 50% |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for name in MODELS:
            for p, row in predictions[label][name]["nodes"].items():
                if row["examples_per_node"] < 1:  # some nodes would have nothing to do
                    timing = "| - | - | - | - "
                else:
                    timing = (
                        f"| {1e3 * row['step_s']:.2f} | {1e3 * row['allreduce_s']:.3f} | "
                        f"{row['speedup']:.2f}x | {100 * row['efficiency']:.0f}% "
                    )
                print(
                    f"| {name} | {p} | {row['examples_per_node']:g} {timing}"
                    f"| {_batch(row['global_batch_to_pay'], int(p))} "
                    f"| {_batch(row['global_batch_for_half_efficiency'], int(p))} |"
                )
    return {"fitted_network": fitted, "assumed_ethernet": ETHERNET, "predictions": predictions}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=30, help="timed steps per model")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    parser.add_argument("--json", default=None, help="write every number here")
    parser.add_argument(
        "--measured",
        metavar="RESULTS.json",
        default=None,
        help="re-analyse the measurements of an earlier --json file instead of measuring",
    )
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.steps, args.warmup)
        return 0
    if args.measured:
        earlier = json.loads(Path(args.measured).read_text())
        runs, load = earlier["measured"], earlier["load_average_1min"]
        context = {k: earlier[k] for k in ("machine", "numpy", "python", "command")}
    else:
        before = os.getloadavg()[0]
        runs = {str(n): launch(n, args.steps, args.warmup) for n in (1, 2)}
        load = {"before": before, "after": os.getloadavg()[0]}
        context = {
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
            "numpy": np.__version__,
            "python": platform.python_version(),
            "command": "python benchmarks/distributed.py " + " ".join(argv or sys.argv[1:]),
        }
    print(
        f"load average (1 min) of the machine: {load['before']:.2f} before, "
        f"{load['after']:.2f} after (this machine has {os.cpu_count()} CPUs; a load above "
        "the CPU count means other work delayed the ranks)"
    )
    results = {"measured": runs, **report(runs), "load_average_1min": load, **context}
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nresults written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
