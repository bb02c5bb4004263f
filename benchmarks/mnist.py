"""Train a network on MNIST with tapeflow: the main job.

    python benchmarks/mnist.py                      # the lab network: 784-256 sigmoid-10, plain SGD
    python benchmarks/mnist.py --model mlp          # two hidden ReLU layers, Adam
    python benchmarks/mnist.py --model cnn          # two conv + max-pool layers, dense head, Adam,
                                                    # images shifted by up to 2 pixels in training
    python benchmarks/mnist.py --epochs 3 --lr 0.5 --json results.json --save params.npz
    python benchmarks/mnist.py --jit                # the whole training step compiled with tp.jit
    python benchmarks/mnist.py --jit grad           # value_and_grad compiled, the update eager
    mpiexec -n 2 python benchmarks/mnist.py --distributed   # data parallel: 2 processes

With ``--distributed`` (under ``mpiexec``, mpi extra installed) every process
takes its contiguous share of each global batch, the gradients are averaged
across processes with one fused all-reduce per step, and every process applies
the same update: the parameters stay identical on all ranks (checked with a hash
at the end), and match single-process training with the same seed and batch size
up to float rounding. Rank 0 evaluates and prints.

The last 5,000 training images are held out for validation (reported after
each epoch); the network trains on the other 55,000 and the test accuracy on
the 10,000 test images is reported at the end. The same ``--seed`` gives the
same result bit for bit on the same machine.

Progress: on a terminal, one line rewritten in place with the time left; with the
output piped, a line every 10 s (``--progress-every``); ``--quiet`` prints only the
final summary. Ctrl-C stops after the current batch and prints the results so far
(a second Ctrl-C aborts). See ``benchmarks/progress.py``.

Data: ``--data-dir`` if given, else the copy shipped in ``benchmarks/data/mnist``,
else ``tapeflow.datasets.mnist``'s own lookup (``$TAPEFLOW_DATA_DIR``, then a
per-user cache, downloading when missing).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# OpenBLAS's idle threads spin for a while after each product (2**28 cycles by default),
# taking the cores from whatever runs next: numpy's passes and tapeflow's kernel threads.
# Told to sleep at once, they cost no product time here (see docs/training.md#threads).
# OpenBLAS reads this when numpy loads it, hence before the import; the environment wins.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

import tapeflow as tp  # noqa: E402
from benchmarks.progress import STOP, Progress, stop_on_ctrl_c  # noqa: E402,F401
from tapeflow import nn, optim  # noqa: E402

SHIPPED_DATA = HERE / "data" / "mnist"
VALIDATION_SIZE = tp.datasets.VALIDATION_SIZE


# ----- BLAS threads --------------------------------------------------------------------
def _openblas_functions(names: tuple[str, ...]) -> list[Any]:
    import ctypes
    import glob

    libs_dir = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    found = []
    for path in glob.glob(str(libs_dir / "*openblas*")):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in names:
            fn = getattr(lib, name, None)
            if fn is not None:
                found.append(fn)
                break
    return found


def get_blas_threads() -> int | None:
    """The number of threads numpy's OpenBLAS uses, or None if it cannot be found."""
    fns = _openblas_functions(
        (
            "scipy_openblas_get_num_threads64_",
            "openblas_get_num_threads64_",
            "openblas_get_num_threads",
        )
    )
    return int(fns[0]()) if fns else None


def set_blas_threads(n: int) -> bool:
    """Set the number of threads of numpy's OpenBLAS at run time; False if not found.

    The matrices of a batch-128 MLP are small: one thread does them nearly as
    fast as two, and OpenBLAS threads that spin-wait collapse (10x and worse)
    when the machine is shared, so the benchmark defaults to one thread.
    """
    import ctypes

    fns = _openblas_functions(
        (
            "scipy_openblas_set_num_threads64_",
            "openblas_set_num_threads64_",
            "openblas_set_num_threads",
        )
    )
    for fn in fns:
        fn(ctypes.c_int(n))
    return bool(fns)


# ----- models ------------------------------------------------------------------------
def _lab_mlp() -> nn.Layer:
    # The backpropagation lab's network; uniform(-0.1, 0.1) weights, zero biases.
    return nn.serial(
        nn.Dense(256, W_init=_uniform(0.1)), nn.Sigmoid, nn.Dense(10, W_init=_uniform(0.1))
    )


