"""tapeflow's benchmark suite: per-op overhead, training steps, hvp/grad, peak memory.

Every figure is a median over repeated timings after warm-up (min-max shown),
and every comparison is a ratio measured in the same process, interleaved, so
that a noisy shared machine moves both sides together. The timing process keeps the
memory it frees (see ``keep_freed_memory``), so that no implementation page-faults for
what the one before it returned to the operating system.

    python benchmarks/run.py                 # full run, Markdown table on stdout
    python benchmarks/run.py --quick         # short run
    python benchmarks/run.py --json out.json # also write the results as JSON
    python benchmarks/run.py --only cnn,mlp --threads 2   # some workloads, two BLAS threads

Peers (autograd, mygrad, torch, jax) are measured when importable and skipped
with a note otherwise (``pip install -e ".[bench]"`` installs the light ones).
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gzip
import importlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# OpenBLAS's idle threads sleep at once (why: benchmarks/mnist.py); before numpy loads it.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import tapeflow as tp  # noqa: E402
import tapeflow.numpy as tnp  # noqa: E402
from tapeflow.nn import functional as _nn_functional  # noqa: E402

DATA = HERE / "data" / "mnist"
CHAIN_LEN = 999  # ops in the per-op chain (333 x (mul, add, sin))


# ----- timing -------------------------------------------------------------------
def timeit(fn: Callable[[], Any], repeat: int, number: int = 1) -> list[float]:
    """Seconds per call for ``repeat`` samples of ``number`` calls each, after warm-up."""
    for _ in range(2):
        fn()
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(number):
            fn()
        out.append((time.perf_counter() - t) / number)
    return out


def interleaved(
    fns: dict[str, Callable[[], Any]], repeat: int, number: int = 1
) -> dict[str, list[float]]:
    """Time several functions in alternation, so noise hits them alike.

    The order is reversed every other round: each function then follows each other
    one equally often, so what one leaves behind (a trimmed heap, a cold cache) does
    not always fall on the same neighbour.
    """
    for fn in fns.values():
        fn()
        fn()
    samples: dict[str, list[float]] = {k: [] for k in fns}
    items = list(fns.items())
    for r in range(repeat):
        for k, fn in items if r % 2 == 0 else items[::-1]:
            t = time.perf_counter()
            for _ in range(number):
                fn()
            samples[k].append((time.perf_counter() - t) / number)
    return samples


def summary(samples: list[float], scale: float = 1.0) -> dict[str, float]:
    a = np.asarray(samples) * scale
    return {"median": float(np.median(a)), "min": float(a.min()), "max": float(a.max())}


# ----- data -----------------------------------------------------------------------
def mnist_batch(n: int, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` real MNIST training images (scaled to [0, 1]) and labels."""
    with gzip.open(DATA / "train-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16)[: n * 784]
    with gzip.open(DATA / "train-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)[:n]
    return (images.reshape(n, 784) / 255.0).astype(dtype), labels.astype(np.int64)


# ----- workload 1: per-op overhead ---------------------------------------------------
def chain_tapeflow(x: Any) -> Any:
    for _ in range(CHAIN_LEN // 3):
        x = tnp.sin(x * 1.0001 + 0.001)
    return tnp.sum(x)


def chain_numpy(x: Any) -> Any:
    for _ in range(CHAIN_LEN // 3):
        x = np.sin(x * 1.0001 + 0.001)
    return np.sum(x)


def chain_numpy_grad(x: Any) -> Any:
    """The chain's gradient by hand: the floor for any autodiff built on numpy calls.

    The backward pass needs ``cos`` of every ``sin`` input, so it repeats the forward
    pass's most expensive work; no replay of numpy calls can go below this.
    """
    inputs = []
    for _ in range(CHAIN_LEN // 3):
        u = x * 1.0001 + 0.001
        inputs.append(u)
        x = np.sin(u)
    g = np.ones_like(x)
    for u in reversed(inputs):
        g = g * np.cos(u) * 1.0001
    return g


class TapeNode:
    """A traced value of the reference tapes below: its array and its record's index."""

    __slots__ = ("value", "slot")

    def __init__(self, value: Any, slot: int) -> None:
        self.value = value
        self.slot = slot


def chain_minimal_tape(x: Any) -> Any:
    """The chain's gradient through a tape that knows only this chain: a reference point.

    Each operation wraps its answer and appends one closure, its pullback; the backward
    pass calls them in reverse. There are no checks, rule registry, nesting, pytrees or
    residual choices, so this is about the least bookkeeping any Python tape pays per
    recorded operation (its numpy calls are the hand-written pass's).
    """
    pullbacks: list[Any] = []
    node = TapeNode(x, -1)
    for _ in range(CHAIN_LEN // 3):
        pullbacks.append(_times_constant_pullback)
        node = TapeNode(node.value * 1.0001, len(pullbacks) - 1)
        pullbacks.append(_identity_pullback)
        node = TapeNode(node.value + 0.001, len(pullbacks) - 1)
        u = node.value
        pullbacks.append(lambda g, u=u: g * np.cos(u))
        node = TapeNode(np.sin(u), len(pullbacks) - 1)
    np.sum(node.value)  # the forward pass's last operation, as the other rows compute it
    g = np.ones_like(node.value)
    for slot in range(node.slot, -1, -1):
        g = pullbacks[slot](g)
        pullbacks[slot] = None  # released as it runs, as a tape's records are
    return g


def _times_constant_pullback(g: Any) -> Any:
    return g * 1.0001


def _identity_pullback(g: Any) -> Any:
    return g


def bench_per_op(repeat: int, peers: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for label, x0 in (("scalar", np.float64(0.5)), ("vector 1,000", np.linspace(0.1, 0.9, 1000))):
        fns: dict[str, Callable[[], Any]] = {
            "numpy forward": lambda x0=x0: chain_numpy(x0),
            "numpy forward+backward (by hand)": lambda x0=x0: chain_numpy_grad(x0),
            "minimal tape (reference)": lambda x0=x0: chain_minimal_tape(x0),
            "tapeflow": lambda x0=x0: tp.grad(chain_tapeflow)(x0),
        }
        jitted = tp.jit(tp.grad(chain_tapeflow))
        fns["tapeflow jit"] = lambda x0=x0, f=jitted: f(x0)
        for name, make in peers.items():
            fn = make("chain", x0)
            if fn is not None:
                fns[name] = fn
        samples = interleaved(fns, repeat)
        peer = next((k for k in samples if k.startswith("autograd")), None)
        for name, s in samples.items():
            row = {
                "workload": f"per-op, {label}",
                "impl": name,
                **summary(s, 1e6 / CHAIN_LEN),
                "unit": "us/op",
            }
            if peer is not None:  # the targets are ratios to autograd within one run
                row["ratio_to_autograd"] = float(np.median(s) / np.median(samples[peer]))
            rows.append(row)
    return rows


# ----- workload 2: MLP training steps -------------------------------------------------
def init_mlp(sizes: list[int], dtype: Any, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    # Drawn directly in the target dtype: a float64 draw cast down would leave a large
    # transient in the process's peak memory, hiding the training steps' own peak.
    rng = np.random.default_rng(seed)
    layers = []
    for m, n in zip(sizes[:-1], sizes[1:], strict=True):
        w = rng.standard_normal((m, n), dtype=np.dtype(dtype).type)
        w *= np.sqrt(2.0 / (m + n))
        layers.append((w, np.zeros(n, dtype)))
    return layers


def mlp_loss(params: Any, x: np.ndarray, y: np.ndarray, act: str) -> Any:
    """The benchmark networks' loss, written as a tapeflow user would."""
    h = x
    last = len(params) - 1
    for i, (w, b) in enumerate(params):
        h = h @ w + b
        if i < last:
            h = tp.nn.sigmoid(h) if act == "sigmoid" else tp.nn.relu(h)
    return tp.nn.softmax_cross_entropy(h, y)


def sgd_step_tapeflow(params: Any, x: np.ndarray, y: np.ndarray, act: str, lr: float) -> Any:
    grads = tp.grad(mlp_loss)(params, x, y, act)
    return [(w - lr * gw, b - lr * gb) for (w, b), (gw, gb) in zip(params, grads, strict=True)]


def sgd_step_numpy(params: Any, x: np.ndarray, y: np.ndarray, act: str, lr: float) -> Any:
    """Hand-written forward and backward pass of the same network."""
    acts = [x]
    h = x
    for i, (w, b) in enumerate(params):
        h = h @ w + b
        if i < len(params) - 1:
            h = 1 / (1 + np.exp(-h)) if act == "sigmoid" else np.maximum(h, 0)
        acts.append(h)
    z = acts[-1]
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    delta = p / len(y)
    new = []
    for i in range(len(params) - 1, -1, -1):
        w, b = params[i]
        gw = acts[i].T @ delta
        gb = delta.sum(axis=0)
        if i > 0:
            delta = delta @ w.T
            a = acts[i]
            delta = delta * a * (1 - a) if act == "sigmoid" else delta * (a > 0)
        new.append((w - lr * gw, b - lr * gb))
    return new[::-1]


# ----- a minimal tape for the sigmoid MLPs (a reference point) ----------------------
class MinimalTape:
    """Records (pullback, parent slots) per operation; nothing else.

    Only what the lab network needs, with no input checks, pytrees, nesting or
    registry: the least bookkeeping a Python tape can do per operation.
    """

    def __init__(self) -> None:
        self.records: list[Any] = []

    def _record(self, value: Any, pullback: Any, parents: tuple[Any, ...]) -> TapeNode:
        self.records.append((pullback, parents))
        return TapeNode(value, len(self.records) - 1)

    def input(self, value: Any) -> TapeNode:
        self.records.append(None)
        return TapeNode(value, len(self.records) - 1)

    def dense(self, h: Any, w: TapeNode, b: TapeNode) -> TapeNode:
        traced = type(h) is TapeNode
        hv = h.value if traced else h
        out = hv @ w.value + b.value
        wv = w.value

        def pullback(g: Any) -> tuple[Any, ...]:
            return (g @ wv.T if traced else None, hv.T @ g, np.add.reduce(g, axis=0))

        return self._record(out, pullback, (h.slot if traced else None, w.slot, b.slot))

    def sigmoid(self, h: TapeNode) -> TapeNode:
        out = _nn_functional._np_sigmoid(h.value)
        return self._record(out, lambda g: (_nn_functional._sigmoid_vjp(g, out, None),), (h.slot,))

    def cross_entropy(self, z: TapeNode, y: np.ndarray) -> TapeNode:
        _nn_functional._residual.keep = True
        loss = _nn_functional._np_softmax_cross_entropy(z.value, y)
        zv = z.value
        pullback = lambda g: (_nn_functional._np_softmax_cross_entropy_grad(zv, y),)  # noqa: E731
        return self._record(loss, pullback, (z.slot,))

    def backward(self, out: TapeNode) -> list[Any]:
        cts: list[Any] = [None] * len(self.records)
        cts[out.slot] = 1.0
        for slot in range(len(self.records) - 1, -1, -1):
            record, g = self.records[slot], cts[slot]
            if record is None or g is None:
                continue
            pullback, parents = record
            for parent, ct in zip(parents, pullback(g), strict=True):
                if parent is not None:
                    cts[parent] = ct if cts[parent] is None else cts[parent] + ct
        return cts


def minimal_tape_step(params: Any, x: np.ndarray, y: np.ndarray, lr: float = 0.1) -> Any:
    """The sigmoid MLP's SGD step through :class:`MinimalTape` (tapeflow's numpy kernels)."""
    tape = MinimalTape()
    nodes = [(tape.input(w), tape.input(b)) for w, b in params]
    h: Any = x
    for i, (w, b) in enumerate(nodes):
        h = tape.dense(h, w, b)
        if i < len(nodes) - 1:
            h = tape.sigmoid(h)
    cts = tape.backward(tape.cross_entropy(h, y))
    grads = [(cts[w.slot], cts[b.slot]) for w, b in nodes]
    return [(w - lr * gw, b - lr * gb) for (w, b), (gw, gb) in zip(params, grads, strict=True)]


MLPS = [
    ("lab MLP 784-256-10 sigmoid, batch 128, f32", [784, 256, 10], "sigmoid", 128, np.float32),
    ("lab MLP 784-256-10 sigmoid, batch 128, f64", [784, 256, 10], "sigmoid", 128, np.float64),
    ("MLP 784-1024-1024-10 relu, batch 256, f32", [784, 1024, 1024, 10], "relu", 256, np.float32),
]


def bench_mlp(repeat: int, peers: dict[str, Any], quick: bool) -> list[dict[str, Any]]:
    rows = []
    for label, sizes, act, batch, dtype in MLPS[:1] + MLPS[2:] if quick else MLPS:
        x, y = mnist_batch(batch, dtype)
        params = init_mlp(sizes, dtype)
        jit_step = tp.jit(sgd_step_tapeflow, static_argnums=(3, 4))
        # The closures run within this iteration (interleaved below), so binding the loop
        # variables late is harmless.
        fns: dict[str, Callable[[], Any]] = {
            "numpy (hand-written)": lambda: sgd_step_numpy(params, x, y, act, 0.1),  # noqa: B023
        }
        if act == "sigmoid":  # the least any Python tape pays (written for sigmoid MLPs)
            fns["minimal tape (reference)"] = lambda: minimal_tape_step(params, x, y, 0.1)  # noqa: B023
        fns["tapeflow"] = lambda: sgd_step_tapeflow(params, x, y, act, 0.1)  # noqa: B023
        fns["tapeflow jit"] = lambda: jit_step(params, x, y, act, 0.1)  # noqa: B023
        for name, make in peers.items():
            fn = make("mlp", (sizes, act, x, y))
            if fn is not None:
                fns[name] = fn
        # A step is one sample: the short steps get more of them for a steady median.
        samples = interleaved(fns, repeat * (6 if batch <= 128 else 2))
        base = np.median(samples["numpy (hand-written)"])
        for name, s in samples.items():
            rows.append(
                {
                    "workload": label,
                    "impl": name,
                    **summary(s, 1e3),
                    "unit": "ms/step",
                    "ratio_to_numpy": float(np.median(s) / base),
                }
            )
    return rows


def bench_step_overhead(repeat: int, peers: dict[str, Any]) -> list[dict[str, Any]]:
    """The lab step on a network shrunk to 4-3-2 and a batch of 2: bookkeeping alone.

    Its numpy calls take microseconds, so what each implementation adds to the
    hand-written step here is its fixed cost per training step (tracing, recording,
    replaying, flattening parameters), which the full-size steps above pay too.
    """
    x, y = mnist_batch(2, np.float32)
    x = np.ascontiguousarray(x[:, 400:404])  # four central pixels of real images
    y = y % 2
    sizes, act = [4, 3, 2], "sigmoid"
    params = init_mlp(sizes, np.float32)
    jit_step = tp.jit(sgd_step_tapeflow, static_argnums=(3, 4))
    fns: dict[str, Callable[[], Any]] = {
        "numpy (hand-written)": lambda: sgd_step_numpy(params, x, y, act, 0.1),
        "minimal tape (reference)": lambda: minimal_tape_step(params, x, y, 0.1),
        "tapeflow": lambda: sgd_step_tapeflow(params, x, y, act, 0.1),
        "tapeflow jit": lambda: jit_step(params, x, y, act, 0.1),
    }
    for name, make in peers.items():
        fn = make("mlp", (sizes, act, x, y))
        if fn is not None:
            fns[name] = fn
    samples = interleaved(fns, repeat * 20)
    base = float(np.median(samples["numpy (hand-written)"]))
    return [
        {
            "workload": "lab step bookkeeping (network shrunk to 4-3-2, batch 2, f32)",
            "impl": name,
            **summary(s, 1e6),
            "unit": "us/step",
            "over_numpy_us": (float(np.median(s)) - base) * 1e6,
        }
        for name, s in samples.items()
    ]


# ----- workload 2b: the CNN training step --------------------------------------------
def bench_cnn(repeat: int, peers: dict[str, Any]) -> list[dict[str, Any]]:
    """The training step of ``mnist.py --model cnn`` (see ``benchmarks/cnn_step.py``).

    Ratios to the hand-written numpy step, to torch eager (when installed) and to the
    step's matrix products alone (the GEMM floor), all from one interleaved run.
    """
    from benchmarks import cnn_step

    x, y = mnist_batch(cnn_step.BATCH, np.float32)
    x = x.reshape(-1, 1, 28, 28)
    params = cnn_step.init_params(np.float32)
    eager, compiled, state = cnn_step.tapeflow_steps(params)
    np_state = cnn_step.numpy_adam_init(params)
    floor = "GEMM floor (products alone)"
    fns: dict[str, Callable[[], Any]] = {
        "numpy (hand-written)": lambda: cnn_step.numpy_step(params, np_state, x, y),
        floor: cnn_step.gemm_floor(),
        "tapeflow": lambda: eager(params, state, x, y),
        "tapeflow jit": lambda: compiled(params, state, x, y),
    }
    torch_name = next((k for k in peers if k.startswith("torch")), None)
    threads = int(os.environ.get("OMP_NUM_THREADS", "1"))

    def torch_samples() -> list[float]:
        # In a process of its own, as the other libraries' steps must not share one with
        # torch's spinning threads (see cnn_step.time_torch); before and after the
        # interleaved run, so that both halves of any drift are in its median.
        command = [sys.executable, str(HERE / "cnn_step.py"), "torch"]
        command += ["--threads", str(threads), "--steps", str(repeat)]
        out = subprocess.run(command, capture_output=True, text=True, check=True)
        return list(json.loads(out.stdout.strip().splitlines()[-1]))

    before = torch_samples() if torch_name is not None else []
    samples = interleaved(fns, repeat * 2)
    if torch_name is not None:
        samples[torch_name] = before + torch_samples()
    medians = {k: float(np.median(s)) for k, s in samples.items()}
    rows = []
    for name, s in samples.items():
        row = {
            "workload": "CNN step conv32-pool-conv64-pool-128-10, Adam, batch 64, f32",
            "impl": name,
            **summary(s, 1e3),
            "unit": "ms/step",
            "ratio_to_numpy": medians[name] / medians["numpy (hand-written)"],
            "ratio_to_gemm_floor": medians[name] / medians[floor],
        }
        if torch_name is not None:
            row["ratio_to_torch"] = medians[name] / medians[torch_name]
        rows.append(row)
    return rows


# ----- workload 3: hvp / grad -----------------------------------------------------
def rosenbrock(x: Any) -> Any:
    return tnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def hvp_of(f: Callable[[Any], Any]) -> Callable[[Any, Any], Any]:
    return lambda x, v: tp.jvp(tp.grad(f), (x,), (v,))[1]


def bench_hvp(repeat: int) -> list[dict[str, Any]]:
    rows = []
    rng = np.random.default_rng(0)
    x = rng.standard_normal(10_000)
    v = rng.standard_normal(10_000)
    xb, yb = mnist_batch(128, np.float64)
    params = init_mlp([784, 64, 10], np.float64)
    flat, unravel = tp.ravel_pytree(params)
    mlp_flat = lambda p: mlp_loss(unravel(p), xb, yb, "relu")  # noqa: E731
    v2 = rng.standard_normal(flat.shape)
    for label, f, point, direction in (
        ("Rosenbrock 10k", rosenbrock, x, v),
        ("MLP loss w.r.t. flat params", mlp_flat, flat, v2),
    ):
        g = tp.grad(f)
        h = hvp_of(f)
        jg = tp.jit(g)
        jh = tp.jit(h)
        samples = interleaved(
            {
                "grad": lambda g=g, p=point: g(p),
                "hvp": lambda h=h, p=point, d=direction: h(p, d),
                "jit grad": lambda g=jg, p=point: g(p),
                "jit hvp": lambda h=jh, p=point, d=direction: h(p, d),
            },
            repeat,
        )
        for impl, (num, den) in (
            ("tapeflow", ("hvp", "grad")),
            ("tapeflow jit", ("jit hvp", "jit grad")),
        ):
            ratio = np.median(samples[num]) / np.median(samples[den])
            rows.append(
                {
                    "workload": f"hvp / grad, {label}",
                    "impl": impl,
                    **summary(samples[num], 1e3),
                    "unit": "ms (hvp)",
                    "ratio_hvp_to_grad": float(ratio),
                }
            )
    return rows


# ----- workload 4: peak memory ------------------------------------------------------
MEMORY_SCRIPT = r"""
import os
os.environ["OPENBLAS_NUM_THREADS"] = "1"
# No transparent huge pages in the measured process: numpy asks for them on arrays of
# 4 MB and more, and then the peak RSS moves by whole 2 MB pages with the address layout
# (on the development machine numpy's increment read 31 or 36.7 MB depending only on the
# environment's size). Counting 4 kB pages measures what each implementation touches.
try:
    import ctypes
    ctypes.CDLL(None).prctl(41, 1, 0, 0, 0)  # PR_SET_THP_DISABLE (Linux)
except (OSError, AttributeError):
    pass
import sys, resource, tracemalloc, numpy as np
sys.path.insert(0, {root!r})
impl = sys.argv[1]
import benchmarks.run as B
x, y = B.mnist_batch(512, np.float32)
params = B.init_mlp([784] + [1024] * 10 + [10], np.float32)
step = B.sgd_step_numpy if impl == "numpy" else B.sgd_step_tapeflow
if impl != "idle":
    params = step(params, x, y, "relu", 0.01)  # warm-up outside the measurement
tracemalloc.start()
base = tracemalloc.get_traced_memory()[0]
if impl != "idle":
    for _ in range(50):
        params = step(params, x, y, "relu", 0.01)
peak = tracemalloc.get_traced_memory()[1] - base
def peak_rss_mb():
    # VmHWM belongs to this process's address space (ru_maxrss can carry the parent's peak).
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
print(peak_rss_mb(), peak / 2**20)
"""


def bench_memory() -> list[dict[str, Any]]:
    """Peak memory of 50 SGD steps, each library in its own process.

    Two figures: the peak resident set size over an idle process that loads the
    same data and parameters (what the operating system sees), and the peak of
    memory allocated during the steps as traced by tracemalloc (deterministic;
    numpy reports its array buffers to it). Ratios are to hand-written numpy.
    """
    script = MEMORY_SCRIPT.format(root=str(HERE.parent))
    rss: dict[str, float] = {}
    traced: dict[str, float] = {}
    for impl in ("idle", "numpy", "tapeflow"):
        out = subprocess.run(
            [sys.executable, "-c", script, impl],
            capture_output=True,
            text=True,
            cwd=str(HERE.parent),
            timeout=600,
        )
        if out.returncode != 0:
            raise RuntimeError(out.stderr)
        rss[impl], traced[impl] = map(float, out.stdout.split())
    rows = []
    label = "peak memory, 50 SGD steps 784-(10x1024)-10 relu, batch 512, f32"
    numpy_inc = rss["numpy"] - rss["idle"]
    for impl in ("numpy", "tapeflow"):
        inc = rss[impl] - rss["idle"]
        row = {
            "workload": label + ", RSS over idle",
            "impl": impl,
            "median": inc,
            "min": inc,
            "max": inc,
            "unit": "MB",
        }
        if numpy_inc > 0:  # the idle process's own peak (loading, init) can exceed numpy's
            row["ratio_to_numpy"] = inc / numpy_inc
        rows.append(row)
    for impl in ("numpy", "tapeflow"):
        rows.append(
            {
                "workload": label + ", traced peak",
                "impl": impl,
                "median": traced[impl],
                "min": traced[impl],
                "max": traced[impl],
                "unit": "MB",
                "ratio_to_numpy": traced[impl] / traced["numpy"],
            }
        )
    return rows


# ----- peers ------------------------------------------------------------------------
def load_peers() -> tuple[dict[str, Any], list[str]]:
    peers: dict[str, Any] = {}
    notes = []
    try:
        import autograd
        import autograd.numpy as anp

        def make_autograd(kind: str, arg: Any) -> Any:
            if kind == "chain":

                def chain(x: Any) -> Any:
                    for _ in range(CHAIN_LEN // 3):
                        x = anp.sin(x * 1.0001 + 0.001)
                    return anp.sum(x)

                g = autograd.grad(chain)
                return lambda: g(arg)
            return None

        from importlib.metadata import version

        peers[f"autograd {version('autograd')}"] = make_autograd
    except ImportError:
        notes.append("autograd not installed (pip install autograd)")
    try:
        import mygrad as mg

        def make_mygrad(kind: str, arg: Any) -> Any:
            if kind == "chain":

                def run() -> Any:
                    x = mg.tensor(arg)
                    y = x
                    for _ in range(CHAIN_LEN // 3):
                        y = mg.sin(y * 1.0001 + 0.001)
                    mg.sum(y).backward()
                    return x.grad

                return run
            return None

        peers[f"mygrad {mg.__version__}"] = make_mygrad
    except ImportError:
        notes.append("mygrad not installed (pip install mygrad)")
    if importlib.util.find_spec("torch") is not None:
        peers[f"torch {_torch_version()} (eager)"] = make_torch
    else:
        notes.append("torch not installed (optional peer)")
    if importlib.util.find_spec("jax") is None:
        notes.append("jax not installed (optional peer)")
    else:
        notes.append("jax is installed but not measured by this suite yet")
    return peers, notes


def _torch_version() -> str:
    import torch

    return str(torch.__version__)


def make_torch(kind: str, arg: Any) -> Any:
    """torch eager on the same workloads, with torch limited to the same thread count."""
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    if kind == "chain":
        x0 = torch.tensor(np.asarray(arg))

        def run_chain() -> Any:
            x = x0.clone().requires_grad_(True)
            y = x
            for _ in range(CHAIN_LEN // 3):
                y = torch.sin(y * 1.0001 + 0.001)
            y.sum().backward()
            return x.grad

        return run_chain
    if kind == "mlp":
        sizes, act, x, y = arg
        dtype = torch.float32 if x.dtype == np.float32 else torch.float64
        params = [
            (torch.tensor(w, dtype=dtype), torch.tensor(b, dtype=dtype))
            for w, b in init_mlp(sizes, x.dtype)
        ]
        xt, yt = torch.tensor(x), torch.tensor(y)

        def run_step() -> Any:
            leaves = [t.requires_grad_(True) for wb in params for t in wb]
            h = xt
            for i in range(len(params)):
                w, b = leaves[2 * i], leaves[2 * i + 1]
                h = h @ w + b
                if i < len(params) - 1:
                    h = torch.sigmoid(h) if act == "sigmoid" else torch.relu(h)
            loss = torch.nn.functional.cross_entropy(h, yt)
            grads = torch.autograd.grad(loss, leaves)
            with torch.no_grad():
                return [p - 0.1 * g for p, g in zip(leaves, grads, strict=True)]

        return run_step
    return None


def set_threads(n: int) -> None:
    """Use ``n`` threads for the whole run (both sides of every ratio): numpy's BLAS and
    tapeflow's kernels (``tapeflow.nn.threads``)."""
    os.environ["OMP_NUM_THREADS"] = str(n)
    if hasattr(tp.nn, "threads"):  # (a tapeflow before kernel threads, for before/after runs)
        tp.nn.threads.set_threads(n)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    except ImportError:
        from benchmarks.mnist import set_blas_threads

        set_blas_threads(n)


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def keep_freed_memory(limit: int = 256 << 20) -> bool:
    """Ask the C allocator (glibc) to keep freed memory in the process, up to ``limit``.

    By default glibc serves large arrays with fresh ``mmap`` pages and returns freed memory
    to the operating system, so the next allocation page-faults it back (about 3 us per
    4 kB page on this kind of virtual machine). When implementations take turns, each
    one then pays for what the one before it freed: a step's time moved by up to 70%
    with its neighbour in the interleaving, and the hand-written step was the one most
    often slowed. Keeping freed memory gives every implementation the warm heap it has
    when it runs alone in a training loop. Returns False where the allocator is not glibc.
    """
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(_M_TRIM_THRESHOLD, limit)) and bool(mallopt(_M_MMAP_THRESHOLD, limit))


def environment() -> dict[str, Any]:
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "tapeflow": tp.__version__,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    try:
        from threadpoolctl import threadpool_info

        env["blas"] = [
            {k: info.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
            for info in threadpool_info()
        ]
    except ImportError:
        env["blas"] = "threadpoolctl not installed"
    return env


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Two panels: per-op overhead (us/op) and training-step time relative to numpy."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("note: --plot needs matplotlib (pip install -e '.[plot]'); no plot written")
        return
    per_op = [r for r in rows if r["workload"].startswith("per-op")]
    steps = [r for r in rows if "ratio_to_numpy" in r and "MLP" in r["workload"]]
    height = 1.5 + 0.3 * max(len(per_op), len(steps))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, height))
    labels = [f"{r['workload'].split(', ')[1]}: {r['impl']}" for r in per_op]
    ax1.barh(labels, [r["median"] for r in per_op], color="tab:blue")
    ax1.set_xscale("log")
    ax1.set_xlabel("microseconds per op, forward + backward (log scale)")
    ax1.set_title("Per-op overhead: chain of 999 ops")
    labels = [
        f"{r['workload'].split(',')[0]} {r['workload'].split(', ')[-1]}: {r['impl']}" for r in steps
    ]
    ax2.barh(labels, [r["ratio_to_numpy"] for r in steps], color="tab:green")
    ax2.axvline(1.0, color="k", lw=0.8)
    ax2.set_xlabel("step time / hand-written numpy step time")
    ax2.set_title("MLP training step")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    print(f"wrote {path}")


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| workload | implementation | median | min-max | unit | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = r.get("ratio_to_numpy", r.get("ratio_hvp_to_grad"))
        text = "" if ratio is None else f"{ratio:.2f}x"
        if "ratio_to_autograd" in r:
            text = f"{r['ratio_to_autograd']:.2f}x autograd"
        if "over_numpy_us" in r:
            text = f"{r['over_numpy_us']:+.0f} us over numpy"
        if "ratio_to_gemm_floor" in r:
            text += f", {r['ratio_to_gemm_floor']:.2f}x GEMM floor"
            if "ratio_to_torch" in r:
                text += f", {r['ratio_to_torch']:.2f}x torch"
        lines.append(
            f"| {r['workload']} | {r['impl']} | {r['median']:.3g} | "
            f"{r['min']:.3g}-{r['max']:.3g} | {r['unit']} | {text} |"
        )
    return "\n".join(lines)


WORKLOADS = ("per-op", "mlp", "cnn", "overhead", "hvp", "memory")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer repeats and workloads (< 1 minute)"
    )
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    parser.add_argument("--skip-memory", action="store_true", help="skip the peak-memory workload")
    parser.add_argument(
        "--only",
        type=lambda s: s.split(","),
        default=None,
        help=f"run only these workloads, comma-separated, of {','.join(WORKLOADS)}",
    )
    parser.add_argument(
        "--plot", type=Path, help="write a PNG plot of the results (needs matplotlib)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="BLAS threads (default 1: on a shared 2-core machine OpenBLAS threads "
        "spin-wait and make timings collapse; 0 leaves numpy's default)",
    )
    parser.add_argument(
        "--default-allocator",
        action="store_true",
        help="leave the C allocator's defaults (it then returns freed memory to the OS, and "
        "interleaved implementations page-fault for each other's frees)",
    )
    args = parser.parse_args(argv)
    if args.threads:
        set_threads(args.threads)
    repeat = 5 if args.quick else 15
    peers, notes = load_peers()
    env = environment()
    # The memory workload runs in child processes, which keep the allocator's defaults.
    kept = not args.default_allocator and keep_freed_memory()
    env["allocator"] = "freed memory kept (glibc mallopt)" if kept else "default"
    print(f"# tapeflow benchmarks\n\nenvironment: {json.dumps(env)}\n")
    for n in notes:
        print(f"note: {n}")
    rows = []
    started = time.perf_counter()
    env["blas_threads_set"] = args.threads or "numpy default"
    wanted = set(args.only or WORKLOADS)
    unknown = wanted - set(WORKLOADS)
    if unknown:
        parser.error(f"--only: unknown workloads {sorted(unknown)}; choose from {WORKLOADS}")
    memory_rows = []
    if "memory" in wanted and not (args.quick or args.skip_memory):
        memory_rows = bench_memory()
    if "per-op" in wanted:
        rows += bench_per_op(repeat, peers)
    if "mlp" in wanted:
        rows += bench_mlp(repeat, peers, args.quick)
    if "cnn" in wanted:
        rows += bench_cnn(repeat, peers)
    if "overhead" in wanted:
        rows += bench_step_overhead(repeat, peers)
    if "hvp" in wanted:
        rows += bench_hvp(repeat)
    rows += memory_rows
    print(markdown(rows))
    print(f"\ntotal time {time.perf_counter() - started:.1f} s")
    if args.plot:
        plot(rows, args.plot)
    if args.json:
        args.json.write_text(
            json.dumps({"environment": env, "notes": notes, "results": rows}, indent=2)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
