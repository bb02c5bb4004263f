"""A variational autoencoder on MNIST, with samples drawn from the trained model.

The encoder maps an image to a Gaussian over an 8-dimensional latent code, the decoder
maps a code to Bernoulli probabilities for the 784 pixels (Kingma & Welling, 2014).
Training maximises the evidence lower bound (ELBO): the reconstruction log-likelihood
minus the KL divergence of the code's distribution from the standard normal prior. The
code is sampled with the reparameterisation trick, z = mean + sd * eps with eps from
``tp.random.normal``, so the gradient flows through the sample. It prints the test
ELBO in nats per image and, when matplotlib is installed, draws 64 digits decoded from
codes sampled from the prior.

    python docs/examples/vae.py [--quick] [--out FOLDER]
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
LATENT, BATCH = 8, 128

encoder_init, encoder = nn.serial(nn.Dense(256), nn.Relu, nn.Dense(2 * LATENT))
decoder_init, decoder = nn.serial(nn.Dense(256), nn.Relu, nn.Dense(784))


def load(n_train: int) -> tuple[np.ndarray, np.ndarray]:
    data = tp.datasets.mnist(SHIPPED_MNIST if SHIPPED_MNIST.is_dir() else None)
    # binarised at 0.5: the pixels are then true Bernoulli variables
    x_train = (data[0][:n_train].reshape(-1, 784) > 127).astype(np.float32)
    x_test = (data[2].reshape(-1, 784) > 127).astype(np.float32)
    return x_train, x_test


def elbo(params: Any, x: Any, key: Any) -> Any:
    """The mean ELBO of a batch, in nats per image (one sample of z per image)."""
    stats = encoder(params["encoder"], x)
    mean, log_sd = stats[:, :LATENT], stats[:, LATENT:]
    eps = tp.random.normal(key, mean.shape, dtype=x.dtype)
    z = mean + tnp.exp(log_sd) * eps
    logits = decoder(params["decoder"], z)
    # log p(x | z) for Bernoulli pixels: -softplus(-l) for x = 1, -softplus(l) for x = 0
    log_lik = -tnp.sum(nn.softplus(logits) - x * logits, axis=1)
    kl = 0.5 * tnp.sum(mean**2 + tnp.exp(2 * log_sd) - 1.0 - 2 * log_sd, axis=1)
    return tnp.mean(log_lik - kl)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few steps, for the tests")
    parser.add_argument("--out", type=Path, default=FIGURES, help="folder for the figure")
    args = parser.parse_args(argv)

    x_train, x_test = load(1024 if args.quick else 60000)
    if args.quick:
        x_test = x_test[:500]
    rng = np.random.default_rng(0)
    params = {
        "encoder": encoder_init(rng, (-1, 784))[1],
        "decoder": decoder_init(rng, (-1, LATENT))[1],
    }
    opt = tp.optim.adam(1e-3)
    state = opt.init(params)

    @tp.jit
    def train_step(params: Any, state: Any, x: Any, key: Any) -> Any:
        value, grads = tp.value_and_grad(lambda p: -elbo(p, x, key))(params)
        params, state = opt.update(grads, state, params)
        return params, state, -value

    test_elbo = tp.jit(elbo)
    key = tp.random.key(0)
    first = float(test_elbo(params, x_test, key))
    epochs = 1 if args.quick else 10
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        for start in range(0, len(order) - BATCH + 1, BATCH):
            key, sub = tp.random.split(key)
            params, state, _ = train_step(params, state, x_train[order[start : start + BATCH]], sub)
        if not args.quick:
            print(f"epoch {epoch + 1}: test ELBO {float(test_elbo(params, x_test, key)):.2f}")
    final = float(test_elbo(params, x_test, tp.random.key(1)))
    print(f"{epochs} epoch(s): test ELBO {first:.1f} -> {final:.2f} nats per image")
    z = tp.random.normal(tp.random.key(2), (64, LATENT), dtype=np.float32)
    samples = 1.0 / (1.0 + np.exp(-decoder(params["decoder"], z)))  # pixel probabilities
    plot(args.out, samples)
    return {"initial_elbo": first, "final_elbo": final}


def plot(out: Path, samples: np.ndarray) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    out.mkdir(parents=True, exist_ok=True)
    grid = samples.reshape(8, 8, 28, 28).transpose(0, 2, 1, 3).reshape(8 * 28, 8 * 28)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(grid, cmap="gray_r")
    ax.set_axis_off()
    ax.set_title("VAE: 64 digits decoded from codes drawn from the prior")
    fig.tight_layout()
    fig.savefig(out / "vae.png", dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
