"""What tp.debug_nans costs: per-operation times with the check never on, on then off, and on.

    python benchmarks/debug_nans_cost.py            # Markdown table on stdout
    python benchmarks/debug_nans_cost.py --json out.json
    python benchmarks/debug_nans_cost.py --instructions
                                                    # valgrind instruction counts with the
                                                    # check off (noise-free; compare trees)
    TAPEFLOW_TREE=/path/to/other/checkout python benchmarks/debug_nans_cost.py
                                                    # the same workloads on another tree
                                                    # (without debug_nans: the first column)

Three workloads, each a call repeated many times and timed as a median over rounds:
first with the check never turned on, then "off" and "on" interleaved round by round
so that a busy machine moves them together:
one eager primitive on a small array (the dispatch path), ``grad`` of a chain of 20
elementwise operations (the tape and its rules), and a call of a small ``tp.jit``
function (the one place that reads a flag when the check is off).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, os.environ.get("TAPEFLOW_TREE") or str(HERE.parent))

import tapeflow as tp  # noqa: E402
import tapeflow.numpy as tnp  # noqa: E402

HAS_CHECK = hasattr(tp, "debug_nans")


def _chain(x: Any) -> Any:
    for _ in range(5):
        x = tnp.tanh(x) * 1.5 + tnp.sin(x) - x * x * 0.1
    return tnp.sum(x)


def workloads() -> dict[str, Callable[[], Any]]:
    x = np.linspace(0.1, 1.0, 10)
    grad_chain = tp.grad(_chain)
    jitted = tp.jit(lambda v: tnp.tanh(v) * 2.0 + v)
    jitted(x)  # compiled once, before timing
    return {
        "eager primitive (tnp.tanh, 10 floats)": lambda: tnp.tanh(x),
        "grad of a 20-op chain (10 floats)": lambda: grad_chain(x),
        "tp.jit call (2 ops, 10 floats)": lambda: jitted(x),
    }


def _time(fun: Callable[[], Any], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fun()
    return (time.perf_counter() - start) / number


def measure(rounds: int, number: int) -> dict[str, dict[str, float]]:
    """Median seconds per call, by workload and state.

    First ``rounds`` rounds with the check never turned on yet; then ``rounds`` rounds of
    "off" and "on" interleaved, in alternating order.
    """
    loads = workloads()
    states = ["off, never turned on"] + (["off, after on", "on"] if HAS_CHECK else [])
    times: dict[str, dict[str, list[float]]] = {n: {s: [] for s in states} for n in loads}
    for fun in loads.values():
        fun()
    for _ in range(rounds):
        for name, fun in loads.items():
            times[name][states[0]].append(_time(fun, number))
    for r in range(rounds if HAS_CHECK else 0):
        for state in states[1:] if r % 2 == 0 else states[:0:-1]:
            tp.config.debug_nans = state == "on"
            for name, fun in loads.items():
                times[name][state].append(_time(fun, number))
        tp.config.debug_nans = False
    return {n: {s: statistics.median(v) for s, v in by.items()} for n, by in times.items()}


# The same workloads as code for benchmarks/instructions.py's count (setup, code, reps).
_SETUP = """
import numpy as np, tapeflow as tp, tapeflow.numpy as tnp
x = np.linspace(0.1, 1.0, 10)
def chain(x):
    for _ in range(5):
        x = tnp.tanh(x) * 1.5 + tnp.sin(x) - x * x * 0.1
    return tnp.sum(x)
g = tp.grad(chain)
j = tp.jit(lambda v: tnp.tanh(v) * 2.0 + v)
j(x)
"""
INSTRUCTION_WORKLOADS = {
    "eager primitive (tnp.tanh, 10 floats)": ("tnp.tanh(x)", 2000),
    "grad of a 20-op chain (10 floats)": ("g(x)", 50),
    "tp.jit call (2 ops, 10 floats)": ("j(x)", 2000),
}


def instructions() -> dict[str, float]:
    """Instructions per call of each workload, check off (valgrind; see instructions.py)."""
    from benchmarks.instructions import count

    return {name: count(_SETUP, code, n) for name, (code, n) in INSTRUCTION_WORKLOADS.items()}


def table(results: dict[str, dict[str, float]]) -> str:
    states = list(next(iter(results.values())))
    head = "| workload | " + " | ".join(f"{s} (µs)" for s in states) + " |"
    lines = [head, "|---" * (len(states) + 1) + "|"]
    for name, by in results.items():
        lines.append(f"| {name} | " + " | ".join(f"{1e6 * by[s]:.2f}" for s in states) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--number", type=int, default=300, help="calls per timing")
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions (valgrind), check off"
    )
    args = parser.parse_args(argv)
    if args.instructions:
        counts = instructions()
        print(f"tapeflow from {Path(tp.__file__).resolve().parent.parent}")
        print("| workload | instructions per call, check off |\n|---|---|")
        for name, n in counts.items():
            print(f"| {name} | {n:,.0f} |")
        if args.json:
            args.json.write_text(json.dumps(counts, indent=2))
        return
    results = measure(args.rounds, args.number)
    print(f"tapeflow from {Path(tp.__file__).resolve().parent.parent}")
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
