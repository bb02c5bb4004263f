"""A Bayesian neural network fitted by black-box variational inference.

A one-hidden-layer network (1 -> 32 -> 1, tanh) regresses noisy data that has a gap in
the middle. Instead of one value per weight, the model keeps a Gaussian per weight
(a mean and a log standard deviation: mean-field variational inference) and maximises
the ELBO: the expected log-likelihood of the data under weights drawn from those
Gaussians, minus their KL divergence from a standard normal prior. The expectation is
estimated with a few weight samples drawn with ``tp.random.normal`` and reparameterised
(w = mean + sd * eps), so its gradient is an ordinary ``tp.grad`` — "black-box" because
nothing about the model beyond its log-likelihood is needed. It prints the ELBO and
the predictive spread inside and outside the data, and draws the predictive band when
matplotlib is installed.

    python docs/examples/bayesian_nn.py [--quick] [--out FOLDER]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

import tapeflow as tp
import tapeflow.numpy as tnp

FIGURES = Path(__file__).resolve().parent / "figures"
HIDDEN, SAMPLES, NOISE_SD = 32, 8, 0.1
SHAPES = {"w1": (1, HIDDEN), "b1": (HIDDEN,), "w2": (HIDDEN, 1), "b2": (1,)}


def network(weights: Any, x: Any) -> Any:
    h = tnp.tanh(x[:, None] @ weights["w1"] + weights["b1"])
    return (h @ weights["w2"] + weights["b2"])[:, 0]


def draw(variational: Any, key: Any) -> Any:
    """One sample of every weight, w = mean + sd * eps (reparameterised)."""
    keys = tp.random.split(key, len(SHAPES))
    return {
        name: variational["mean"][name]
        + tnp.exp(variational["log_sd"][name]) * tp.random.normal(keys[i], shape)
        for i, (name, shape) in enumerate(SHAPES.items())
    }


def neg_elbo(variational: Any, x: Any, y: Any, key: Any) -> Any:
    def log_lik(k: Any) -> Any:
        pred = network(draw(variational, k), x)
        return -0.5 * tnp.sum((y - pred) ** 2) / NOISE_SD**2

    expected = tnp.mean(tp.vmap(log_lik)(tp.random.split(key, SAMPLES)))
    kl = 0.0
    for name in SHAPES:  # KL(N(m, s^2) || N(0, 1)), summed over the weights
        m, log_s = variational["mean"][name], variational["log_sd"][name]
        kl = kl + 0.5 * tnp.sum(m**2 + tnp.exp(2 * log_s) - 1.0 - 2 * log_s)
    return kl - expected


def predict(variational: Any, x: np.ndarray, n: int) -> np.ndarray:
    keys = tp.random.split(tp.random.key(123), n)
    return np.stack([network(draw(variational, k), x) for k in keys])


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few steps, for the tests")
    parser.add_argument("--out", type=Path, default=FIGURES, help="folder for the figure")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-4, -1, 40), rng.uniform(1, 4, 40)])
    y = np.sin(x) + NOISE_SD * rng.normal(size=x.shape)
    variational = {
        "mean": {k: rng.normal(0.0, 0.5, s) for k, s in SHAPES.items()},
        "log_sd": {k: np.full(s, -3.0) for k, s in SHAPES.items()},
    }
    opt = tp.optim.adam(0.01)
    state = opt.init(variational)

    @tp.jit
    def step(variational: Any, state: Any, key: Any) -> Any:
        value, grads = tp.value_and_grad(neg_elbo)(variational, x, y, key)
        variational, state = opt.update(grads, state, variational)
        return variational, state, value

    key = tp.random.key(0)
    history = []
    for _ in range(20 if args.quick else 4000):
        key, sub = tp.random.split(key)
        variational, state, value = step(variational, state, sub)
        history.append(-float(value))
    xs = np.linspace(-7, 7, 200)
    preds = predict(variational, xs, 200)
    sd = preds.std(axis=0)
    inside = float(sd[(np.abs(xs) > 1.5) & (np.abs(xs) < 3.5)].mean())
    outside = float(sd[np.abs(xs) > 5.5].mean())
    first, last = history[0], float(np.mean(history[-min(50, len(history) // 2) :]))
    print(
        f"{len(history)} steps: ELBO {first:.1f} -> {last:.1f}; predictive sd {inside:.3f} "
        f"where there is data, {outside:.3f} far from it"
    )
    plot(args.out, x, y, xs, preds)
    return {"initial_elbo": first, "final_elbo": last, "sd_inside": inside, "sd_outside": outside}


def plot(out: Path, x: Any, y: Any, xs: Any, preds: np.ndarray) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    out.mkdir(parents=True, exist_ok=True)
    mean, sd = preds.mean(axis=0), preds.std(axis=0)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.fill_between(xs, mean - 2 * sd, mean + 2 * sd, alpha=0.25, label="mean ± 2 sd")
    for p in preds[:10]:
        ax.plot(xs, p, lw=0.5, color="gray")
    ax.plot(xs, mean, label="predictive mean")
    ax.plot(x, y, "k.", label="data")
    ax.set(ylim=(-3, 3), xlabel="x", ylabel="y", title="Bayesian NN by black-box VI")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "bayesian_nn.png", dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
