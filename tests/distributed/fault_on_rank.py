"""Run by ``test_faults.py`` under ``mpiexec -n 2``: rank 1 raises in the middle of training.

Without the abort hook rank 0 would wait forever in its next all-reduce; with it the
job stops with rank 1's error and a non-zero exit status.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import tapeflow as tp  # noqa: E402
import tapeflow.distributed as dist  # noqa: E402
import tapeflow.numpy as tnp  # noqa: E402


def loss(params, x, y):
    return tnp.mean((x @ params["w"] + params["b"] - y) ** 2)


rng = np.random.default_rng(dist.rank())
params = {"w": np.zeros(3), "b": np.zeros(())}
for step in range(100):
    x, y = rng.standard_normal((8, 3)), rng.standard_normal(8)
    if dist.rank() == 1 and step == 3:
        raise RuntimeError("rank 1 failed on purpose at step 3")
    grads = dist.fused_allreduce(tp.grad(loss)(params, x, y), op="mean")
    params = {k: params[k] - 0.1 * grads[k] for k in params}
    time.sleep(0.01)
print("finished without the failure", flush=True)
