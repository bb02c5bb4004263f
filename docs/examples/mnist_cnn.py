"""A convolutional network on MNIST, trained with tp.nn, tp.optim and tp.jit.

Two 3x3 convolutions (16 and 32 channels, each followed by ReLU and 2x2 max-pooling)
and a dense layer to the 10 classes, on images in NCHW layout (batch, channel, height,
width). Adam with a cosine-decayed learning rate; the whole training step is one
``tp.jit`` call. It prints the test accuracy after each epoch and, when matplotlib is
installed, draws test digits with the predicted labels (wrong ones in red). For the
larger model and the measured times, see ``benchmarks/mnist.py --model cnn``.

    python docs/examples/mnist_cnn.py [--quick] [--out FOLDER]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

import tapeflow as tp
from tapeflow import nn

FIGURES = Path(__file__).resolve().parent / "figures"
SHIPPED_MNIST = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "mnist"
BATCH = 64

init, apply = nn.serial(
    nn.Conv(16, (3, 3), padding="SAME"),
    nn.Relu,
    nn.MaxPool(2),
    nn.Conv(32, (3, 3), padding="SAME"),
    nn.Relu,
    nn.MaxPool(2),
    nn.Flatten,
    nn.Dense(10),
)


def load(n_train: int) -> tuple[np.ndarray, ...]:
    data = tp.datasets.mnist(SHIPPED_MNIST if SHIPPED_MNIST.is_dir() else None)

    def images(a: np.ndarray) -> np.ndarray:
        return (a.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)

    x_train, y_train = images(data[0][:n_train]), data[1][:n_train].astype(np.int64)
    return x_train, y_train, images(data[2]), data[3].astype(np.int64)


def accuracy(params: Any, x: np.ndarray, y: np.ndarray) -> float:
    correct = sum(
        int(np.sum(np.argmax(apply(params, x[i : i + 1000]), axis=1) == y[i : i + 1000]))
        for i in range(0, len(x), 1000)
    )
    return correct / len(x)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few steps, for the tests")
    parser.add_argument("--out", type=Path, default=FIGURES, help="folder for the figure")
    args = parser.parse_args(argv)

    x_train, y_train, x_test, y_test = load(512 if args.quick else 60000)
    if args.quick:
        x_test, y_test = x_test[:500], y_test[:500]
    epochs = 1 if args.quick else 2
    steps = epochs * (len(x_train) // BATCH)
    _, params = init(np.random.default_rng(0), (-1, 1, 28, 28))
    opt = tp.optim.adam(tp.optim.cosine_decay(2e-3, steps))
    state = opt.init(params)

    @tp.jit
    def train_step(params: Any, state: Any, x: Any, y: Any) -> Any:
        loss, grads = tp.value_and_grad(lambda p: nn.softmax_cross_entropy(apply(p, x), y))(params)
        params, state = opt.update(grads, state, params)
        return params, state, loss

    rng = np.random.default_rng(1)
    first = accuracy(params, x_test, y_test)
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        for start in range(0, len(order) - BATCH + 1, BATCH):
            batch = order[start : start + BATCH]
            params, state, loss = train_step(params, state, x_train[batch], y_train[batch])
        acc = accuracy(params, x_test, y_test)
        print(f"epoch {epoch + 1}: last batch loss {float(loss):.4f}, test accuracy {acc:.4f}")
    plot(args.out, params, x_test[:24], y_test[:24])
    return {"initial_accuracy": first, "final_accuracy": acc}


def plot(out: Path, params: Any, x: np.ndarray, y: np.ndarray) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    out.mkdir(parents=True, exist_ok=True)
    pred = np.argmax(apply(params, x), axis=1)
    fig, axes = plt.subplots(3, 8, figsize=(8, 3.4))
    for ax, image, p, label in zip(axes.flat, x, pred, y, strict=True):
        ax.imshow(image[0], cmap="gray_r")
        ax.set_title(str(p), color="black" if p == label else "red", fontsize=10)
        ax.set_axis_off()
    fig.suptitle("MNIST CNN: predicted labels of test digits (wrong in red)")
    fig.tight_layout()
    fig.savefig(out / "mnist_cnn.png", dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
