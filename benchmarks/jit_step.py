"""What compiling the optimizer update too is worth: MNIST training steps three ways.

    python benchmarks/jit_step.py                        # Markdown table on stdout
    python benchmarks/jit_step.py --json results.json    # also write the results as JSON
    python benchmarks/jit_step.py --quick                # fewer rounds
    python benchmarks/jit_step.py --instructions         # also count instructions (valgrind)

For each configuration (a network of ``benchmarks/mnist.py`` with an optimizer and a
schedule), the same training step runs

- **eager**: ``value_and_grad`` and ``opt.update`` as plain Python;
- **jit value_and_grad**: ``tp.jit(value_and_grad)``, the update eager (what
  ``mnist.py --jit`` compiled before the optimizers could be traced; ``--jit grad`` now);
- **jit whole step**: ``tp.jit`` of ``(params, state, x, y) -> (params, state, loss)``,
  forward, backward and update in one program (``mnist.py --jit``).

Each round times ``--steps`` consecutive steps of each variant on the same real MNIST
batches, the variants interleaved (order reversed every other round) so that noise on
a shared machine hits them alike; the table gives the median time per step over the
rounds, with min-max. Before timing, each compiled variant trains from the same start
as the eager one for ``--steps`` steps and must give its parameters bit for bit (column
"same as eager").

``--instructions`` also counts the instructions of one step of each variant with
valgrind's callgrind (``benchmarks/instructions.py``), on random pixels of the same
shapes (decompressing MNIST under valgrind would take longer than the counts): a ratio
that the machine's load does not move. About 50 s per count.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

import tapeflow as tp  # noqa: E402
from benchmarks import mnist as job  # noqa: E402
from benchmarks.instructions import count  # noqa: E402
from benchmarks.run import environment, interleaved, keep_freed_memory, summary  # noqa: E402
from tapeflow import nn, optim  # noqa: E402

# name: (model of mnist.py, optimizer of mnist.py, learning rate, schedule, batch size)
CONFIGS: dict[str, tuple[str, str, float, str, int]] = {
    "lab-mlp, sgd, batch 128": ("lab-mlp", "sgd", 1.0, "constant", 128),
    "lab-mlp, adam + cosine, batch 128": ("lab-mlp", "adam", 1e-3, "cosine", 128),
    "lab-mlp, adam + cosine, batch 16": ("lab-mlp", "adam", 1e-3, "cosine", 16),
    "mlp 784-512-512-10, adam + cosine, batch 128": ("mlp", "adam", 1e-3, "cosine", 128),
}

VARIANTS = {"eager": None, "jit value_and_grad": "grad", "jit whole step": "step"}


def setup(config: tuple[str, str, float, str, int], steps: int, data: dict[str, Any]) -> Any:
    """(initial params, optimizer, loss function, the batches) of one configuration."""
    model, optimizer, lr, schedule, batch_size = config
    init, apply = job.MODELS[model]["build"]()
    x, y = data["x_train"], data["y_train"]
    _, params = init(np.random.default_rng(0), (-1,) + x.shape[1:], np.float32)
    rate = optim.cosine_decay(lr, 10_000) if schedule == "cosine" else lr
    opt = job.OPTIMIZERS[optimizer](rate)

    def loss_fn(p: Any, xb: np.ndarray, yb: np.ndarray) -> Any:
        return nn.softmax_cross_entropy(apply(p, xb), yb)

    batches = [
        (x[i * batch_size : (i + 1) * batch_size], y[i * batch_size : (i + 1) * batch_size])
        for i in range(steps)
    ]
    return params, opt, loss_fn, batches


def trainer(step: Callable[..., Any], params: Any, state: Any, batches: list[Any]) -> Any:
    """A function running one pass of ``step`` over ``batches``, continuing its training."""
    current = [params, state]

    def run() -> Any:
        p, s = current
        for xb, yb in batches:
            p, s, _ = step(p, s, xb, yb)
        current[:] = [p, s]
        return p

    return run


def bench(name: str, steps: int, rounds: int, data: dict[str, Any]) -> dict[str, Any]:
    params, opt, loss_fn, batches = setup(CONFIGS[name], steps, data)
    runs, compiled = {}, {}
    for variant, mode in VARIANTS.items():
        step, compiled[variant] = job.make_train_step(loss_fn, opt, mode)
        runs[variant] = trainer(step, params, opt.init(params), batches)
    # From the same start, the same steps: the compiled programs must agree with eager.
    after = {variant: run() for variant, run in runs.items()}
    eager_leaves = tp.tree_util.tree_leaves(after["eager"])
    same = {
        variant: all(
            np.array_equal(a, b)
            for a, b in zip(tp.tree_util.tree_leaves(p), eager_leaves, strict=True)
        )
        for variant, p in after.items()
    }
    samples = interleaved(runs, repeat=rounds)
    ms = {variant: summary(s, 1e3 / steps) for variant, s in samples.items()}
    return {
        "configuration": name,
        "steps_per_round": steps,
        "rounds": rounds,
        "ms_per_step": ms,
        "same_as_eager": same,
        "traces": {v: c.trace_count for v, c in compiled.items() if c is not None},
    }


_COUNT_SETUP = """
import numpy as np
import benchmarks.jit_step as J
from benchmarks import mnist as job
config = J.CONFIGS[{name!r}]
rng = np.random.default_rng(0)
data = {{"x_train": rng.random((config[-1], 784), dtype=np.float32),
        "y_train": rng.integers(0, 10, config[-1])}}