def _uniform(limit: float) -> Callable[..., np.ndarray]:
    def init(
        rng: np.random.Generator, shape: tuple[int, ...], dtype: Any = np.float32
    ) -> np.ndarray:
        return rng.uniform(-limit, limit, shape).astype(dtype)

    return init


def _mlp() -> nn.Layer:
    return nn.serial(
        nn.Dense(512, W_init=nn.initializers.he_normal),
        nn.Relu,
        nn.Dense(512, W_init=nn.initializers.he_normal),
        nn.Relu,
        nn.Dense(10),
    )


# Mean and standard deviation of the MNIST training pixels (scaled to [0, 1]).
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


def _standardize(x: Any) -> Any:
    return (x - MNIST_MEAN) * (1.0 / MNIST_STD)


def _cnn() -> nn.Layer:
    return nn.serial(
        nn.elementwise(_standardize),
        nn.Conv(32, (3, 3), padding="SAME"),
        nn.Relu,
        nn.MaxPool(2),
        nn.Conv(64, (3, 3), padding="SAME"),
        nn.Relu,
        nn.MaxPool(2),
        nn.Flatten,
        nn.Dense(128, W_init=nn.initializers.he_normal),
        nn.Relu,
        nn.Dense(10),
    )


# Per model: builder, input layout ("flat" or "image"), optimizer, learning rate,
# schedule, epochs, batch size, and max_shift: training images are shifted at
# random by up to that many pixels (0: no augmentation).
MODELS: dict[str, dict[str, Any]] = {
    "lab-mlp": dict(
        build=_lab_mlp,
        layout="flat",
        optimizer="sgd",
        lr=1.0,
        schedule="constant",
        epochs=10,
        batch_size=128,
    ),
    "mlp": dict(
        build=_mlp,
        layout="flat",
        optimizer="adam",
        lr=1e-3,
        schedule="cosine",
        epochs=10,
        batch_size=128,
    ),
    "cnn": dict(
        build=_cnn,
        layout="image",
        optimizer="adam",
        lr=1e-3,
        schedule="cosine",
        epochs=3,
        batch_size=64,
        max_shift=2,
    ),
}

# What ``--jit`` compiles: the whole step (forward, backward, optimizer update), or
# value_and_grad alone with the update run eagerly (what --jit did before the optimizers
# could be traced; kept for comparison).
JIT_MODES = {
    "step": "the whole training step (forward, backward, optimizer update) compiled with tp.jit",
    "grad": "value_and_grad compiled with tp.jit, the optimizer update run eagerly",
}

OPTIMIZERS: dict[str, Callable[[Any], optim.Optimizer]] = {
    "sgd": lambda lr: optim.sgd(lr),
    "momentum": lambda lr: optim.sgd(lr, momentum=0.9),
    "nesterov": lambda lr: optim.sgd(lr, momentum=0.9, nesterov=True),
    "adam": lambda lr: optim.adam(lr),
    "adamw": lambda lr: optim.adamw(lr, weight_decay=1e-4),
    "rmsprop": lambda lr: optim.rmsprop(lr),
    "adagrad": lambda lr: optim.adagrad(lr),
}


# ----- data ------------------------------------------------------------------------
def load_data(data_dir: str | None, layout: str, dtype: Any) -> dict[str, np.ndarray]:
    """MNIST as float arrays in [0, 1]: train (55k), validation (5k) and test (10k)."""
    if data_dir is None and SHIPPED_DATA.is_dir():
        data_dir = str(SHIPPED_DATA)
    x_train, y_train, x_test, y_test = tp.datasets.mnist(data_dir)

    def prepare(images: np.ndarray) -> np.ndarray:
        x = images.astype(dtype)
        x *= dtype(1.0 / 255.0)
        if layout == "flat":
            return x.reshape(len(x), -1)
        return x.reshape(len(x), 1, 28, 28)

    # The last VALIDATION_SIZE images, as tp.datasets.read_data_sets holds out.
    x_fit, y_fit, x_val, y_val = tp.datasets.split_validation(
        prepare(x_train), y_train.astype(np.int64), VALIDATION_SIZE
    )
    return {
        "x_train": x_fit,
        "y_train": y_fit,
        "x_val": x_val,
        "y_val": y_val,
        "x_test": prepare(x_test),
        "y_test": y_test.astype(np.int64),
    }


