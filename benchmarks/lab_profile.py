"""Where the time of one lab training step goes, and what any Python tape would pay.

The lab step (784-256-10 sigmoid MLP, batch 128 of real MNIST, float32, one SGD
update) is the workload where tapeflow is furthest from hand-written numpy. This
script takes it apart:

1. **Timeline.** One ``tp.grad`` step, with every primitive's numpy call and every
   VJP rule timed: the time inside numpy, inside the rules, and in between
   (tapeflow's bookkeeping: entering primitives, recording, replaying, flattening,
   and the user's own Python), as medians over the steps.
2. **Reference points**, interleaved in one run, as ratios to the hand-written step:
   - the numpy calls tapeflow makes, in the same order, without any tracing;
   - a deliberately minimal tape written for this one network: no checks, no pytrees,
     no nesting, no rules registry. It bounds what any general Python tape can reach;
   - the same tapeflow step compiled with ``tp.jit``, which replays the recorded numpy
     calls without a tape.
3. **Bytecodes**: the Python bytecodes each implementation executes per step on the
   network shrunk to 4-3-2 (where numpy's own work is negligible), and tapeflow's by
   function: a count that does not move with the machine's load.

    python benchmarks/lab_profile.py [--steps N] [--json PATH]
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import benchmarks.run as suite  # noqa: E402
import tapeflow as tp  # noqa: E402
from benchmarks.run import minimal_tape_step  # noqa: E402
from tapeflow.core.primitive import registered_primitives  # noqa: E402
from tapeflow.nn import functional as _functional  # noqa: E402

LR = 0.1


# ----- the numpy calls tapeflow makes, without tracing ------------------------------
def untraced_step(params: Any, x: np.ndarray, y: np.ndarray) -> Any:
    """tapeflow's own numpy calls for the lab step, in its order, with no tape at all."""
    (w1, b1), (w2, b2) = params
    s = _functional._np_sigmoid(x @ w1 + b1)
    z = s @ w2 + b2
    _functional._residual.keep = True
    _functional._np_softmax_cross_entropy(z, y)
    d = _functional._np_softmax_cross_entropy_grad(z, y)
    gh = _functional._sigmoid_vjp(d @ w2.T, s, None)
    grads = [(x.T @ gh, np.add.reduce(gh, axis=0)), (s.T @ d, np.add.reduce(d, axis=0))]
    return [(w - LR * gw, b - LR * gb) for (w, b), (gw, gb) in zip(params, grads, strict=True)]


