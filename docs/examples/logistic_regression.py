"""Logistic regression by gradient descent, compiled with tp.jit.

Two classes in the plane, drawn from two overlapping Gaussian blobs; the model is
p(y=1 | x) = sigmoid(x . w + b), fitted by full-batch gradient descent on the mean
negative log-likelihood. It prints the loss and the accuracy on held-out points, and
draws the data with the decision boundary (p = 0.5) when matplotlib is installed.

    python docs/examples/logistic_regression.py [--quick] [--out FOLDER]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

import tapeflow as tp
import tapeflow.numpy as tnp

FIGURES = Path(__file__).resolve().parent / "figures"


def make_data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = rng.integers(0, 2, n)
    centres = np.array([[-1.0, -0.5], [1.0, 0.8]])
    x = centres[y] + rng.normal(size=(n, 2)) @ np.array([[1.0, 0.3], [0.0, 0.8]])
    return x, y.astype(np.float64)


def loss(params: Any, x: Any, y: Any) -> Any:
    w, b = params
    logits = x @ w + b
    # -log sigmoid(z) = softplus(-z), written stably: the mean binary cross-entropy
    return tnp.mean(tp.nn.softplus(logits) - y * logits)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few steps, for the tests")
    parser.add_argument("--out", type=Path, default=FIGURES, help="folder for the figure")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    x_train, y_train = make_data(rng, 400)
    x_test, y_test = make_data(rng, 1000)
    params = (np.zeros(2), 0.0)
    steps, lr = (20, 0.5) if args.quick else (300, 0.5)

    @tp.jit
    def step(params: Any) -> Any:
        value, grads = tp.value_and_grad(loss)(params, x_train, y_train)
        return tp.tree_util.tree_map(lambda p, g: p - lr * g, params, grads), value

    first = float(loss(params, x_train, y_train))
    for _ in range(steps):
        params, _ = step(params)
    w, b = params
    result = {
        "initial_loss": first,
        "final_loss": float(loss(params, x_train, y_train)),
        "test_accuracy": float(np.mean(((x_test @ w + b) > 0) == (y_test == 1))),
    }
    print(
        f"{steps} steps: loss {result['initial_loss']:.4f} -> {result['final_loss']:.4f}, "
        f"test accuracy {result['test_accuracy']:.3f}, w = {np.round(w, 3)}, b = {float(b):.3f}"
    )
    plot(args.out, x_test, y_test, w, float(b))
    return result


def plot(out: Path, x: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.scatter(x[:, 0], x[:, 1], c=y, cmap="coolwarm", s=8, alpha=0.7)
    xs = np.linspace(x[:, 0].min(), x[:, 0].max(), 2)
    ax.plot(xs, -(w[0] * xs + b) / w[1], "k-", label="p = 0.5")
    ax.set_ylim(x[:, 1].min() - 0.5, x[:, 1].max() + 0.5)
    ax.set(xlabel="$x_1$", ylabel="$x_2$", title="Logistic regression: test points")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "logistic_regression.png", dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