def random_shift(x: np.ndarray, rng: np.random.Generator, max_shift: int) -> np.ndarray:
    """Shift each NCHW image by up to ``max_shift`` pixels in each direction (zero fill).

    One padded copy and one gather for the whole batch: no loop over images.
    """
    n, c, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (max_shift, max_shift), (max_shift, max_shift)))
    dy = rng.integers(0, 2 * max_shift + 1, n)
    dx = rng.integers(0, 2 * max_shift + 1, n)
    rows = (dy[:, None] + np.arange(h))[:, None, :, None]
    cols = (dx[:, None] + np.arange(w))[:, None, None, :]
    return padded[np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None], rows, cols]


# ----- progress display ----------------------------------------------------------------
# ----- training ------------------------------------------------------------------------
def evaluate(
    apply: Callable[..., Any], params: Any, x: np.ndarray, y: np.ndarray, chunk: int = 1000
) -> float:
    """Accuracy of the model on (x, y), evaluated in chunks (no tracing, no dropout)."""
    correct = 0
    for start in range(0, len(x), chunk):
        logits = apply(params, x[start : start + chunk])
        correct += int(np.sum(np.argmax(logits, axis=-1) == y[start : start + chunk]))
    return correct / len(x)


def make_train_step(
    loss_fn: Callable[..., Any],
    opt: optim.Optimizer,
    jit: str | None = None,
    distributed: bool = False,
) -> tuple[Callable[..., Any], Any]:
    """``step(params, state, x, y, share) -> (params, state, loss)``, compiled as ``jit`` says.

    ``jit`` is a key of ``JIT_MODES`` or None (eager). Also returns the function that
    ``tp.jit`` compiled (None when eager), for its trace count: compiled steps are traced
    once per batch shape (the last, shorter batch of an epoch adds one trace).
    ``distributed``: ``x, y`` are this rank's share of the global batch, ``share`` its
    fraction of the global batch's examples; the ranks' loss and gradients, weighted by
    their shares, are summed in one fused all-reduce: the global batch's mean.
    """
    value_and_grad = tp.value_and_grad(loss_fn)
    if jit == "grad":
        value_and_grad = tp.jit(value_and_grad)

    def train_step(
        p: Any, s: Any, x: np.ndarray, y: np.ndarray, share: float = 1.0
    ) -> tuple[Any, Any, Any]:
        loss, grads = value_and_grad(p, x, y)
        if distributed:
            weighted = tp.tree_util.tree_map(lambda g: g * share, (loss, grads))
            loss, grads = tp.distributed.fused_allreduce(weighted, op="sum")
        p, s = opt.update(grads, s, p)
        return p, s, loss

    if jit == "step":
        compiled = tp.jit(train_step)
        return compiled, compiled
    return train_step, value_and_grad if jit == "grad" else None