# ----- the timeline --------------------------------------------------------------------
class Timeline:
    """Timestamps around every primitive's numpy call and every VJP rule, while active."""

    def __init__(self) -> None:
        self.events: list[tuple[str, float]] = []
        self._undo: list[Callable[[], None]] = []

    def __enter__(self) -> Timeline:
        for prim in registered_primitives().values():
            self._wrap_impl(prim)
            self._wrap_rules(prim)
        return self

    def __exit__(self, *exc: Any) -> None:
        for undo in reversed(self._undo):
            undo()

    def _stamp(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        events, clock = self.events, time.perf_counter

        def timed(*args: Any, **kwargs: Any) -> Any:
            events.append(("numpy " + name, clock()))
            out = fn(*args, **kwargs)
            events.append(("", clock()))
            return out

        return timed

    def _wrap_impl(self, prim: Any) -> None:
        impl = prim.impl
        prim.impl = self._stamp(prim.name, impl)
        self._undo.append(lambda: setattr(prim, "impl", impl))

    def _wrap_rules(self, prim: Any) -> None:
        rules = prim.vjps
        if not prim.vjp_direct:
            return  # the lab's primitives all have direct rules
        wrapped = tuple(
            self._stamp(f"rule {prim.name}[{i}]", r) if callable(r) else r
            for i, r in enumerate(rules)
        )
        prim.vjps = wrapped
        self._undo.append(lambda: setattr(prim, "vjps", rules))

    def split(self) -> tuple[dict[str, float], list[tuple[str, float]]]:
        """Per-kind totals of one step and its gaps (bookkeeping) in order."""
        totals = collections.Counter()
        gaps = []
        events = self.events
        for (label, start), (_, end) in zip(events[:-1], events[1:], strict=True):
            kind = label.split(" ", 1)[0] if label else "bookkeeping"
            span = end - start
            if label.startswith("numpy rule"):
                kind = "rules"
            totals[kind] += span
            if not label:
                gaps.append(span)
        return dict(totals), gaps


def timeline(
    params: Any, x: np.ndarray, y: np.ndarray, steps: int
) -> tuple[dict[str, float], float]:
    """Median microseconds per step of each part, and the most any step's parts miss it by."""
    parts: dict[str, list[float]] = collections.defaultdict(list)
    unaccounted: list[float] = []
    loss_grad = tp.grad(suite.mlp_loss)
    for _ in range(5):
        loss_grad(params, x, y, "sigmoid")
    with Timeline() as line:
        for _ in range(steps):
            line.events.clear()
            line.events.append(("", time.perf_counter()))
            grads = tp.grad(suite.mlp_loss)(params, x, y, "sigmoid")
            line.events.append(("update", time.perf_counter()))
            _ = [(w - LR * gw, b - LR * gb) for (w, b), (gw, gb) in zip(params, grads, strict=True)]
            line.events.append(("", time.perf_counter()))
            totals, _gaps = line.split()
            for kind, seconds in totals.items():
                parts[kind].append(seconds * 1e6)
            step_us = (line.events[-1][1] - line.events[0][1]) * 1e6
            parts["step"].append(step_us)
            # Within one step the parts tile the step exactly; what is left is a part
            # missing or counted twice (medians of the parts need not add up).
            unaccounted.append(abs(sum(totals.values()) * 1e6 - step_us))
    medians = {kind: float(np.median(v)) for kind, v in parts.items()}
    return medians, max(unaccounted)


def reference_points(params: Any, x: np.ndarray, y: np.ndarray, steps: int) -> dict[str, float]:
    """Median milliseconds per step of each implementation, interleaved."""
    jit_step = tp.jit(suite.sgd_step_tapeflow, static_argnums=(3, 4))
    fns = {
        "numpy (hand-written)": lambda: suite.sgd_step_numpy(params, x, y, "sigmoid", LR),
        "tapeflow's numpy calls, untraced": lambda: untraced_step(params, x, y),
        "minimal tape": lambda: minimal_tape_step(params, x, y),
        "tapeflow": lambda: suite.sgd_step_tapeflow(params, x, y, "sigmoid", LR),
        "tapeflow jit": lambda: jit_step(params, x, y, "sigmoid", LR),
    }
    samples = suite.interleaved(fns, steps)
    return {name: float(np.median(s)) * 1e3 for name, s in samples.items()}


def count_bytecodes(fn: Callable[[], Any]) -> collections.Counter[str]:
    """Python bytecodes ``fn()`` executes, by function (``sys.settrace`` opcode events)."""
    counts: collections.Counter[str] = collections.Counter()

    def trace(frame: Any, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        if event == "opcode":
            code = frame.f_code
            counts[f"{Path(code.co_filename).name}:{code.co_name}"] += 1
        return trace

    fn()  # warm: first calls import and cache
    previous = sys.gettrace()  # a coverage or debugger tracer, put back afterwards
    sys.settrace(trace)
    try:
        fn()
    finally:
        sys.settrace(previous)
    return counts


def bytecodes() -> dict[str, Any]:
    """Bytecodes per step on the network shrunk to 4-3-2 (the bookkeeping rows' setup)."""
    x, y = suite.mnist_batch(2, np.float32)
    x = np.ascontiguousarray(x[:, 400:404])
    y = y % 2
    params = suite.init_mlp([4, 3, 2], np.float32)
    jit_step = tp.jit(suite.sgd_step_tapeflow, static_argnums=(3, 4))
    steps = {
        "numpy (hand-written)": lambda: suite.sgd_step_numpy(params, x, y, "sigmoid", LR),
        "tapeflow's numpy calls, untraced": lambda: untraced_step(params, x, y),
        "minimal tape": lambda: minimal_tape_step(params, x, y),
        "tapeflow": lambda: suite.sgd_step_tapeflow(params, x, y, "sigmoid", LR),
        "tapeflow jit": lambda: jit_step(params, x, y, "sigmoid", LR),
    }
    counts = {name: count_bytecodes(fn) for name, fn in steps.items()}
    return {
        "totals": {name: sum(c.values()) for name, c in counts.items()},
        "tapeflow_by_function": dict(counts["tapeflow"].most_common(8)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300, help="steps per measurement")
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    parser.add_argument(
        "--default-allocator",
        action="store_true",
        help="leave the C allocator's defaults (see benchmarks/run.py's keep_freed_memory)",
    )
    args = parser.parse_args(argv)
    suite.set_threads(1)
    if not args.default_allocator:  # as the suite does: no page faults for others' frees
        suite.keep_freed_memory()
    x, y = suite.mnist_batch(128, np.float32)
    params = suite.init_mlp([784, 256, 10], np.float32)
    # The reference implementations compute the same gradients (a check, not a timing).
    want = suite.sgd_step_tapeflow(params, x, y, "sigmoid", LR)
    for other in (untraced_step(params, x, y), minimal_tape_step(params, x, y)):
        for (w, b), (w2, b2) in zip(want, other, strict=True):
            assert np.allclose(w, w2, atol=1e-6) and np.allclose(b, b2, atol=1e-6)

    parts, unaccounted_us = timeline(params, x, y, args.steps)
    print("## One tapeflow lab step, median microseconds\n")
    print("| part | us per step |\n|---|---|")
    labels = {
        "numpy": "primitives' numpy calls",
        "rules": "VJP rules (backward numpy calls and their Python)",
        "update": "SGD update (the user's list comprehension)",
        "bookkeeping": "everything else: tapeflow's bookkeeping and the loss function's Python",
        "step": "whole step",
    }
    for kind, label in labels.items():
        print(f"| {label} | {parts.get(kind, 0.0):.0f} |")

    points = reference_points(params, x, y, args.steps)
    base = points["numpy (hand-written)"]
    print("\n## Reference points, interleaved, ms per step\n")
    print("| implementation | ms per step | ratio to hand-written |\n|---|---|---|")
    for name, ms in points.items():
        print(f"| {name} | {ms:.3f} | {ms / base:.3f}x |")
    counted = bytecodes()
    print("\n## Python bytecodes per step, network shrunk to 4-3-2\n")
    print("| implementation | bytecodes |\n|---|---|")
    for name, n in counted["totals"].items():
        print(f"| {name} | {n:,} |")
    print("\n| tapeflow's busiest functions | bytecodes |\n|---|---|")
    for name, n in counted["tapeflow_by_function"].items():
        print(f"| {name} | {n:,} |")
    if args.json:
        result = {
            "timeline_us": parts,
            "unaccounted_us": unaccounted_us,
            "steps_ms": points,
            "bytecodes": counted,
        }
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
