"""Which memory layout for conv2d's kernels: NCHW or NHWC (channels last)?

    python benchmarks/conv_layout.py [--threads 2] [--repeat 15]

Times one convolution layer's forward pass, weight gradient and input gradient (the
second layer of ``mnist.py --model cnn``: batch 64, 32 to 64 channels, 14x14, 3x3 SAME,
float32) written three ways in plain numpy, interleaved, and the same three products
alone:

- **NCHW, one GEMM**: patches as a (C kh kw, N H W) matrix, the answer transposed
  back to NCHW with a copy, the cotangent transposed with another, col2im on NCHW;
- **NCHW, batched GEMM**: one product per image (``matmul`` over a stack), no
  transposes, the weight gradient summed over the images;
- **NHWC**: patches (N H W, kh kw C) from one copy of a window view, every product
  one GEMM with no transposes, col2im on tap-major patch gradients (what
  ``tapeflow.nn.conv`` does).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.run import interleaved, keep_freed_memory, set_threads  # noqa: E402

N, C, H, W, O = 64, 32, 14, 14, 64


def nchw_one_gemm(x: np.ndarray, w: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, ...]:
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.empty((C, 3, 3, N, H, W), x.dtype)
    xt = xp.transpose(1, 0, 2, 3)
    for p in range(3):
        for q in range(3):
            cols[:, p, q] = xt[:, :, p : p + H, q : q + W]
    cols = cols.reshape(C * 9, -1)
    wm = w.reshape(O, -1)
    y = np.ascontiguousarray((wm @ cols).reshape(O, N, H, W).transpose(1, 0, 2, 3))
    g2 = np.ascontiguousarray(g.transpose(1, 0, 2, 3)).reshape(O, -1)
    dw = g2 @ cols.T
    dcols = (wm.T @ g2).reshape(C, 3, 3, N, H, W)
    dxp = np.zeros((C, N, H + 2, W + 2), x.dtype)
    for p in range(3):
        for q in range(3):
            dxp[:, :, p : p + H, q : q + W] += dcols[:, p, q]
    return y, dw, np.ascontiguousarray(dxp[:, :, 1:-1, 1:-1].transpose(1, 0, 2, 3))


def nchw_batched(x: np.ndarray, w: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, ...]:
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.empty((N, C, 3, 3, H, W), x.dtype)
    np.copyto(cols, sliding_window_view(xp, (3, 3), axis=(2, 3)).transpose(0, 1, 4, 5, 2, 3))
    cols = cols.reshape(N, C * 9, H * W)
    wm = w.reshape(O, -1)
    y = np.matmul(wm, cols)
    g2 = g.reshape(N, O, H * W)
    dw = np.matmul(g2, cols.transpose(0, 2, 1)).sum(axis=0)
    dcols = np.matmul(wm.T, g2).reshape(N, C, 3, 3, H, W)
    dxp = np.zeros((N, C, H + 2, W + 2), x.dtype)
    for p in range(3):
        for q in range(3):
            dxp[:, :, p : p + H, q : q + W] += dcols[:, :, p, q]
    return y, dw, dxp[:, :, 1:-1, 1:-1]


def nhwc(xh: np.ndarray, w: np.ndarray, gh: np.ndarray) -> tuple[np.ndarray, ...]:
    xp = np.zeros((N, H + 2, W + 2, C), xh.dtype)
    xp[:, 1:-1, 1:-1] = xh
    cols = np.empty((N, H, W, 3, 3, C), xh.dtype)
    np.copyto(cols, sliding_window_view(xp, (3, 3), axis=(1, 2)).transpose(0, 1, 2, 4, 5, 3))
    c2 = cols.reshape(-1, 9 * C)
    y = c2 @ w.transpose(2, 3, 1, 0).reshape(9 * C, O)
    g2 = gh.reshape(-1, O)
    dw = c2.T @ g2
    dcols = np.matmul(g2, w.transpose(2, 3, 0, 1).reshape(9, O, C)).reshape(3, 3, N, H, W, C)
    dx = dcols[1, 1].copy()
    for p in range(3):
        for q in range(3):
            if (p, q) != (1, 1):
                dst = (
                    slice(max(0, p - 1), H + min(0, p - 1)),
                    slice(max(0, q - 1), W + min(0, q - 1)),
                )
                src = (
                    slice(max(0, 1 - p), H + min(0, 1 - p)),
                    slice(max(0, 1 - q), W + min(0, 1 - q)),
                )
                dx[:, dst[0], dst[1]] += dcols[p, q, :, src[0], src[1]]
    return y, dw, dx


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    keep_freed_memory()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, W), dtype=np.float32)
    w = rng.standard_normal((O, C, 3, 3), dtype=np.float32)
    g = rng.standard_normal((N, O, H, W), dtype=np.float32)
    xh, gh = (np.ascontiguousarray(a.transpose(0, 2, 3, 1)) for a in (x, g))
    # All three compute the same three arrays (in their own layouts).
    y0, dw0, dx0 = nchw_one_gemm(x, w, g)
    y1, dw1, dx1 = nchw_batched(x, w, g)
    y2, dw2, dx2 = nhwc(xh, w, gh)
    for got, want in (
        (y1.reshape(N, O, H, W), y0),
        (dw1, dw0),
        (dx1, dx0),
        (y2.reshape(N, H, W, O).transpose(0, 3, 1, 2), y0),
        (dw2.reshape(3, 3, C, O).transpose(3, 2, 0, 1).reshape(O, -1), dw0),
        (dx2.transpose(0, 3, 1, 2), dx0),
    ):
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-2)
    cols = np.empty((N * H * W, 9 * C), np.float32)
    wm = np.empty((9 * C, O), np.float32)
    products = {
        "forward": lambda: cols @ wm,
        "weight grad": lambda: cols.T @ gh.reshape(-1, O),
        "input grad": lambda: gh.reshape(-1, O) @ wm.T,
    }
    samples = interleaved(
        {
            "NCHW, one GEMM": lambda: nchw_one_gemm(x, w, g),
            "NCHW, batched GEMM": lambda: nchw_batched(x, w, g),
            "NHWC (channels last)": lambda: nhwc(xh, w, gh),
            "the three products alone": lambda: [f() for f in products.values()],
        },
        args.repeat,
    )
    base = float(np.median(samples["NHWC (channels last)"]))
    print(f"conv 3x3 SAME, {N}x{C}x{H}x{W} -> {O} channels, float32, {args.threads} thread(s)")
    print("| layout | ms (forward + weight grad + input grad) | min-max | vs NHWC |")
    print("|---|---|---|---|")
    for name, s in samples.items():
        a = np.asarray(s) * 1e3
        print(
            f"| {name} | {np.median(a):.2f} | {a.min():.2f}-{a.max():.2f} | "
            f"{np.median(s) / base:.2f}x |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
