"""What loop primitives and long traces cost: three measurements.

    python benchmarks/control_flow.py                      # Markdown tables on stdout
    python benchmarks/control_flow.py --json results.json  # also write the results as JSON
    python benchmarks/control_flow.py --quick              # fewer rounds

1. **A 100,000-step ``fori_loop`` under ``tp.jit``**: the first call (tracing the body
   once, generating the program, and running it; tracing runs the loop once on the
   example values, as ``tp.jit`` computes while it traces) and later calls, against
   the same loop as a Python ``for`` loop, eager and under ``tp.jit`` (where every
   iteration lands in the trace).
2. **Tracing an unrolled function**: a function of 100,000 operations that cannot use a
   loop primitive. The first call of ``tp.jit`` of it (trace, compile, run) against
   eager ``tp.grad`` of it, in time and in peak memory (``tracemalloc``'s peak, which
   counts numpy's arrays as well as Python objects).
3. **A recurrent network under ``grad``**: ``lax.scan`` against the Python loop, eager
   and under ``tp.jit``, per gradient.

Times are medians over interleaved rounds (``benchmarks/run.py``), so that noise on a
shared machine hits the variants alike.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

import tapeflow as tp  # noqa: E402
import tapeflow.numpy as tnp  # noqa: E402
from benchmarks.run import environment, interleaved, summary  # noqa: E402
from tapeflow import lax  # noqa: E402

LOOP_STEPS = 100_000
UNROLLED_OPS = 100_000  # sin and a multiplication per step: UNROLLED_OPS // 2 steps


def body(i: Any, x: Any) -> Any:
    return tnp.cos(x) * 0.5 + 0.1


def fori(x: Any) -> Any:
    return lax.fori_loop(0, LOOP_STEPS, body, x)


def python_loop(x: Any, steps: int = LOOP_STEPS) -> Any:
    for i in range(steps):
        x = body(i, x)
    return x


def once(fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def fori_loop_rows(rounds: int) -> list[dict[str, Any]]:
    x = np.ones(8)
    first = [once(lambda: tp.jit(fori)(x)) for _ in range(rounds)]
    compiled = tp.jit(fori)
    compiled(x)
    later = interleaved(
        {
            "jit fori_loop": lambda: compiled(x),
            "eager Python loop": lambda: python_loop(x),
        },
        repeat=rounds,
    )
    short = 2_000  # jit of the Python loop puts every iteration in the trace
    unrolled_first = [
        once(lambda: tp.jit(lambda x: python_loop(x, short))(x)) for _ in range(rounds)
    ]
    return [
        {"what": "jit fori_loop, first call (trace + compile + run)", **summary(first)},
        {"what": "jit fori_loop, later calls", **summary(later["jit fori_loop"])},
        {"what": "eager Python loop", **summary(later["eager Python loop"])},
        {
            "what": f"jit of the Python loop, first call, {short} steps only",
            **summary(unrolled_first),
        },
    ]


def unrolled(x: Any) -> Any:
    for _ in range(UNROLLED_OPS // 2):
        x = tnp.sin(x) * 0.5
    return tnp.sum(x)


def measured(fn: Callable[[], Any]) -> tuple[float, float]:
    """(seconds, peak MB) of one call; the time from a run without tracemalloc."""
    seconds = once(fn)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return seconds, peak


def unrolled_rows(rounds: int) -> list[dict[str, Any]]:
    x = np.ones(3)
    runs: dict[str, list[tuple[float, float]]] = {"eager grad": [], "jit, first call": []}
    for r in range(rounds):
        order = list(runs) if r % 2 == 0 else list(runs)[::-1]
        for name in order:
            if name == "eager grad":
                runs[name].append(measured(lambda: tp.grad(unrolled)(x)))
            else:
                runs[name].append(measured(lambda: tp.jit(unrolled)(x)))
    rows = []
    for name, samples in runs.items():
        rows.append(
            {
                "what": name,
                **summary([s for s, _ in samples]),
                "peak_mb": float(np.median([m for _, m in samples])),
            }
        )
    return rows


def rnn_rows(rounds: int, steps: int = 500, width: int = 32) -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    w = rng.normal(size=(width, width)) / np.sqrt(width)
    xs = rng.normal(size=(steps, width))

    def with_scan(w: Any) -> Any:
        h, _ = lax.scan(lambda h, x: (tnp.tanh(h @ w + x), None), tnp.zeros(width), xs)
        return tnp.sum(h**2)

    def with_loop(w: Any) -> Any:
        h = tnp.zeros(width)
        for x in xs:
            h = tnp.tanh(h @ w + x)
        return tnp.sum(h**2)

    variants = {
        "eager grad, lax.scan": tp.grad(with_scan),
        "eager grad, Python loop": tp.grad(with_loop),
        "jit grad, lax.scan": tp.jit(tp.grad(with_scan)),
        "jit grad, Python loop": tp.jit(tp.grad(with_loop)),
    }
    assert np.allclose(variants["jit grad, lax.scan"](w), variants["eager grad, Python loop"](w))
    samples = interleaved({k: (lambda f=f: f(w)) for k, f in variants.items()}, repeat=rounds)
    return [{"what": k, **summary(v)} for k, v in samples.items()]


def table(title: str, rows: list[dict[str, Any]], memory: bool = False) -> str:
    head = "| what | median s | min-max s |" + (" peak MB |" if memory else "")
    rule = "|---|---|---|" + ("---|" if memory else "")
    lines = [f"### {title}", "", head, rule]
    for r in rows:
        cell = f"| {r['what']} | {r['median']:.4g} | {r['min']:.4g}-{r['max']:.4g} |"
        lines.append(cell + (f" {r['peak_mb']:.0f} |" if memory else ""))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args(argv)
    rounds = 2 if args.quick else 5
    results = {
        "fori_loop": fori_loop_rows(rounds),
        "unrolled": unrolled_rows(rounds),
        "rnn": rnn_rows(rounds),
    }
    print(table(f"A {LOOP_STEPS:,}-step fori_loop", results["fori_loop"]))
    print(table(f"An unrolled function of {UNROLLED_OPS:,} operations", results["unrolled"], True))
    eager, jit = results["unrolled"]
    print(
        f"jit first call / eager grad: {jit['median'] / eager['median']:.2f}x time, "
        f"{jit['peak_mb'] / eager['peak_mb']:.2f}x peak memory\n"
    )
    print(table("A 500-step recurrent network (width 32), one gradient", results["rnn"]))
    if args.json:
        args.json.write_text(json.dumps({"environment": environment(), **results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
