"""Instruction counts (valgrind's callgrind) of the benchmark workloads: noise-free ratios.

Wall-clock timings on a shared 2-core machine move by 10-30% from run to run, mostly
through the memory system (page faults when the allocator returns memory to the OS,
cache misses); the number of instructions a workload executes does not. This script
counts them for each implementation, as the difference between a run with ``n``
repetitions and a run with none (so start-up and imports cancel out), and prints
the ratios the performance targets are stated in.

    python benchmarks/instructions.py [--json PATH]

Needs ``valgrind`` on the PATH (``apt-get install valgrind``); takes about five minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Each workload: (label, implementation, code run n times, setup code, n).
_CHAIN = """
def chain(x):  # tnp is the library's numpy namespace (unused by the hand-written row)
    for _ in range(333):
        x = tnp.sin(x * 1.0001 + 0.001)
    return tnp.sum(x)
"""
WORKLOADS = [
    *[
        (
            f"per-op, {label}",
            impl,
            "f(x0)",
            f"import numpy as np\n{mod}\n{_CHAIN}\nf = {fn}\nx0 = {x0}",
            10,
        )
        for label, x0 in (
            ("scalar", "np.float64(0.5)"),
            ("vector 1,000", "np.linspace(0.1, 0.9, 1000)"),
        )
        for impl, mod, fn in (
            ("tapeflow", "import tapeflow as tp, tapeflow.numpy as tnp", "tp.grad(chain)"),
            ("autograd", "import autograd, autograd.numpy as tnp", "autograd.grad(chain)"),
            (
                "numpy forward+backward (by hand)",
                "import benchmarks.run as B",
                "B.chain_numpy_grad",
            ),
            ("minimal tape (reference)", "import benchmarks.run as B", "B.chain_minimal_tape"),
        )
    ],
    *[
        (
            "hvp / grad, Rosenbrock 10k",
            impl,
            code,
            "import numpy as np, tapeflow as tp\nimport benchmarks.run as B\n"
            "rng = np.random.default_rng(0)\n"
            "x, v = rng.standard_normal(10_000), rng.standard_normal(10_000)\n"
            "g, h = tp.grad(B.rosenbrock), B.hvp_of(B.rosenbrock)",
            10,
        )
        for impl, code in (("tapeflow grad", "g(x)"), ("tapeflow hvp", "h(x, v)"))
    ],
    *[
        (
            "lab MLP 784-256-10 sigmoid, batch 128, f32",
            impl,
            step,
            "import numpy as np, tapeflow as tp\nimport benchmarks.run as B\n"
            "x, y = B.mnist_batch(128, np.float32)\n"
            "params = B.init_mlp([784, 256, 10], np.float32)\n"
            "j = tp.jit(B.sgd_step_tapeflow, static_argnums=(3, 4))",
            3,
        )
        for impl, step in (
            ("numpy (hand-written)", "B.sgd_step_numpy(params, x, y, 'sigmoid', 0.1)"),
            ("minimal tape (reference)", "B.minimal_tape_step(params, x, y)"),
            ("tapeflow", "B.sgd_step_tapeflow(params, x, y, 'sigmoid', 0.1)"),
            ("tapeflow jit", "j(params, x, y, 'sigmoid', 0.1)"),
        )
    ],
]

_SCRIPT = """
import os, sys
sys.path.insert(0, {root!r})
{setup}
for _ in range(2):
    {code}
for _ in range(int(sys.argv[1])):
    {code}
"""


def count(setup: str, code: str, n: int) -> float:
    """Instructions per repetition of ``code`` (after ``setup`` and two warm-up runs)."""
    script = _SCRIPT.format(root=str(ROOT), setup=setup, code=code)
    env = dict(os.environ, PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    totals = []
    for reps in (0, n):
        out = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--callgrind-out-file=/dev/null",
                sys.executable,
                "-c",
                script,
                str(reps),
            ],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        found = re.search(r"Collected : (\d+)", out.stderr)
        if found is None:
            raise RuntimeError(f"callgrind printed no count:\n{out.stderr[-2000:]}")
        totals.append(int(found.group(1)))
    return (totals[1] - totals[0]) / n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the counts to this JSON file")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)")
        return 1
    rows = []
    for workload, impl, code, setup, n in WORKLOADS:
        if impl == "autograd":
            try:
                import autograd  # noqa: F401
            except ImportError:
                print("note: autograd not installed; skipped")
                continue
        per = count(setup, code, n)
        if workload.startswith("per-op"):
            per /= 999  # 333 x (multiply, add, sin)
        rows.append({"workload": workload, "impl": impl, "instructions": per})
    base = {
        r["workload"]: r["instructions"]
        for r in rows
        if r["impl"] in ("autograd", "numpy (hand-written)", "tapeflow grad")
    }
    print("| workload | implementation | instructions | ratio |\n|---|---|---|---|")
    for r in rows:
        ref = base.get(r["workload"])
        r["ratio"] = r["instructions"] / ref if ref else None
        unit = {"per-op,": "per op", "hvp": "per call"}.get(r["workload"].split(" ")[0], "per step")
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.3f}x"
        print(f"| {r['workload']} | {r['impl']} | {r['instructions']:,.0f} {unit} | {ratio} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
