"""Benchmarks for tp.vmap: per-example gradients and batching a per-example function.

Usage:
    python benchmarks/vmap_bench.py            # prints a Markdown table
    python benchmarks/vmap_bench.py --json out.json --repeats 15

Workloads (float32, random data of MNIST's shapes):

1. Per-example gradients of the lab MLP (784-256 sigmoid-10, softmax cross-entropy,
   batch 128): ``vmap(grad(loss), in_axes=(None, 0, 0))`` against a hand-written
   numpy per-example backward pass (einsum of per-example outer products) and
   against a Python loop of 128 ``grad`` calls.
2. The same for softmax regression (784-10).
3. ``vmap`` of an elementwise-and-matmul function over 1,000 examples against the
   same function written by hand for the whole batch.

Each figure is the median (and minimum) over ``--repeats`` timed runs after one
warm-up run, the methods of a workload taking turns; ratios are given for both.
BLAS runs on one thread unless OPENBLAS_NUM_THREADS says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

# One BLAS thread unless told otherwise: on a shared 2-core machine OpenBLAS threads
# contend and a 128x784 @ 784x10 product can take 30 ms instead of 0.06 ms.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tapeflow as tp  # noqa: E402
import tapeflow.numpy as tnp  # noqa: E402
from tapeflow.nn import functional as F  # noqa: E402


def _time_interleaved(
    fns: dict[str, Callable[[], Any]], repeats: dict[str, int]
) -> dict[str, list[float]]:
    """Time each function ``repeats[name]`` times, taking turns, after one warm-up call each.

    Taking turns spreads the load of a shared machine evenly over the methods.
    """
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for k in range(max(repeats.values())):
        for name, fn in fns.items():
            if k < repeats[name]:
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
    return times


def _row(workload: str, method: str, ts: list[float]) -> dict[str, Any]:
    return {
        "workload": workload,
        "method": method,
        "median_s": float(np.median(ts)),
        "min_s": float(min(ts)),
        "max_s": float(max(ts)),
    }


# ----- models ---------------------------------------------------------------------
def _init(rng: np.random.Generator, sizes: tuple[int, ...]) -> list[tuple[np.ndarray, np.ndarray]]:
    return [
        (
            (rng.standard_normal((m, n)) / np.sqrt(m)).astype(np.float32),
            np.zeros(n, np.float32),
        )
        for m, n in zip(sizes[:-1], sizes[1:], strict=False)
    ]


def mlp_loss(params: Any, x: Any, y: Any) -> Any:
    """Loss of one example (x: (784,), y: an integer label) for the lab MLP."""
    (w1, b1), (w2, b2) = params
    h = F.sigmoid(x @ w1 + b1)
    return -F.log_softmax(h @ w2 + b2)[y]


def softmax_regression_loss(params: Any, x: Any, y: Any) -> Any:
    ((w, b),) = params
    return -F.log_softmax(x @ w + b)[y]


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def numpy_mlp_per_example(params: Any, x: np.ndarray, y: np.ndarray) -> Any:
    """Hand-written per-example gradients of the lab MLP (the reference)."""
    (w1, b1), (w2, b2) = params
    h = 1.0 / (1.0 + np.exp(-(x @ w1 + b1)))
    d2 = _softmax(h @ w2 + b2)
    d2[np.arange(len(y)), y] -= 1.0
    d1 = (d2 @ w2.T) * h * (1.0 - h)
    return [
        (np.einsum("bi,bj->bij", x, d1), d1),
        (np.einsum("bi,bj->bij", h, d2), d2),
    ]


def numpy_softmax_regression_per_example(params: Any, x: np.ndarray, y: np.ndarray) -> Any:
    ((w, b),) = params
    d = _softmax(x @ w + b)
    d[np.arange(len(y)), y] -= 1.0
    return [(np.einsum("bi,bj->bij", x, d), d)]


def _check_same(a: Any, b: Any, what: str) -> None:
    for u, v in zip(tp.tree_util.tree_leaves(a), tp.tree_util.tree_leaves(b), strict=False):
        if np.shape(u) != np.shape(v) or not np.allclose(u, v, rtol=1e-4, atol=1e-5):
            raise AssertionError(f"{what}: results differ")


# ----- workloads ---------------------------------------------------------------------
def per_example_workload(
    name: str,
    loss: Callable[..., Any],
    reference: Callable[..., Any],
    sizes: tuple[int, ...],
    batch: int,
    repeats: int,
    loop_repeats: int,
) -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    params = _init(rng, sizes)
    x = rng.random((batch, sizes[0]), dtype=np.float32)
    y = rng.integers(0, sizes[-1], batch)
    per_example = tp.vmap(tp.grad(loss), in_axes=(None, 0, 0))
    g = tp.grad(loss)

    def loop() -> Any:
        return [g(params, x[i], y[i]) for i in range(batch)]

    got = per_example(params, x, y)
    _check_same(got, reference(params, x, y), name)
    dtypes = {leaf.dtype for leaf in tp.tree_util.tree_leaves(got)}
    if dtypes != {np.dtype(np.float32)}:
        raise AssertionError(f"{name}: per-example gradients have dtypes {dtypes}")
    compiled = tp.jit(per_example)
    _check_same(compiled(params, x, y), got, name + " (jit)")
    loop_name = f"loop of {batch} grad calls"
    times = _time_interleaved(
        {
            "vmap(grad)": lambda: per_example(params, x, y),
            "hand-written numpy": lambda: reference(params, x, y),
            loop_name: loop,
            "jit(vmap(grad))": lambda: compiled(params, x, y),
        },
        {
            "vmap(grad)": repeats,
            "hand-written numpy": repeats,
            loop_name: loop_repeats,
            "jit(vmap(grad))": repeats,
        },
    )
    return [_row(name, method, ts) for method, ts in times.items()]


def batched_function_workload(repeats: int, n: int = 1000) -> list[dict[str, Any]]:
    rng = np.random.default_rng(1)
    w1 = (rng.standard_normal((64, 128)) / 8).astype(np.float32)
    w2 = (rng.standard_normal((128, 32)) / 11).astype(np.float32)
    b1 = np.zeros(128, np.float32)
    xs = rng.standard_normal((n, 64)).astype(np.float32)

    def f(x: Any) -> Any:  # one example: x (64,)
        h = tnp.tanh(x @ w1 + b1) * 0.5 + 0.5 * x[:1]
        return tnp.exp(-((h @ w2) ** 2)) * tnp.sum(x * x)

    def by_hand(x: np.ndarray) -> np.ndarray:
        h = np.tanh(x @ w1 + b1) * 0.5 + 0.5 * x[:, :1]
        return np.exp(-((h @ w2) ** 2)) * np.sum(x * x, axis=1, keepdims=True)

    vf = tp.vmap(f)
    _check_same(vf(xs), by_hand(xs), "vmap elementwise+matmul")
    jf = tp.jit(vf)
    _check_same(jf(xs), by_hand(xs), "jit(vmap) elementwise+matmul")
    name = f"elementwise+matmul function, {n} examples"
    times = _time_interleaved(
        {
            "vmap(f)": lambda: vf(xs),
            "hand-batched numpy": lambda: by_hand(xs),
            "jit(vmap(f))": lambda: jf(xs),
        },
        {"vmap(f)": repeats, "hand-batched numpy": repeats, "jit(vmap(f))": repeats},
    )
    return [_row(name, method, ts) for method, ts in times.items()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--loop-repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    warnings.simplefilter("error")  # a loop fallback would be a bug in these workloads

    rows: list[dict[str, Any]] = []
    rows += per_example_workload(
        "lab MLP 784-256-10 per-example grads",
        mlp_loss,
        numpy_mlp_per_example,
        (784, 256, 10),
        args.batch,
        args.repeats,
        args.loop_repeats,
    )
    rows += per_example_workload(
        "softmax regression 784-10 per-example grads",
        softmax_regression_loss,
        numpy_softmax_regression_per_example,
        (784, 10),
        args.batch,
        args.repeats,
        args.loop_repeats,
    )
    rows += batched_function_workload(args.repeats)

    by = {(r["workload"], r["method"]): r for r in rows}
    summary = []
    for wl in dict.fromkeys(r["workload"] for r in rows):
        methods = [m for (w, m) in by if w == wl]
        base = by[(wl, methods[0])]
        for m in methods[1:]:
            other = by[(wl, m)]
            summary.append(
                {
                    "workload": wl,
                    "ratio": f"{methods[0]} / {m}",
                    "median": base["median_s"] / other["median_s"],
                    "min": base["min_s"] / other["min_s"],
                }
            )

    threads = os.environ.get("OPENBLAS_NUM_THREADS")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, "
        f"OPENBLAS_NUM_THREADS={threads}, batch {args.batch}, median of {args.repeats} runs "
        f"({args.loop_repeats} for the loop)"
    )
    print()
    print("| workload | method | median ms | min-max ms |")
    print("|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['workload']} | {r['method']} | {r['median_s'] * 1e3:.2f} | "
            f"{r['min_s'] * 1e3:.2f}-{r['max_s'] * 1e3:.2f} |"
        )
    print()
    print("| workload | ratio | of medians | of minima |")
    print("|---|---|---|---|")
    for s in summary:
        print(f"| {s['workload']} | {s['ratio']} | {s['median']:.2f} | {s['min']:.2f} |")
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "python": platform.python_version(),
                    "numpy": np.__version__,
                    "batch": args.batch,
                    "openblas_num_threads": threads,
                    "repeats": args.repeats,
                    "rows": rows,
                    "ratios": summary,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
