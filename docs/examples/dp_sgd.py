"""Differentially private SGD: per-example gradients with vmap, clipped and noised.

DP-SGD (Abadi et al., 2016) bounds how much any one training example can move the
model: each example's gradient is clipped to norm at most C, the clipped gradients
are summed, Gaussian noise of standard deviation sigma * C is added, and the result is
averaged over the batch. The per-example gradients come from one call,
``tp.vmap(tp.grad(loss), in_axes=(None, 0, 0))``, instead of a loop over examples.
The script trains the same MLP on MNIST with plain SGD and with DP-SGD and prints both
test accuracies; the figure shows the two learning curves when matplotlib is installed.

    python docs/examples/dp_sgd.py [--quick] [--out FOLDER]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow import nn

FIGURES = Path(__file__).resolve().parent / "figures"
SHIPPED_MNIST = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "mnist"
CLIP = 1.0  # C: the largest norm one example's gradient may have
NOISE = 1.1  # sigma: noise standard deviation, in units of C
LR, BATCH = 0.2, 256

init, apply = nn.serial(nn.Dense(128), nn.Relu, nn.Dense(10))


def load(n_train: int) -> tuple[np.ndarray, ...]:
    data = tp.datasets.mnist(SHIPPED_MNIST if SHIPPED_MNIST.is_dir() else None)
    x_train = data[0][:n_train].reshape(-1, 784).astype(np.float32) / 255.0
    x_test = data[2].reshape(-1, 784).astype(np.float32) / 255.0
    return x_train, data[1][:n_train].astype(np.int64), x_test, data[3].astype(np.int64)


def example_loss(params: Any, x: Any, y: Any) -> Any:
    """The loss of one example (x of shape (784,), y a scalar label)."""
    return nn.softmax_cross_entropy(apply(params, x[None, :]), y[None])


per_example_grads = tp.vmap(tp.grad(example_loss), in_axes=(None, 0, 0))


@tp.jit
def dp_step(params: Any, x: Any, y: Any, key: Any) -> Any:
    grads = per_example_grads(params, x, y)  # each leaf: (batch, *param_shape)
    leaves = tp.tree_util.tree_leaves(grads)
    norms = tnp.sqrt(sum(tnp.sum(g.reshape(len(x), -1) ** 2, axis=1) for g in leaves))
    scale = tnp.minimum(1.0, CLIP / (norms + 1e-12))  # clip each example to norm <= C

    def privatise(g: Any, k: Any) -> Any:
        clipped = tnp.tensordot(scale, g, axes=1)  # sum over the batch of the clipped
        noise = NOISE * CLIP * tp.random.normal(k, g.shape[1:], dtype=g.dtype)
        return (clipped + noise) / len(x)

    keys = tp.random.split(key, len(leaves))
    noisy = [privatise(g, keys[i]) for i, g in enumerate(leaves)]
    noisy_tree = tp.tree_util.tree_unflatten(tp.tree_util.tree_structure(grads), noisy)
    return tp.tree_util.tree_map(lambda p, g: p - LR * g, params, noisy_tree)


@tp.jit
def sgd_step(params: Any, x: Any, y: Any) -> Any:
    grads = tp.grad(lambda p: nn.softmax_cross_entropy(apply(p, x), y))(params)
    return tp.tree_util.tree_map(lambda p, g: p - LR * g, params, grads)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few steps, for the tests")
    parser.add_argument("--out", type=Path, default=FIGURES, help="folder for the figure")
    args = parser.parse_args(argv)

    x_train, y_train, x_test, y_test = load(1024 if args.quick else 60000)
    if args.quick:
        x_test, y_test = x_test[:1000], y_test[:1000]
    epochs = 1 if args.quick else 2
    _, params0 = init(np.random.default_rng(0), (-1, 784))
    rng = np.random.default_rng(1)
    key = tp.random.key(0)
    curves: dict[str, list[float]] = {"SGD": [], "DP-SGD": []}
    finals = {}
    for name in curves:
        params = params0
        for _ in range(epochs):
            order = rng.permutation(len(x_train))
            for start in range(0, len(order) - BATCH + 1, BATCH):
                batch = order[start : start + BATCH]
                if name == "SGD":
                    params = sgd_step(params, x_train[batch], y_train[batch])
                else:
                    key, sub = tp.random.split(key)
                    params = dp_step(params, x_train[batch], y_train[batch], sub)
            curves[name].append(nn.accuracy(apply(params, x_test), y_test))
        finals[name] = curves[name][-1]
    print(
        f"{epochs} epoch(s) on {len(x_train)} images, batch {BATCH}: test accuracy "
        f"SGD {finals['SGD']:.4f}, DP-SGD (clip {CLIP}, noise {NOISE}) {finals['DP-SGD']:.4f}"
    )
    plot(args.out, curves)
    chance = float(np.max(np.bincount(y_test)) / len(y_test))
    return {"sgd_accuracy": finals["SGD"], "dp_accuracy": finals["DP-SGD"], "chance": chance}


def plot(out: Path, curves: dict[str, list[float]]) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, accs in curves.items():
        ax.plot(range(1, len(accs) + 1), accs, "o-", label=name)
    ax.set(xlabel="epoch", ylabel="test accuracy", title="MNIST MLP: SGD and DP-SGD")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "dp_sgd.png", dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
