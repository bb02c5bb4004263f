"""A character-level LSTM trained with lax.scan on the Zen of Python.

The text is the one that ships with every Python: the standard library's ``this``
module holds "The Zen of Python" (rot13-encoded; ``import this`` prints it), 856
characters. An LSTM reads random 64-character windows one character at a time — the
loop over time is ``tp.lax.scan``, traced once and differentiated as one operation —
and learns to predict the next character. It prints the loss in bits per character
and a sample generated from a prompt, and draws the training curve when matplotlib is
installed.

    python docs/examples/char_lstm.py [--quick] [--out FOLDER]
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import io
from pathlib import Path
from typing import Any

import numpy as np

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow import nn

FIGURES = Path(__file__).resolve().parent / "figures"
HIDDEN, WINDOW, BATCH = 128, 64, 32


def zen_of_python() -> str:
    with contextlib.redirect_stdout(io.StringIO()):
        import this  # prints the text on first import: silenced
    return codecs.decode(this.s, "rot13")


def init_params(rng: np.random.Generator, vocab: int) -> dict[str, np.ndarray]:
    scale = 1.0 / np.sqrt(HIDDEN)
    return {
        # the four gates (input, forget, cell, output) side by side
        "w_x": rng.normal(0.0, scale, (vocab, 4 * HIDDEN)).astype(np.float32),
        "w_h": rng.normal(0.0, scale, (HIDDEN, 4 * HIDDEN)).astype(np.float32),
        # a forget-gate bias of 1 keeps the memory at the start of training
        "b": np.concatenate([np.zeros(HIDDEN), np.ones(HIDDEN), np.zeros(2 * HIDDEN)]).astype(
            np.float32
        ),
        "w_out": rng.normal(0.0, scale, (HIDDEN, vocab)).astype(np.float32),
        "b_out": np.zeros(vocab, np.float32),
    }


def lstm_cell(params: Any, carry: Any, x_t: Any) -> Any:
    h, c = carry
    z = x_t @ params["w_x"] + h @ params["w_h"] + params["b"]
    i, f, g, o = (z[:, k * HIDDEN : (k + 1) * HIDDEN] for k in range(4))
    c = nn.sigmoid(f) * c + nn.sigmoid(i) * tnp.tanh(g)
    h = nn.sigmoid(o) * tnp.tanh(c)
    return h, c


def loss(params: Any, inputs: Any, targets: Any) -> Any:
    """Mean next-character cross-entropy (nats); inputs one-hot (time, batch, vocab)."""
    zeros = tnp.zeros((inputs.shape[1], HIDDEN), np.float32)

    def step(carry: Any, x_t: Any) -> Any:
        h, c = lstm_cell(params, carry, x_t)
        return (h, c), h @ params["w_out"] + params["b_out"]

    _, logits = tp.lax.scan(step, (zeros, zeros), inputs)
    return nn.softmax_cross_entropy(logits, targets)


def sample(params: Any, vocab: list[str], prompt: str, n: int, rng: np.random.Generator) -> str:
    index = {ch: i for i, ch in enumerate(vocab)}
    eye = np.eye(len(vocab), dtype=np.float32)
    carry = (np.zeros((1, HIDDEN), np.float32), np.zeros((1, HIDDEN), np.float32))
    out = list(prompt)
    for ch in prompt[:-1]:
        carry = lstm_cell(params, carry, eye[index[ch]][None])
    last = prompt[-1]
    for _ in range(n):
        carry = lstm_cell(params, carry, eye[index[last]][None])
        logits = (carry[0] @ params["w_out"] + params["b_out"])[0] / 0.5  # temperature 0.5
        p = np.exp(logits - logits.max())
        last = vocab[rng.choice(len(vocab), p=p / p.sum())]
        out.append(last)
    return "".join(out)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few steps, for the tests")
    parser.add_argument("--out", type=Path, default=FIGURES, help="folder for the figure")
    args = parser.parse_args(argv)

    text = zen_of_python()
    vocab = sorted(set(text))
    codes = np.array([vocab.index(ch) for ch in text])
    eye = np.eye(len(vocab), dtype=np.float32)
    rng = np.random.default_rng(0)
    params = init_params(rng, len(vocab))
    opt = tp.optim.adam(tp.optim.cosine_decay(3e-3, 2000), clip_norm=1.0)
    state = opt.init(params)

    @tp.jit
    def train_step(params: Any, state: Any, inputs: Any, targets: Any) -> Any:
        value, grads = tp.value_and_grad(loss)(params, inputs, targets)
        params, state = opt.update(grads, state, params)
        return params, state, value

    steps = 10 if args.quick else 2000
    # a fixed set of windows, to measure the loss before and after training
    starts = np.random.default_rng(99).integers(0, len(codes) - WINDOW - 1, 4 * BATCH)
    held = codes[starts[:, None] + np.arange(WINDOW + 1)].T
    measure = tp.jit(loss)

    def eval_bits(params: Any) -> float:
        return float(measure(params, eye[held[:-1]], held[1:])) / np.log(2.0)

    first = eval_bits(params)
    bits = []
    for _ in range(steps):
        starts = rng.integers(0, len(codes) - WINDOW - 1, BATCH)
        windows = codes[starts[:, None] + np.arange(WINDOW + 1)].T  # (time + 1, batch)
        params, state, value = train_step(params, state, eye[windows[:-1]], windows[1:])
        bits.append(float(value) / np.log(2.0))
    text_out = sample(params, vocab, "Beautiful is", 200, np.random.default_rng(1))
    last = eval_bits(params)
    print(f"{len(text)} characters, {len(vocab)} distinct; {steps} steps of {BATCH} windows")
    print(f"loss on {4 * BATCH} fixed windows: {first:.2f} -> {last:.2f} bits per character")
    print("sample (temperature 0.5):\n" + text_out)
    plot(args.out, bits)
    return {"initial_bits": first, "final_bits": last, "uniform_bits": float(np.log2(len(vocab)))}


def plot(out: Path, bits: list[float]) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(bits, lw=0.8)
    ax.set(xlabel="step", ylabel="bits per character", title="Character LSTM on the Zen of Python")
    fig.tight_layout()
    fig.savefig(out / "char_lstm.png", dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
