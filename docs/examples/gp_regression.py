"""Gaussian-process regression with its hyperparameters fitted by gradient.

Noisy samples of a smooth function; a GP with a squared-exponential kernel
k(a, b) = s^2 exp(-(a - b)^2 / (2 l^2)) plus noise variance n^2. The three
hyperparameters (their logarithms, so that they stay positive) maximise the log
marginal likelihood, by Adam on its gradient through the Cholesky factor. It prints
the fitted values and the test error of the posterior mean, and draws the posterior
(mean and two standard deviations) when matplotlib is installed.

    python docs/examples/gp_regression.py [--quick] [--out FOLDER]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

import tapeflow as tp
import tapeflow.numpy as tnp

FIGURES = Path(__file__).resolve().parent / "figures"


def truth(x: np.ndarray) -> np.ndarray:
    return np.sin(3.0 * x) + 0.3 * x


def kernel(log_params: Any, a: Any, b: Any) -> Any:
    log_scale, log_length, _ = log_params
    d = (a[:, None] - b[None, :]) / tnp.exp(log_length)
    return tnp.exp(2.0 * log_scale) * tnp.exp(-0.5 * d * d)


def neg_log_marginal(log_params: Any, x: Any, y: Any) -> Any:
    """-log p(y | x, params) = y^T K^-1 y / 2 + log det K / 2 + n log(2 pi) / 2."""
    noise = tnp.exp(2.0 * log_params[2])
    k = kernel(log_params, x, x) + (noise + 1e-8) * tnp.eye(len(x))
    chol = tnp.linalg.cholesky(k)
    alpha = tnp.linalg.solve(k, y)
    log_det = 2.0 * tnp.sum(tnp.log(tnp.diagonal(chol)))
    return 0.5 * tnp.dot(y, alpha) + 0.5 * log_det + 0.5 * len(x) * np.log(2 * np.pi)


def posterior(log_params: Any, x: Any, y: Any, xs: Any) -> tuple[np.ndarray, np.ndarray]:
    noise = np.exp(2.0 * log_params[2])
    k = kernel(log_params, x, x) + noise * np.eye(len(x))
    k_star = kernel(log_params, xs, x)
    mean = k_star @ np.linalg.solve(k, y)
    var = np.exp(2.0 * log_params[0]) - np.sum(k_star * np.linalg.solve(k, k_star.T).T, axis=1)
    return mean, np.sqrt(np.maximum(var, 0.0) + noise)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few steps, for the tests")
    parser.add_argument("--out", type=Path, default=FIGURES, help="folder for the figure")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(1)
    x = np.sort(rng.uniform(-3.0, 3.0, 40))
    y = truth(x) + 0.2 * rng.normal(size=x.shape)
    xs = np.linspace(-3.5, 3.5, 200)

    log_params = np.log(np.array([1.0, 2.0, 0.5]))  # scale, length, noise: a poor start
    opt = tp.optim.adam(0.05)
    state = opt.init(log_params)
    objective = tp.jit(tp.value_and_grad(neg_log_marginal))
    first = float(neg_log_marginal(log_params, x, y))
    for _ in range(15 if args.quick else 300):
        value, grads = objective(log_params, x, y)
        log_params, state = opt.update(grads, state, log_params)
    mean, sd = posterior(log_params, x, y, xs)
    scale, length, noise = np.exp(log_params)
    result = {
        "initial_nlml": first,
        "final_nlml": float(neg_log_marginal(log_params, x, y)),
        "rmse": float(np.sqrt(np.mean((mean - truth(xs)) ** 2))),
        "noise": float(noise),
    }
    print(
        f"-log marginal likelihood {first:.2f} -> {result['final_nlml']:.2f}\n"
        f"fitted scale {scale:.3f}, length {length:.3f}, noise {noise:.3f} (true noise 0.2)\n"
        f"RMSE of the posterior mean against the true function {result['rmse']:.3f}"
    )
    plot(args.out, x, y, xs, mean, sd)
    return result


def plot(out: Path, x: Any, y: Any, xs: Any, mean: Any, sd: Any) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.fill_between(xs, mean - 2 * sd, mean + 2 * sd, alpha=0.25, label="mean ± 2 sd")
    ax.plot(xs, mean, label="posterior mean")
    ax.plot(xs, truth(xs), "k--", lw=1, label="true function")
    ax.plot(x, y, "k.", label="data")
    ax.set(xlabel="x", ylabel="y", title="GP regression, hyperparameters fitted by gradient")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "gp_regression.png", dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