params, opt, loss_fn, batches = J.setup(config, 1, data)
step, _ = job.make_train_step(loss_fn, opt, {mode!r})
p, s = params, opt.init(params)
xb, yb = batches[0]
"""


def count_instructions(name: str, repeats: int = 5) -> dict[str, float]:
    """Instructions per training step of each variant (callgrind; see the docstring)."""
    return {
        variant: count(
            _COUNT_SETUP.format(name=name, mode=mode), "p, s, _ = step(p, s, xb, yb)", repeats
        )
        for variant, mode in VARIANTS.items()
    }


def markdown(rows: list[dict[str, Any]]) -> str:
    def cell(m: dict[str, float]) -> str:
        return f"{m['median']:.3g} ({m['min']:.3g}-{m['max']:.3g})"

    lines = [
        "| configuration | eager | jit value_and_grad | jit whole step | whole step vs "
        "jit value_and_grad | whole step vs eager | same as eager |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        ms = r["ms_per_step"]
        whole = ms["jit whole step"]["median"]
        lines.append(
            f"| {r['configuration']} | {cell(ms['eager'])} | {cell(ms['jit value_and_grad'])} "
            f"| {cell(ms['jit whole step'])} | {whole / ms['jit value_and_grad']['median']:.3f}x "
            f"| {whole / ms['eager']['median']:.3f}x | "
            + ("yes" if all(r["same_as_eager"].values()) else "NO")
            + " |"
        )
    counted = [r for r in rows if "instructions_per_step" in r]
    if counted:
        lines += [
            "",
            "| configuration | eager | jit value_and_grad | jit whole step | whole step vs "
            "jit value_and_grad | whole step vs eager |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for r in counted:
            n = r["instructions_per_step"]
            whole = n["jit whole step"]
            lines.append(
                f"| {r['configuration']} | {n['eager']:,.0f} | {n['jit value_and_grad']:,.0f} "
                f"| {whole:,.0f} | {whole / n['jit value_and_grad']:.3f}x "
                f"| {whole / n['eager']:.3f}x |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer rounds and steps")
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    parser.add_argument(
        "--only", choices=list(CONFIGS), action="append", help="run only this configuration"
    )
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count instructions per step with valgrind (about 50 s per count)",
    )
    args = parser.parse_args(argv)
    if args.threads:
        job.set_blas_threads(args.threads)
    kept = keep_freed_memory()
    steps, rounds = (5, 5) if args.quick else (20, 15)
    data = job.load_data(None, "flat", np.float32)
    rows = []
    for name in args.only or CONFIGS:
        rows.append(bench(name, steps, rounds, data))
        if args.instructions:
            rows[-1]["instructions_per_step"] = count_instructions(name)
        print(f"measured: {name}", file=sys.stderr, flush=True)
    print(
        "ms per training step, median over rounds (min-max)"
        + ("; then instructions per step" if args.instructions else "")
        + "\n"
    )
    print(markdown(rows))
    if args.json:
        env = environment()
        env["allocator"] = "freed memory kept (glibc mallopt)" if kept else "default"
        args.json.write_text(json.dumps({"environment": env, "results": rows}, indent=2) + "\n")
        print(f"\nresults written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