def train(
    model: str = "lab-mlp",
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    optimizer: str | None = None,
    schedule: str | None = None,
    dtype: str = "float32",
    seed: int = 0,
    data_dir: str | None = None,
    max_batches: int | None = None,
    data: dict[str, np.ndarray] | None = None,
    progress: Progress | None = None,
    quiet: bool = False,
    jit: bool | str = False,
    distributed: bool = False,
    progress_every: float = 10.0,
) -> dict[str, Any]:
    """Train one model and return its results (accuracies, timings, history, params).

    ``max_batches`` limits the batches per epoch (for quick tests); ``data`` may
    pass arrays already loaded with :func:`load_data` for the model's layout.
    ``jit`` is False (eager), ``"step"`` or True (the whole step compiled) or
    ``"grad"`` (value_and_grad compiled, the update eager); see ``JIT_MODES``.
    ``distributed``: data parallel over the processes of an MPI job (see the module's
    docstring); only rank 0 evaluates (the accuracies are None on the other ranks).
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    jit_mode = "step" if jit is True else (jit or None)
    if jit_mode is not None and jit_mode not in JIT_MODES:
        raise ValueError(f"unknown jit mode {jit!r}; use one of {', '.join(JIT_MODES)}")
    spec = MODELS[model]
    epochs = spec["epochs"] if epochs is None else epochs
    batch_size = spec["batch_size"] if batch_size is None else batch_size
    lr = spec["lr"] if lr is None else lr
    optimizer = spec["optimizer"] if optimizer is None else optimizer
    schedule = spec["schedule"] if schedule is None else schedule
    np_dtype = {"float32": np.float32, "float64": np.float64}[dtype]

    t_start = time.perf_counter()
    if data is None:
        data = load_data(data_dir, spec["layout"], np_dtype)
    x_train, y_train = data["x_train"], data["y_train"]
    rank, world = 0, 1
    if distributed:
        rank, world = tp.distributed.rank(), tp.distributed.size()
        smallest = len(x_train) % batch_size or batch_size
        if min(batch_size, smallest) < world:
            raise ValueError(
                f"a global batch of {min(batch_size, smallest)} examples cannot give each of "
                f"the {world} ranks at least one; use a --batch-size of at least {world} "
                "whose last batch of an epoch is also that large"
            )
    evaluates = rank == 0
    n_batches = -(-len(x_train) // batch_size)
    if max_batches is not None:
        n_batches = min(n_batches, max_batches)
    total_steps = epochs * n_batches

    if schedule == "cosine":
        rate: Any = optim.cosine_decay(lr, max(total_steps, 1))
    elif schedule == "constant":
        rate = lr
    else:
        raise ValueError(f"unknown schedule {schedule!r}; use 'constant' or 'cosine'")
    opt = OPTIMIZERS[optimizer](rate)

    init, apply = spec["build"]()
    rng = np.random.default_rng(seed)
    init_rng, data_rng = (np.random.default_rng(s) for s in rng.integers(0, 2**63 - 1, size=2))
    in_shape = (-1,) + x_train.shape[1:]
    _, params = init(init_rng, in_shape, np_dtype)
    state = opt.init(params)

    dropout_rng = np.random.default_rng(int(rng.integers(0, 2**63 - 1)))
    augment_rng = np.random.default_rng(int(rng.integers(0, 2**63 - 1)))
    max_shift = spec.get("max_shift", 0)

    def loss_fn(p: Any, x: np.ndarray, y: np.ndarray) -> Any:
        return nn.softmax_cross_entropy(apply(p, x, rng=dropout_rng, train=True), y)

    step, compiled = make_train_step(loss_fn, opt, jit_mode, distributed)
    progress = progress or Progress(
        epochs, n_batches, quiet=quiet or not evaluates, every=progress_every
    )
    history = []
    train_seconds = 0.0
    cpu_start = time.process_time()
    examples = 0
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        seen = 0
        loss_sum = 0.0
        for i, (xb, yb) in enumerate(
            tp.datasets.batches(x_train, y_train, batch_size, rng=data_rng)
        ):
            if i >= n_batches:
                break
            if max_shift:
                xb = random_shift(xb, augment_rng, max_shift)
            if distributed:
                # This rank's contiguous share; shares differ by at most one example.
                lo, hi = len(yb) * rank // world, len(yb) * (rank + 1) // world
                params, state, loss = step(params, state, xb[lo:hi], yb[lo:hi], (hi - lo) / len(yb))
            else:
                params, state, loss = step(params, state, xb, yb)
            loss = float(loss)
            if not np.isfinite(loss):
                raise FloatingPointError(
                    f"the loss became {loss} at epoch {epoch}, batch {i + 1}; lower --lr"
                )
            loss_sum += loss * len(yb)
            seen += len(yb)
            progress.batch(epoch, i, loss, seen, time.perf_counter() - t0)
            if STOP.requested:  # Ctrl-C (see stop_on_ctrl_c): finish with the results so far
                break
        seconds = time.perf_counter() - t0
        train_seconds += seconds
        examples += seen
        val_acc = evaluate(apply, params, data["x_val"], data["y_val"]) if evaluates else None
        history.append(
            {
                "epoch": epoch,
                "train_loss": loss_sum / seen,
                "val_accuracy": val_acc,
                "seconds": seconds,
                "examples_per_s": seen / seconds,
            }
        )
        progress.epoch(epoch, loss_sum / seen, val_acc, seconds, seen / seconds)
        if STOP.requested:
            break
    train_cpu = time.process_time() - cpu_start
    test_acc = evaluate(apply, params, data["x_test"], data["y_test"]) if evaluates else None
    wall = time.perf_counter() - t_start
    param_hash = params_digest(params)
    if distributed:
        agree_on_params(param_hash)
    return {
        "model": model,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "optimizer": optimizer,
        "schedule": schedule,
        "dtype": dtype,
        "seed": seed,
        "max_batches": max_batches,
        "train_examples": int(len(x_train)),
        "history": history,
        "val_accuracy": history[-1]["val_accuracy"] if history else None,
        "test_accuracy": test_acc,
        "train_seconds": train_seconds,
        "train_cpu_seconds": train_cpu,
        "wall_seconds": wall,
        "examples_per_s": examples / train_seconds if train_seconds else None,
        "params": params,
        "jit": jit_mode,
        "jit_traces": getattr(compiled, "trace_count", None),
        "ranks": world,
        "params_sha256": param_hash,
        "interrupted": STOP.requested,
    }


def params_digest(params: Any) -> str:
    """SHA-256 of the parameters' bytes, leaf by leaf in pytree order."""
    import hashlib

    digest = hashlib.sha256()
    for leaf in tp.tree_util.tree_leaves(params):
        digest.update(np.ascontiguousarray(leaf).tobytes())
    return digest.hexdigest()


