"""The CNN training step of ``benchmarks/mnist.py --model cnn``, written four ways.

The network: standardised pixels, conv 3x3x32 SAME, ReLU, max-pool 2, conv 3x3x64
SAME, ReLU, max-pool 2, dense 128 ReLU, dense 10, softmax cross-entropy, Adam (lr
1e-3); batch 64, float32, NCHW images. ``benchmarks/run.py`` times these side by side:

- ``tapeflow_step`` / ``tapeflow_jit_step``: the training step of ``mnist.py``;
- ``numpy_step``: the same step by hand in numpy (a reference: im2col GEMMs,
  pooling by reshape, in-place bias and ReLU), checked against tapeflow by a test;
- ``gemm_floor``: the step's matrix products alone, as im2col GEMMs on preallocated
  arrays (conv1 forward and weight gradient, conv2 forward, weight and input
  gradients, both dense layers forward and backward): what any im2col
  implementation must spend;
- ``torch_step``: torch eager with ``torch.optim.Adam`` (an optional peer).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

if str(Path(__file__).resolve().parents[1]) not in sys.path:  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.mnist import MNIST_MEAN, MNIST_STD, MODELS, make_train_step  # noqa: E402
from tapeflow import nn, optim  # noqa: E402

BATCH = 64
B1, B2, EPS, LR = 0.9, 0.999, 1e-8, 1e-3


def init_params(dtype: Any = np.float32, seed: int = 0) -> Any:
    """The parameters ``mnist.py``'s cnn starts from (its initialisers, one seed)."""
    init, _ = MODELS["cnn"]["build"]()
    _, params = init(np.random.default_rng(seed), (-1, 1, 28, 28), dtype)
    return params


def weights(params: Any) -> list[np.ndarray]:
    """The eight arrays of the network, in order: conv1 W b, conv2 W b, dense W b twice."""
    return [a for layer in params for a in layer]


# ----- tapeflow --------------------------------------------------------------------
def tapeflow_steps(params: Any) -> tuple[Any, Any, Any]:
    """(eager step, compiled step, initial optimizer state) of ``mnist.py``'s cnn."""
    _, apply = MODELS["cnn"]["build"]()
    opt = optim.adam(LR)

    def loss_fn(p: Any, x: np.ndarray, y: np.ndarray) -> Any:
        return nn.softmax_cross_entropy(apply(p, x), y)

    eager, _ = make_train_step(loss_fn, opt)
    compiled, _ = make_train_step(loss_fn, opt, jit="step")
    return eager, compiled, opt.init(params)


# ----- numpy by hand ------------------------------------------------------------------
def _patches(xh: np.ndarray) -> np.ndarray:
    """3x3 SAME patches (N, H, W, 3, 3, C) of a channels-last batch: pad, one window copy."""
    n, h, w, c = xh.shape
    xp = np.zeros((n, h + 2, w + 2, c), xh.dtype)
    xp[:, 1:-1, 1:-1] = xh
    cols = np.empty((n, h, w, 3, 3, c), xh.dtype)
    np.copyto(cols, sliding_window_view(xp, (3, 3), axis=(1, 2)).transpose(0, 1, 2, 4, 5, 3))
    return cols


def _unpatch(dcols: np.ndarray) -> np.ndarray:
    """col2im of (3, 3, N, H, W, C) tap-major patch gradients: nine shifted adds."""
    _, _, n, h, w, c = dcols.shape
    dx = dcols[1, 1].copy()  # the centre tap covers every pixel
    for p in range(3):
        for q in range(3):
            if (p, q) != (1, 1):
                # patch (i, j) of tap (p, q) read pixel (i + p - 1, j + q - 1)
                rows = slice(max(0, p - 1), h + min(0, p - 1))
                src_rows = slice(max(0, 1 - p), h + min(0, 1 - p))
                cols = slice(max(0, q - 1), w + min(0, q - 1))
                src_cols = slice(max(0, 1 - q), w + min(0, 1 - q))
                dx[:, rows, cols] += dcols[p, q, :, src_rows, src_cols]
    return dx


