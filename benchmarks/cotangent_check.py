"""The cost of the replay's cotangent check, measured by switching it off in one process.

``tape.backward`` gives every cotangent its argument's dtype (and, for broadcasting
primitives, its shape): an inline comparison of dtypes per cotangent, and a cast where
they differ. Three replays are timed, taking turns, on the same workloads:

* ``every``: the replay as it is (every primitive's cotangents checked);
* ``broadcasting``: the check limited to broadcasting primitives (which need it for
  their shapes), as the replay had it before the dtype of every cotangent was enforced.

The variant is built from the replay's own source by a one-line change of the check's
condition (the script stops if that line is not found), so it differs from the replay in
nothing else. The workloads' cotangents need no fitting but where broadcasting asks for
it, so both compute the same numbers (checked before timing). Times are the process's CPU
time (``time.process_time``), which a shared machine's scheduler does not inflate.

    python benchmarks/cotangent_check.py                 # Markdown table on stdout
    python benchmarks/cotangent_check.py --quick         # fewer repeats
    python benchmarks/cotangent_check.py --json out.json # also write the results as JSON
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # (BLAS threads contend on a shared machine)

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tapeflow as tp  # noqa: E402
import tapeflow.numpy as tnp  # noqa: E402
from tapeflow.core import tape as tape_module  # noqa: E402

# CPU time of this process: on a shared machine a call's wall time includes the waits of
# the scheduler (tens of milliseconds when many processes share a core), its CPU time
# does not. BLAS runs on one thread, so the two measure the same work.
clock = time.process_time

CHECK = "            if kind is not type(arg) or kind is _ndarray or kind is Tracer:\n"
CONDITIONS = {
    "broadcasting": "            if broadcasts and (kind is not type(arg) or kind is _ndarray "
    "or kind is Tracer):\n",
}


def replay_variant(name: str) -> Callable[..., Any]:
    """``tape.backward`` with the check's condition replaced (``every``: unchanged)."""
    if name == "every":
        return tape_module.backward
    source = textwrap.dedent(inspect.getsource(tape_module.backward))
    line = textwrap.dedent(CHECK).rstrip("\n")
    if source.count(line) != 1:
        raise SystemExit(f"the replay's check changed; update CHECK in {__file__}")
    namespace = dict(vars(tape_module))
    exec(source.replace(line, textwrap.dedent(CONDITIONS[name]).rstrip("\n")), namespace)
    return namespace["backward"]


# ----- workloads: each a function and its argument, differentiated by tp.grad -------------
def chain(x: Any) -> Any:
    """999 elementwise operations (333 x (multiply, add, sin)): per-op overhead."""
    for _ in range(333):
        x = tnp.sin(x * 1.0001 + 0.001)
    return tnp.sum(x)


def products(x: Any) -> Any:
    """200 small matrix products and tanh (non-broadcasting primitives, newly checked)."""
    w = np.eye(8) * 0.9 + 0.01
    for _ in range(100):
        x = tnp.tanh(x @ w)
    return tnp.sum(x)


def shapes(x: Any) -> Any:
    """Reshapes, transposes, slices, concatenation and sums (all newly checked)."""
    for _ in range(60):
        x = tnp.concatenate([x[:, 1:], x[:, :1]], axis=1).T.reshape(16, 16)
        x = x + 0.01 * tnp.sum(x, axis=0)
    return tnp.sum(x)


def mlp(params: Any) -> Any:
    """A training loss: 784-256-10 MLP, sigmoid, softmax cross-entropy, batch 128."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 784)).astype(params[0].dtype)
    labels = rng.integers(0, 10, 128)
    h = tp.nn.sigmoid(x @ params[0] + params[1])
    logits = h @ params[2] + params[3]
    return -tnp.mean(tp.nn.log_softmax(logits)[np.arange(128), labels])


def _mlp_params(dtype: Any) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [
        (rng.standard_normal((784, 256)) * 0.05).astype(dtype),
        np.zeros(256, dtype),
        (rng.standard_normal((256, 10)) * 0.05).astype(dtype),
        np.zeros(10, dtype),
    ]


WORKLOADS: list[tuple[str, Callable[[Any], Any], Callable[[], Any], int]] = [
    ("chain, 0-d float64", chain, lambda: np.float64(0.5), 999),
    ("chain, (100,) float64", chain, lambda: np.linspace(0.1, 0.9, 100), 999),
    ("chain, (100,) float32", chain, lambda: np.linspace(0.1, 0.9, 100, dtype=np.float32), 999),
    ("products, (4, 8) float64", products, lambda: np.full((4, 8), 0.3), 200),
    ("shapes, (16, 16) float64", shapes, lambda: np.linspace(0, 1, 256).reshape(16, 16), 300),
    ("MLP loss, float32", mlp, lambda: _mlp_params(np.float32), 10),
]
VARIANTS = ["every", "broadcasting"]


def measure(repeats: int) -> list[dict[str, Any]]:
    replays = {name: replay_variant(name) for name in VARIANTS}
    rows = []
    for label, fun, make, ops in WORKLOADS:
        arg = make()
        grad = tp.grad(fun)
        answers = {}
        for name in VARIANTS:
            tape_module.backward = replays[name]
            answers[name] = grad(arg)
        tape_module.backward = replays["every"]
        for name in VARIANTS:
            for a, b in zip(
                tp.tree_util.tree_leaves(answers[name]),
                tp.tree_util.tree_leaves(answers["every"]),
                strict=True,
            ):
                np.testing.assert_array_equal(a, b, err_msg=f"{label}: {name}")
        # calls per sample: about 20 ms, so that one scheduling hiccup spoils one sample
        start = clock()
        grad(arg)
        number = max(1, int(0.02 / max(clock() - start, 1e-6)))
        times: dict[str, list[float]] = {name: [] for name in VARIANTS}
        order = np.random.default_rng(0)
        try:
            for _ in range(repeats):  # (the variants take turns, in a random order)
                for i in order.permutation(len(VARIANTS)):
                    name = VARIANTS[i]
                    tape_module.backward = replays[name]
                    start = clock()
                    for _ in range(number):
                        grad(arg)
                    times[name].append((clock() - start) / number)
        finally:
            tape_module.backward = replays["every"]
        medians = {name: float(np.median(t)) for name, t in times.items()}
        minima = {name: min(t) for name, t in times.items()}
        rows.append(
            {
                "workload": label,
                "recorded_ops": ops,
                "calls_per_sample": number,
                "median_ms": {name: 1e3 * m for name, m in medians.items()},
                "min_ms": {name: 1e3 * m for name, m in minima.items()},
                "ratio_of_medians": medians["every"] / medians["broadcasting"],
                "ratio_of_minima": minima["every"] / minima["broadcasting"],
            }
        )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| workload (tp.grad) | every primitive, median (min) ms "
        "| broadcasting only, median (min) ms | ratio of medians | ratio of minima |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        m, n = r["median_ms"], r["min_ms"]
        lines.append(
            f"| {r['workload']} | {m['every']:.3f} ({n['every']:.3f}) "
            f"| {m['broadcasting']:.3f} ({n['broadcasting']:.3f}) "
            f"| {r['ratio_of_medians']:.3f} | {r['ratio_of_minima']:.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 repeats instead of 40")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args()
    repeats = args.repeats or (8 if args.quick else 40)
    rows = measure(repeats)
    print(f"{repeats} samples of each (CPU time), variants interleaved; {platform.platform()}")
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps({"repeats": repeats, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