def agree_on_params(digest: str) -> None:
    """Raise on every rank unless all ranks hold the same parameters (the same hash)."""
    mine = np.frombuffer(bytes.fromhex(digest), dtype=np.uint8)
    every = tp.distributed.allgather(mine[None, :])
    if not (every == every[0]).all():
        listing = ", ".join(f"rank {r}: {bytes(h).hex()[:16]}" for r, h in enumerate(every))
        raise RuntimeError(f"the ranks' parameters differ after training ({listing})")


# ----- outputs --------------------------------------------------------------------------
def check_matplotlib() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def plot(results: dict[str, Any], path: str, plt: Any) -> None:
    epochs = [h["epoch"] for h in results["history"]]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax1.plot(epochs, [h["train_loss"] for h in results["history"]], marker="o")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("training loss")
    ax2.plot(epochs, [100 * h["val_accuracy"] for h in results["history"]], marker="o")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("validation accuracy (%)")
    fig.suptitle(
        f"tapeflow MNIST {results['model']}: test accuracy {100 * results['test_accuracy']:.2f}%"
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Train a network on MNIST with tapeflow (default: the lab network, "
        "784-256 sigmoid-10 with plain SGD).",
    )
    parser.add_argument(
        "--model", choices=list(MODELS), default="lab-mlp", help="the network (default: lab-mlp)"
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="default: 10 (lab-mlp, mlp), 3 (cnn)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=None, help="default: 128 (lab-mlp, mlp), 64 (cnn)"
    )
    parser.add_argument(
        "--lr", type=float, default=None, help="default: 1.0 (lab-mlp), 1e-3 (mlp, cnn)"
    )
    parser.add_argument(
        "--optimizer",
        choices=list(OPTIMIZERS),
        default=None,
        help="default: sgd (lab-mlp), adam (mlp, cnn)",
    )
    parser.add_argument(
        "--schedule",
        choices=["constant", "cosine"],
        default=None,
        help="learning-rate schedule; default: constant (lab-mlp), cosine (mlp, cnn)",
    )
    parser.add_argument(
        "--dtype", choices=["float32", "float64"], default="float32", help="default: float32"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seeds the initialisation and the shuffle (default: 0)"
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="directory with the four MNIST .gz files (default: benchmarks/data/mnist)",
    )
    parser.add_argument(
        "--max-batches",
        type=int,
        default=None,
        help="stop each epoch after this many batches (quick runs)",
    )
    parser.add_argument(
        "--save", metavar="PARAMS.npz", default=None, help="save the trained parameters"
    )
    parser.add_argument(
        "--plot",
        metavar="CURVES.png",
        default=None,
        help="plot loss and validation accuracy (needs matplotlib)",
    )
    parser.add_argument(
        "--json", metavar="RESULTS.json", default=None, help="write the results as JSON"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads of numpy's BLAS and of tapeflow's kernels; 0 leaves their defaults "
        "(default: 1)",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the final summary")
    parser.add_argument(
        "--default-allocator",
        action="store_true",
        help="leave the C allocator's defaults: it then returns the large arrays each step "
        "frees to the operating system and page-faults them back on the next step",
    )
    parser.add_argument(
        "--progress-every",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="with output piped, a progress line at most this often (default: 10)",
    )
    parser.add_argument(
        "--jit",
        nargs="?",
        const="step",
        default=None,
        choices=list(JIT_MODES),
        help="compile with tp.jit: the whole training step, forward, backward and optimizer "
        "update (--jit, --jit step), or value_and_grad alone with the update run eagerly "
        "(--jit grad)",
    )
    parser.add_argument(
        "--distributed",
        action="store_true",
        help="data parallel over the processes of an MPI job: launch with "
        "`mpiexec -n N python benchmarks/mnist.py --distributed` (needs the mpi extra)",
    )
    args = parser.parse_args(argv)

    for name in ("epochs", "batch_size", "max_batches"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    if args.lr is not None and not args.lr > 0:
        parser.error(f"--lr must be > 0, got {args.lr}")
    plt = None
    if args.plot:
        plt = check_matplotlib()
        if plt is None:
            parser.error(
                "--plot needs matplotlib, which is not installed; install it with "
                "`pip install matplotlib` (or `pip install -e .[plot]`), or drop --plot"
            )

    rank, world = 0, 1
    if args.distributed:
        if not tp.distributed.launched_by_mpi():
            parser.error(
                "--distributed runs one process per rank, started by an MPI launcher: "
                "mpiexec -n 2 python benchmarks/mnist.py --distributed (mpiexec comes with "
                f"`{tp.distributed.INSTALL_HINT}`)"
            )
        try:
            rank, world = tp.distributed.rank(), tp.distributed.size()
        except ImportError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
    if args.threads > 0:
        set_blas_threads(args.threads)
        nn.threads.set_threads(args.threads)
    if not args.default_allocator:
        # With glibc's defaults a cnn step page-faulted some 5,700 fresh pages (22 MB)
        # back in every step; keeping freed memory in the process takes that to none.
        from benchmarks.run import keep_freed_memory

        keep_freed_memory()
    spec = MODELS[args.model]
    # Every rank trains; rank 0 alone prints, evaluates and writes files.
    out: Any = sys.stdout if rank == 0 else io.StringIO()
    say = (lambda *a, **k: None) if args.quiet else print
    say(
        f"tapeflow {tp.__version__} | numpy {np.__version__} | "
        f"python {platform.python_version()} | "
        f"model {args.model} | optimizer {args.optimizer or spec['optimizer']} | "
        f"lr {args.lr if args.lr is not None else spec['lr']} | "
        f"batch {args.batch_size or spec['batch_size']} | {args.dtype} | seed {args.seed}"
        + (f" | jit: {args.jit}" if args.jit else "")
        + (f" | {world} ranks" if args.distributed else ""),
        flush=True,
        file=out,
    )
    if args.jit:
        say(f"jit: {JIT_MODES[args.jit]}", flush=True, file=out)
    # Ctrl-C stops after the current batch; not across ranks, which must stop together.
    stop = stop_on_ctrl_c() if world == 1 else contextlib.nullcontext()
    try:
        with stop:
            results = train(
                model=args.model,
                epochs=args.epochs,
                batch_size=args.batch_size,
                lr=args.lr,
                optimizer=args.optimizer,
                schedule=args.schedule,
                dtype=args.dtype,
                seed=args.seed,
                data_dir=args.data_dir,
                max_batches=args.max_batches,
                quiet=args.quiet,
                jit=args.jit,
                distributed=args.distributed,
                progress_every=args.progress_every,
            )
    except (OSError, ValueError, FloatingPointError) as e:
        if world > 1:
            raise  # the abort hook stops every rank, with this error
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # a second Ctrl-C
        print("interrupted", file=sys.stderr)
        return 130
    if results["interrupted"]:
        epoch = results["history"][-1]["epoch"]
        print(f"stopped by Ctrl-C in epoch {epoch}; the results so far:", file=sys.stderr)
    params = results.pop("params")
    if rank != 0:
        return 0
    print(
        f"test accuracy {100 * results['test_accuracy']:.2f}% | "
        f"validation accuracy {100 * results['val_accuracy']:.2f}% | "
        f"training {results['train_seconds']:.1f}s ({results['examples_per_s']:,.0f} examples/s) | "
        f"CPU {results['train_cpu_seconds']:.1f}s | wall time {results['wall_seconds']:.1f}s"
        + (f" | traced {results['jit_traces']} time(s)" if args.jit else "")
    )
    if args.distributed:
        print(
            f"parameters identical on all {world} ranks (sha256 {results['params_sha256'][:16]}...)"
        )
    if args.save:
        tp.save_params(args.save, params)
        say(f"parameters saved to {args.save}")
    if args.json:
        results["numpy"] = np.__version__
        results["tapeflow"] = tp.__version__
        results["python"] = platform.python_version()
        results["machine"] = f"{platform.machine()}, {os.cpu_count()} CPUs"
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
        say(f"results written to {args.json}")
    if args.plot:
        plot(results, args.plot, plt)
        say(f"curves plotted to {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