def _pool(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2x2 max-pool of a channels-last batch: (pooled, the (N, Ho, 2, Wo, 2, C) view)."""
    n, h, w, c = a.shape
    t = a.reshape(n, h // 2, 2, w // 2, 2, c)
    m = np.maximum(t[:, :, 0], t[:, :, 1])
    return np.maximum(m[:, :, :, 0], m[:, :, :, 1]), t


def _unpool(t: np.ndarray, pooled: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Each window's gradient to its maxima, shared equally among ties."""
    hit = t == pooled[:, :, None, :, None]
    count = np.add(hit[:, :, 0], hit[:, :, 1], dtype=g.dtype)
    count = count[:, :, :, 0] + count[:, :, :, 1]
    share = g / count
    n, ho, _, wo, _, c = t.shape
    return (hit * share[:, :, None, :, None]).reshape(n, 2 * ho, 2 * wo, c)


def _conv_matrix(w: np.ndarray) -> np.ndarray:
    return w.transpose(2, 3, 1, 0).reshape(-1, w.shape[0])


def numpy_grads(params: Any, x: np.ndarray, y: np.ndarray) -> tuple[Any, list[np.ndarray]]:
    """(loss, gradients of the eight arrays) by hand."""
    w1, b1, w2, b2, w3, b3, w4, b4 = weights(params)
    n = len(x)
    xh = ((x - MNIST_MEAN) * (1.0 / MNIST_STD)).astype(x.dtype).transpose(0, 2, 3, 1)
    c1 = _patches(xh).reshape(n * 784, 9)
    a1 = c1 @ _conv_matrix(w1)
    a1 += b1
    np.maximum(a1, 0, out=a1)
    p1, t1 = _pool(a1.reshape(n, 28, 28, 32))
    c2 = _patches(p1).reshape(n * 196, 288)
    w2m = _conv_matrix(w2)
    a2 = c2 @ w2m
    a2 += b2
    np.maximum(a2, 0, out=a2)
    p2, t2 = _pool(a2.reshape(n, 14, 14, 64))
    f = p2.transpose(0, 3, 1, 2).reshape(n, 3136)  # the NCHW flatten order
    h = f @ w3
    h += b3
    np.maximum(h, 0, out=h)
    z = h @ w4
    z += b4
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    s = e.sum(axis=1)
    loss = np.mean(np.log(s) - z[np.arange(n), y])
    dz = e / s[:, None]
    dz[np.arange(n), y] -= 1
    dz /= n
    dw4, db4 = h.T @ dz, dz.sum(axis=0)
    dh = dz @ w4.T
    dh *= h > 0
    dw3, db3 = f.T @ dh, dh.sum(axis=0)
    dp2 = (dh @ w3.T).reshape(n, 64, 7, 7).transpose(0, 2, 3, 1)
    da2 = _unpool(t2, p2, dp2).reshape(n * 196, 64)
    da2 *= a2 > 0
    dw2 = (c2.T @ da2).reshape(3, 3, 32, 64).transpose(3, 2, 0, 1)
    db2 = da2.sum(axis=0)
    taps = w2.transpose(2, 3, 0, 1).reshape(9, 64, 32)
    dp1 = _unpatch(np.matmul(da2, taps).reshape(3, 3, n, 14, 14, 32))
    da1 = _unpool(t1, p1, dp1).reshape(n * 784, 32)
    da1 *= a1 > 0
    dw1 = (c1.T @ da1).reshape(3, 3, 1, 32).transpose(3, 2, 0, 1)
    db1 = da1.sum(axis=0)
    return loss, [dw1, db1, dw2, db2, dw3, db3, dw4, db4]


def numpy_adam_init(params: Any) -> tuple[int, list[np.ndarray], list[np.ndarray]]:
    arrays = weights(params)
    return 0, [np.zeros_like(a) for a in arrays], [np.zeros_like(a) for a in arrays]


def numpy_step(params: Any, state: Any, x: np.ndarray, y: np.ndarray) -> tuple[Any, Any, Any]:
    """The whole step by hand: gradients, then Adam on new arrays (inputs unchanged)."""
    loss, grads = numpy_grads(params, x, y)
    new_params, new_state = numpy_adam(params, grads, state)
    return new_params, new_state, loss


def numpy_adam(params: Any, grads: list[np.ndarray], state: Any) -> tuple[Any, Any]:
    t, ms, vs = state
    t += 1
    root_c2 = np.sqrt(1.0 - B2**t)
    step_size, eps_hat = LR * root_c2 / (1.0 - B1**t), EPS * root_c2
    new_p, new_m, new_v = [], [], []
    for p, g, m, v in zip(weights(params), grads, ms, vs, strict=True):
        m = B1 * m + (1 - B1) * g
        v = B2 * v + (1 - B2) * (g * g)
        d = np.sqrt(v)
        d += eps_hat
        np.divide(m, d, out=d)
        d *= step_size
        new_p.append(np.subtract(p, d, out=d))
        new_m.append(m)
        new_v.append(v)
    layers = [new_p[i : i + 2] for i in range(0, 8, 2)]
    return layers, (t, new_m, new_v)


# ----- the matrix products alone ---------------------------------------------------------
def gemm_floor(dtype: Any = np.float32) -> Any:
    """A function running the step's products on preallocated operands and outputs."""
    rng = np.random.default_rng(0)

    def arr(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape, dtype=dtype)

    n = BATCH
    products = [
        (arr(n * 784, 9), arr(9, 32)),  # conv1 forward
        (arr(n * 784, 9).T, arr(n * 784, 32)),  # conv1 weight gradient
        (arr(n * 196, 288), arr(288, 64)),  # conv2 forward
        (arr(n * 196, 288).T, arr(n * 196, 64)),  # conv2 weight gradient
        (arr(n * 196, 64), arr(288, 64).T),  # conv2 patch (input) gradient
        (arr(n, 3136), arr(3136, 128)),  # dense 1 forward, weight and input gradients
        (arr(n, 3136).T, arr(n, 128)),
        (arr(n, 128), arr(3136, 128).T),
        (arr(n, 128), arr(128, 10)),  # dense 2
        (arr(n, 128).T, arr(n, 10)),
        (arr(n, 10), arr(128, 10).T),
    ]
    outs = [np.empty((a.shape[0], b.shape[1]), dtype) for a, b in products]

    def run() -> None:
        for (a, b), out in zip(products, outs, strict=True):
            np.matmul(a, b, out=out)

    return run


# ----- torch ------------------------------------------------------------------------------
def torch_step(params: Any, x: np.ndarray, y: np.ndarray, threads: int) -> Any:
    """torch eager: the same network, functional layers, ``torch.optim.Adam``."""
    import torch
    import torch.nn.functional as tf

    torch.set_num_threads(threads)
    leaves = [torch.tensor(a).requires_grad_(True) for a in weights(params)]
    opt = torch.optim.Adam(leaves, lr=LR, betas=(B1, B2), eps=EPS)
    xt, yt = torch.tensor(x), torch.tensor(y)

    def run() -> Any:
        w1, b1, w2, b2, w3, b3, w4, b4 = leaves
        h = (xt - MNIST_MEAN) * (1.0 / MNIST_STD)
        h = tf.max_pool2d(torch.relu(tf.conv2d(h, w1, b1, padding=1)), 2)
        h = tf.max_pool2d(torch.relu(tf.conv2d(h, w2, b2, padding=1)), 2)
        h = torch.relu(h.reshape(len(h), -1) @ w3 + b3)
        loss = tf.cross_entropy(h @ w4 + b4, yt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    return run


def time_torch(threads: int, steps: int) -> list[float]:
    """Seconds per torch step, ``steps`` samples after warm-up, in this process.

    ``benchmarks/run.py`` runs this in a process of its own (``cnn_step.py torch``), as
    each library gets: torch's OpenMP threads keep spinning for a while after each
    operation (Intel's runtime: 200 ms) and took the cores from whatever ran next in
    the same process (a compiled tapeflow step read 33 ms right after a torch step,
    26 ms right after an eager one).
    """
    import time

    from benchmarks.run import keep_freed_memory, mnist_batch, set_threads

    set_threads(threads)  # the setting and allocator the other implementations have
    keep_freed_memory()
    x, y = mnist_batch(BATCH, np.float32)
    run = torch_step(init_params(), x.reshape(-1, 1, 28, 28), y, threads)
    for _ in range(3):
        run()
    samples = []
    for _ in range(steps):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return samples


# ----- where a step's time goes -------------------------------------------------------------
# Each kernel's own time (cProfile's tottime) by what it does; the rest is Python.
PROFILE_GROUPS = {
    "conv products": (
        "_np_conv2d_from_patches",
        "_np_conv2d_weight_grad",
        "_np_conv2d_patches_grad",
    ),
    "bias add (in the product's buffer)": ("add_bias",),
    "im2col": ("_np_im2col", "copy_patches"),
    "col2im": ("_np_col2im", "add_taps"),
    "max-pool forward": ("_np_max_pool2d", "pool_slice", "reduce"),
    "max-pool backward (and ReLU's, fused under jit)": (
        "_np_max_pool2d_backward",
        "_np_max_pool2d_backward_relu",
        "_routed",
        "route",
        "_tie_counts",
    ),
    "ReLU and its derivative": (
        "_np_relu",
        "_relu_into",
        "relu_slice",
        "_keep_where_positive",
        "select_slice",
        "_np_relu_grad",
        "_relu_grad_into",
    ),
    "waiting for the other threads' slices": ("<method 'acquire' of '_thread.lock' objects>",),
    "dense layers": ("_np_linear", "<built-in method numpy.matmul>"),
    "bias gradients and other reductions": (
        "_np_channel_sum",
        "<method 'reduce' of 'numpy.ufunc' objects>",
    ),
    "softmax cross-entropy": ("_np_softmax_cross_entropy", "_np_softmax_cross_entropy_grad"),
}


def profile(which: str, steps: int, threads: int) -> None:
    """cProfile ``steps`` steps of ``which`` (eager or jit) and print the time by group."""
    import cProfile
    import pstats

    from benchmarks.run import keep_freed_memory, mnist_batch, set_threads

    set_threads(threads)
    keep_freed_memory()
    x, y = mnist_batch(BATCH, np.float32)
    x = x.reshape(-1, 1, 28, 28)
    params = init_params()
    eager, compiled, state = tapeflow_steps(params)
    step = eager if which == "eager" else compiled
    for _ in range(3):
        step(params, state, x, y)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(steps):
        step(params, state, x, y)
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = sum(tt for (_, _, tt, _, _) in stats.values())
    by_group = dict.fromkeys(PROFILE_GROUPS, 0.0)
    for (file, _, name), (_, _, tt, _, _) in stats.items():
        label = name if file != "~" else name
        for group, names in PROFILE_GROUPS.items():
            if label in names and ("tapeflow" in file or file == "~"):
                by_group[group] += tt
                break
    rest = sorted(
        (
            (tt, f"{name} ({file.rsplit('/', 1)[-1]})")
            for (file, _, name), (_, _, tt, _, _) in stats.items()
        ),
        reverse=True,
    )
    by_group["everything else (below)"] = total - sum(by_group.values())
    print(f"{which}: {1e3 * total / steps:.1f} ms per step under cProfile ({steps} steps)")
    print("| part | ms per step | share |\n|---|---|---|")
    for group, tt in by_group.items():
        print(f"| {group} | {1e3 * tt / steps:.2f} | {100 * tt / total:.0f}% |")
    grouped = {n for names in PROFILE_GROUPS.values() for n in names}
    print("largest of everything else (own time, operators such as @ and * included):")
    shown = 0
    for tt, label in rest:
        if label.split(" (")[0] not in grouped and shown < 8:
            print(f"  {1e3 * tt / steps:7.2f} ms  {label}")
            shown += 1


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(
        description="profile the CNN step (eager or jit), or time torch's (torch)"
    )
    parser.add_argument("which", choices=["eager", "jit", "torch"])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.which == "torch":
        import json

        print(json.dumps(time_torch(args.threads, args.steps)))
    else:
        profile(args.which, args.steps, args.threads)
