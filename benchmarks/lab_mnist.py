"""The backpropagation lab's MNIST exercise, run on tapeflow.miniflow.

This is the lab's own training loop, unchanged in spirit: miniflow nodes for
Input -> Linear -> Sigmoid -> Linear -> CrossEntropyWithSoftmax, gradients from
``value_and_grad(loss, feed_dict, wrt)``, and plain SGD written by hand as
``W[:] -= step_size * dW``. Batches come from the lab's reader,
``read_data_sets(...).train.next_batch(batch_size)``.

    python benchmarks/lab_mnist.py                      # 10,000 iterations of batch 128
    python benchmarks/lab_mnist.py --iterations 2000 --hidden 0   # a 1-layer network

The lab's target is >= 90% validation and test accuracy. On a shared, busy
machine, run with ``OPENBLAS_NUM_THREADS=1``: an oversubscribed multi-threaded
BLAS made these small matrix products about 10x slower in our measurements.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(HERE.parent))

from tapeflow.datasets import read_data_sets  # noqa: E402
from tapeflow.miniflow import (  # noqa: E402
    CrossEntropyWithSoftmax,
    Input,
    Linear,
    Sigmoid,
    accuracy,
    value_and_grad,
)

DEFAULT_DATA_DIR = HERE / "data" / "mnist"


def train(
    data_dir: str | Path = DEFAULT_DATA_DIR,
    iterations: int = 10000,
    batch_size: int = 128,
    hidden: int = 256,
    step_size: float = 0.5,
    seed: int = 0,
    report_every: int = 1000,
    log=print,
) -> dict:
    """Train the lab's network with miniflow and SGD; return the accuracies and timing."""
    mnist = read_data_sets(data_dir, one_hot=False, seed=seed)
    X_val = mnist.validation.images
    y_val = mnist.validation.labels.astype(np.int8)
    X_test = mnist.test.images
    y_test = mnist.test.labels.astype(np.int8)

    # initialize weights (float32, like the images)
    rng = np.random.default_rng(seed)
    n_in, n_out = X_val.shape[1], 10
    if hidden:
        W1 = (rng.normal(size=(n_in, hidden)) / np.sqrt(n_in)).astype(np.float32)
        b1 = np.zeros(hidden, np.float32)
        W2 = (rng.normal(size=(hidden, n_out)) / np.sqrt(hidden)).astype(np.float32)
    else:
        W2 = np.zeros((n_in, n_out), np.float32)
    b2 = np.zeros(n_out, np.float32)

    # define architecture
    X_in, y_in = Input(name="X"), Input(name="y")
    W2_in, b2_in = Input(name="W2"), Input(name="b2")
    if hidden:
        W1_in, b1_in = Input(name="W1"), Input(name="b1")
        features = Sigmoid(Linear(X_in, W1_in, b1_in))
        weights = {W1_in: W1, b1_in: b1, W2_in: W2, b2_in: b2}
    else:
        features = X_in
        weights = {W2_in: W2, b2_in: b2}
    logits = Linear(features, W2_in, b2_in)
    loss_node = CrossEntropyWithSoftmax(logits, y_in)
    wrt = list(weights)

    history = []
    start = time.perf_counter()
    for i in range(iterations):
        X_batch, y_batch = mnist.train.next_batch(batch_size)
        y_batch = y_batch.astype(np.int8)
        feed_dict = {X_in: X_batch, y_in: y_batch, **weights}
        loss, grad = value_and_grad(loss_node, feed_dict, wrt)

        if report_every and i % report_every == 0:
            acc = accuracy(logits, {X_in: X_val, **weights}, y_val)
            history.append((i, float(loss), acc))
            log(f"Iteration {i}: loss = {float(loss):.4f}, validation accuracy = {acc:.4f}")

        # SGD: step every weight against its gradient, in place
        for value, g in zip(weights.values(), grad, strict=True):
            value[:] -= step_size * g

    seconds = time.perf_counter() - start
    val_acc = accuracy(logits, {X_in: X_val, **weights}, y_val)
    test_acc = accuracy(logits, {X_in: X_test, **weights}, y_test)
    log(f"Validation accuracy = {val_acc:.4f}")
    log(f"Testing accuracy = {test_acc:.4f}")
    log(
        f"{iterations} iterations of batch {batch_size} in {seconds:.1f} s "
        f"({iterations * batch_size / seconds:,.0f} examples/s)"
    )
    return {
        "validation_accuracy": val_acc,
        "test_accuracy": test_acc,
        "seconds": seconds,
        "history": history,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR))
    parser.add_argument("--iterations", type=int, default=10000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=256, help="hidden units; 0 for 1 layer")
    parser.add_argument("--step-size", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report-every", type=int, default=1000)
    args = parser.parse_args(argv)
    if not 1 <= args.batch_size <= 128:
        parser.error("the lab uses batches of at most 128")
    result = train(
        args.data_dir,
        args.iterations,
        args.batch_size,
        args.hidden,
        args.step_size,
        args.seed,
        args.report_every,
    )
    ok = result["validation_accuracy"] >= 0.9 and result["test_accuracy"] >= 0.9
    print("lab target (>= 90% validation and test accuracy):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
