"""Eager ``opt.update`` time for each optimizer, optionally against another ``optim.py``.

    python benchmarks/optim_update.py                        # this tree's tapeflow.optim
    git show HEAD~3:tapeflow/optim.py > /tmp/before.py
    python benchmarks/optim_update.py --against /tmp/before.py --json out.json

The update runs on plain float32 arrays (no transform), on two parameter sets: a tiny
network (four leaves of at most 9 values), where the fixed cost of an update shows, and
the lab network 784-256-10, where the arithmetic on the arrays dominates. With
``--against``, the other module (loaded from its file, next to this tree's tapeflow)
is timed in the same process, the two alternating in every round; each figure is the
best of the rounds, in microseconds per update.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import timeit
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

from tapeflow import optim  # noqa: E402

SHAPES = {
    "tiny": [(3, 3), (3,), (3, 2), (2,)],
    "lab 784-256-10": [(784, 256), (256,), (256, 10), (10,)],
}

OPTIMIZERS: dict[str, Callable[[Any], Any]] = {
    "sgd": lambda o: o.sgd(0.1),
    "momentum": lambda o: o.sgd(0.1, momentum=0.9),
    "nesterov": lambda o: o.sgd(0.1, momentum=0.9, nesterov=True),
    "adam": lambda o: o.adam(1e-3),
    "adam + cosine": lambda o: o.adam(o.cosine_decay(1e-3, 1000)),
    "adamw": lambda o: o.adamw(1e-3),
    "rmsprop + momentum": lambda o: o.rmsprop(1e-3, momentum=0.5),
    "adagrad": lambda o: o.adagrad(0.1),
    "sgd + clip_norm": lambda o: o.sgd(0.1, clip_norm=1.0),
    "sgd + warmup(cosine)": lambda o: o.sgd(o.warmup(o.cosine_decay(0.1, 1000), 10)),
    "sgd + step_decay": lambda o: o.sgd(o.step_decay(0.1, 0.5, 100)),
}


def load_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("optim_against", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def time_update(module: Any, make: Callable[[Any], Any], shapes: list[Any]) -> float:
    """Best microseconds per ``update`` (after a few updates, so the step count is > 0)."""
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    opt = make(module)
    state = opt.init(params)
    for _ in range(3):
        _, state = opt.update(grads, state, params)
    number = 2000 if max(np.prod(s) for s in shapes) < 100 else 200
    best = min(timeit.repeat(lambda: opt.update(grads, state, params), number=number, repeat=5))
    return best / number * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--against", type=Path, help="another optim.py to time alongside")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    args = parser.parse_args(argv)
    modules: dict[str, Any] = {"this tree": optim}
    if args.against:
        modules = {"against": load_module(args.against), "this tree": optim}
    best: dict[tuple[str, str, str], float] = {}
    for r in range(args.rounds):
        for params_name, shapes in SHAPES.items():
            for opt_name, make in OPTIMIZERS.items():
                order = list(modules) if r % 2 == 0 else list(modules)[::-1]
                for which in order:
                    us = time_update(modules[which], make, shapes)
                    key = (params_name, opt_name, which)
                    best[key] = min(best.get(key, float("inf")), us)
    header = " | ".join(f"{m} (us)" for m in modules)
    ratio = " | this tree / against" if args.against else ""
    print(f"| parameters | optimizer | {header}{ratio} |")
    print("|---" * (2 + len(modules) + bool(args.against)) + "|")
    rows = []
    for params_name in SHAPES:
        for opt_name in OPTIMIZERS:
            row = {"parameters": params_name, "optimizer": opt_name}
            row.update({m: best[(params_name, opt_name, m)] for m in modules})
            cells = " | ".join(f"{row[m]:.1f}" for m in modules)
            if args.against:
                row["ratio"] = row["this tree"] / row["against"]
                cells += f" | {row['ratio']:.2f}"
            print(f"| {params_name} | {opt_name} | {cells} |")
            rows.append(row)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
