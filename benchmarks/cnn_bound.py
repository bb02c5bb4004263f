"""What bounds the CNN training step: each of its passes at numpy's speed, compiled, and at
the memory's speed.

The step of ``benchmarks/mnist.py --model cnn`` (batch 64, float32) is its matrix
products (the GEMM floor, ``cnn_step.gemm_floor``) plus memory-bound passes between
them. This script times, at the step's shapes and on ``--threads`` threads:

- the step's matrix products together (im2col GEMMs: the GEMM floor);
- each memory-bound pass as tapeflow's kernels run it;
- the same pass as a loop compiled by numba (optional: ``pip install numba``), split
  over the batch on tapeflow's threads and checked bit for bit against tapeflow's (all
  but Adam's, whose one fused expression rounds differently from numpy's passes);
- the pass's memory floor: a copy moving as many bytes as the pass must read and write;
- conv2's forward product in Winograd's F(2x2, 3x3) form (2.25x fewer multiplications),
  its transforms in numpy, and its sixteen products alone;
- tapeflow's whole step, eager and compiled; torch's (optional) in a process of its
  own, before and after the rest, as in ``run.py``.

It then adds the passes to the GEMM floor: the fastest step each kind of pass allows,
before anything else a step does (the dense layers' small passes, softmax, bias
gradients, Python), against torch's whole step.

    python benchmarks/cnn_bound.py --threads 2 [--repeat 30] [--json out.json]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")  # see benchmarks/run.py

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from numpy.lib.stride_tricks import as_strided  # noqa: E402

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run as a script
    sys.path.insert(0, str(HERE.parent))

from benchmarks import cnn_step  # noqa: E402
from benchmarks.run import keep_freed_memory, mnist_batch, set_threads, timeit  # noqa: E402
from tapeflow import optim  # noqa: E402
from tapeflow.nn import conv  # noqa: E402
from tapeflow.nn.functional import _relu_into  # noqa: E402
from tapeflow.nn.threads import over_batch  # noqa: E402

N = cnn_step.BATCH
SAME3 = {"window": (3, 3), "stride": (1, 1), "padding": ((1, 1), (1, 1)), "dilation": (1, 1)}
POOL2 = {"window": (2, 2), "stride": (2, 2), "padding": ((0, 0), (0, 0))}


def median_ms(fn: Callable[[], Any], repeat: int) -> float:
    return float(np.median(timeit(fn, repeat))) * 1e3


def channels_last(rng: np.random.Generator, n: int, c: int, h: int, w: int) -> np.ndarray:
    """A random NCHW float32 array with channels-last memory, as the step's activations."""
    return rng.standard_normal((n, h, w, c), dtype=np.float32).transpose(0, 3, 1, 2)


# ----- the memory's speed ------------------------------------------------------------------
def copy_ms(moved: int, repeat: int) -> float:
    """A copy moving ``moved`` bytes (half read, half written), split like the kernels:
    the same working set as the pass it bounds, so the caches help both alike."""
    src = np.ones((N, max(1, moved // 8 // N)), np.float32)
    dst = np.empty_like(src)

    def copy() -> None:
        over_batch(lambda s: np.copyto(dst[s], src[s]), N, src.size)

    return median_ms(copy, repeat)


# ----- compiled passes (numba), each over a slice of the batch -------------------------------
def compiled_kernels() -> dict[str, Callable[..., Any]] | None:
    """The loops, or None without numba. ``nogil``: tapeflow's threads run them in parallel."""
    try:
        import numba
    except ImportError:
        return None
    njit = numba.njit(nogil=True, cache=False, boundscheck=False)

    @njit
    def pool_forward(x: Any, out: Any) -> None:  # 2x2 windows, channels last
        n, ho, wo, c = out.shape
        for b in range(n):
            for i in range(ho):
                for j in range(wo):
                    o = out[b, i, j]
                    o[:] = x[b, 2 * i, 2 * j]
                    for p, q in ((1, 0), (0, 1), (1, 1)):
                        r = x[b, 2 * i + p, 2 * j + q]
                        for k in range(c):  # np.maximum's rule: the first unless the second wins
                            if not (o[k] >= r[k] or o[k] != o[k]):
                                o[k] = r[k]

    @njit
    def pool_backward_relu(g: Any, x: Any, ans: Any, dx: Any) -> None:
        n, ho, wo, c = ans.shape
        share = np.empty(c, g.dtype)
        for b in range(n):
            for i in range(ho):
                for j in range(wo):
                    a, gg = ans[b, i, j], g[b, i, j]
                    share[:] = 0
                    for p in range(2):
                        for q in range(2):
                            r = x[b, 2 * i + p, 2 * j + q]
                            for k in range(c):
                                share[k] += r[k] == a[k]
                    for k in range(c):
                        share[k] = gg[k] / share[k] if a[k] > 0 else 0.0
                    for p in range(2):
                        for q in range(2):
                            r, d = x[b, 2 * i + p, 2 * j + q], dx[b, 2 * i + p, 2 * j + q]
                            for k in range(c):
                                d[k] = (r[k] == a[k]) * share[k]

    @njit
    def im2col_same3(xh: Any, cols: Any) -> None:  # 3x3 SAME, stride 1
        n, h, w, c = xh.shape
        for b in range(n):
            for i in range(h):
                for j in range(w):
                    for p in range(3):
                        r = i + p - 1
                        for q in range(3):
                            s = j + q - 1
                            d = cols[b, i, j, p, q]
                            inside = 0 <= r < h and 0 <= s < w
                            for k in range(c):
                                d[k] = xh[b, r, s, k] if inside else 0.0

    @njit
    def col2im_same3(taps: Any, dx: Any) -> None:  # taps (3, 3, n, h, w, c)
        n, h, w, c = dx.shape
        for b in range(n):
            for i in range(h):
                row = dx[b, i]
                row[:] = taps[1, 1, b, i]  # the centre tap covers every pixel: it starts the sum
                for p in range(3):
                    r = i - p + 1
                    for q in range(3):
                        if (p == 1 and q == 1) or not 0 <= r < h:
                            continue
                        src = taps[p, q, b, r]
                        for j in range(max(0, q - 1), min(w, w + q - 1)):
                            for k in range(c):  # pixel j reads patch j - q + 1
                                row[j, k] += src[j - q + 1, k]

    @njit
    def adam(p: Any, g: Any, m: Any, v: Any, coefs: Any) -> None:  # rows of flat leaves
        b1, c1, b2, c2, step, eps = coefs
        for row in range(p.shape[0]):
            for k in range(p.shape[1]):
                m[row, k] = b1 * m[row, k] + c1 * g[row, k]
                v[row, k] = b2 * v[row, k] + c2 * (g[row, k] * g[row, k])
                p[row, k] -= step * (m[row, k] / (np.sqrt(v[row, k]) + eps))

    return {
        "pool_forward": pool_forward,
        "pool_backward_relu": pool_backward_relu,
        "im2col_same3": im2col_same3,
        "col2im_same3": col2im_same3,
        "adam": adam,
    }


# ----- the passes -------------------------------------------------------------------------
def passes(rng: np.random.Generator, kernels: Any) -> list[dict[str, Any]]:
    """Each memory-bound pass: tapeflow's call, the compiled call, bytes moved, a check."""
    rows: list[dict[str, Any]] = []

    def add(name: str, numpy: Callable[[], Any], compiled: Any, moved: int, check: Any) -> None:
        rows.append({"pass": name, "numpy": numpy, "compiled": compiled, "bytes": moved})
        if compiled is not None and check is not None:
            a, b = check()
            assert np.array_equal(np.asarray(a), np.asarray(b)), f"{name}: compiled differs"

    for layer, (c, h) in enumerate(((1, 28), (32, 14)), start=1):
        x = channels_last(rng, N, c, h, h)
        cols_bytes = x.nbytes * 9
        if kernels is None:
            compiled = None
        else:
            cols = np.empty((N, h, h, 3, 3, c), np.float32)
            xh = x.transpose(0, 2, 3, 1)

            def compiled(xh: Any = xh, cols: Any = cols) -> Any:
                over_batch(lambda s: kernels["im2col_same3"](xh[s], cols[s]), N, cols.size)
                return cols

        add(
            f"im2col, conv{layer}",
            lambda x=x: conv._np_im2col(x, **SAME3),
            compiled,
            x.nbytes + cols_bytes,
            lambda x=x, f=compiled: (conv._np_im2col(x, **SAME3), f()),
        )

    # conv2's patch gradient in the tap-major memory its product writes; conv1 needs none
    g2 = channels_last(rng, N, 64, 14, 14)
    w2 = rng.standard_normal((64, 32, 3, 3), dtype=np.float32)
    dcols = conv._np_conv2d_patches_grad(g2, w2)
    taps = dcols.transpose(3, 4, 0, 1, 2, 5)
    dx2 = np.empty((N, 14, 14, 32), np.float32)
    compiled = None
    if kernels is not None:

        def compiled() -> Any:
            over_batch(lambda s: kernels["col2im_same3"](taps[:, :, s], dx2[s]), N, dcols.size)
            return dx2.transpose(0, 3, 1, 2)

    add(
        "col2im, conv2",
        lambda: conv._np_col2im(dcols, (N, 32, 14, 14), **SAME3),
        compiled,
        dcols.nbytes + dx2.nbytes,
        lambda: (conv._np_col2im(dcols, (N, 32, 14, 14), **SAME3), compiled()),
    )

    for layer, (c, h) in enumerate(((32, 28), (64, 14)), start=1):
        y = channels_last(rng, N, c, h, h)
        yh = y.transpose(0, 2, 3, 1)
        b = rng.standard_normal(c, dtype=np.float32)
        out = np.empty_like(y)
        add(
            f"bias add, conv{layer} (in place)",
            # as conv2d_from_patches adds it: into the channels-last product, slice by slice
            lambda yh=yh, b=b: over_batch(lambda s: np.add(yh[s], b, out=yh[s]), N, yh.size),
            None,
            2 * y.nbytes,
            None,
        )
        add(f"ReLU, conv{layer}", lambda y=y, o=out: _relu_into(y, o), None, 2 * y.nbytes, None)
        a = np.maximum(y, 0)  # ReLU's output: windows of zeros tie, as in the real step
        pooled = conv._np_max_pool2d(a, **POOL2)
        g = channels_last(rng, N, c, h // 2, h // 2)
        forward = backward = None
        if kernels is not None:
            ah, gh, ph = (t.transpose(0, 2, 3, 1) for t in (a, g, pooled))
            small = np.empty(ph.shape, np.float32)
            full = np.empty(ah.shape, np.float32)

            def forward(ah: Any = ah, small: Any = small) -> Any:
                over_batch(lambda s: kernels["pool_forward"](ah[s], small[s]), N, ah.size)
                return small.transpose(0, 3, 1, 2)

            def backward(gh: Any = gh, ah: Any = ah, ph: Any = ph, full: Any = full) -> Any:
                kernel = kernels["pool_backward_relu"]
                over_batch(lambda s: kernel(gh[s], ah[s], ph[s], full[s]), N, ah.size)
                return full.transpose(0, 3, 1, 2)

        add(
            f"max-pool forward, conv{layer}",
            lambda a=a: conv._np_max_pool2d(a, **POOL2),
            forward,
            a.nbytes + pooled.nbytes,
            lambda a=a, f=forward: (conv._np_max_pool2d(a, **POOL2), f()),
        )
        add(
            f"max-pool and ReLU backward, conv{layer}",
            lambda g=g, a=a, p=pooled: conv._np_max_pool2d_backward_relu(g, a, p, **POOL2),
            backward,
            2 * a.nbytes + 2 * pooled.nbytes,
            lambda g=g, a=a, p=pooled, f=backward: (
                conv._np_max_pool2d_backward_relu(g, a, p, **POOL2),
                f(),
            ),
        )

    params = cnn_step.init_params(np.float32)
    grads = [tuple(rng.standard_normal(w.shape, dtype=np.float32) for w in lay) for lay in params]
    opt = optim.adam(cnn_step.LR)
    state = opt.update(grads, opt.init(params), params)[1]  # past the first step
    total = sum(w.nbytes for w in cnn_step.weights(params))
    compiled = None
    if kernels is not None:
        # all leaves as one flat array in two rows, one per thread
        flat = [np.concatenate([a.ravel() for a in cnn_step.weights(t)]) for t in (params, grads)]
        flat = [np.resize(a, 2 * (-(-a.size // 2))).reshape(2, -1) for a in flat]
        m, v = np.zeros_like(flat[0]), np.zeros_like(flat[0])
        coefs = np.array([0.9, 0.1, 0.999, 0.001, 1e-3, 1e-8], np.float32)

        def compiled() -> Any:
            p, g = flat
            over_batch(lambda s: kernels["adam"](p[s], g[s], m[s], v[s], coefs), 2, p.size)

    add(
        f"Adam update, {total // 4:,} parameters",
        lambda: opt.update(grads, state, params),
        compiled,
        7 * total,
        None,
    )
    return rows


# ----- Winograd's F(2x2, 3x3) --------------------------------------------------------------
_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], np.float32)


def winograd_weights(w: np.ndarray) -> np.ndarray:
    """OIHW 3x3 weights as the sixteen (C, O) matrices G w G^T of Winograd's form."""
    o, c = w.shape[:2]
    return np.einsum("ap,ocpq,bq->abco", _G.astype(w.dtype), w, _G.astype(w.dtype)).reshape(
        16, c, o
    )


def winograd_forward(xh: np.ndarray, u: np.ndarray) -> np.ndarray:
    """3x3 SAME convolution of a channels-last batch with even sides: 4x4 input tiles
    (stride 2) transformed by B^T d B, sixteen products, 2x2 outputs by A^T m A."""
    n, h, w, c = xh.shape
    th, tw = h // 2, w // 2
    xp = np.zeros((n, h + 2, w + 2, c), xh.dtype)
    xp[:, 1:-1, 1:-1] = xh
    s = xp.strides
    d = as_strided(xp, (n, th, tw, 4, 4, c), (s[0], 2 * s[1], 2 * s[2], s[1], s[2], s[3]))
    v = np.empty((4, 4, n, th, tw, c), xh.dtype)
    rows = (d[:, :, :, 0] - d[:, :, :, 2], d[:, :, :, 1] + d[:, :, :, 2])
    rows += (d[:, :, :, 2] - d[:, :, :, 1], d[:, :, :, 1] - d[:, :, :, 3])
    for k, t in enumerate(rows):
        np.subtract(t[:, :, :, 0], t[:, :, :, 2], out=v[k, 0])
        np.add(t[:, :, :, 1], t[:, :, :, 2], out=v[k, 1])
        np.subtract(t[:, :, :, 2], t[:, :, :, 1], out=v[k, 2])
        np.subtract(t[:, :, :, 1], t[:, :, :, 3], out=v[k, 3])
    m = np.matmul(v.reshape(16, -1, c), u).reshape(4, 4, n, th, tw, -1)
    y = np.empty((n, th, 2, tw, 2, m.shape[-1]), xh.dtype)
    for k, r in enumerate((m[0] + m[1] + m[2], m[1] - m[2] - m[3])):
        np.add(r[0] + r[1], r[2], out=y[:, :, k, :, 0])
        np.subtract(r[1] - r[2], r[3], out=y[:, :, k, :, 1])
    return y.reshape(n, h, w, -1)


def winograd_rows(rng: np.random.Generator, repeat: int) -> list[dict[str, Any]]:
    x = channels_last(rng, N, 32, 14, 14)
    w = rng.standard_normal((64, 32, 3, 3), dtype=np.float32)
    u = winograd_weights(w)
    xh = x.transpose(0, 2, 3, 1)
    cols = conv._np_im2col(x, **SAME3)
    reference = conv._np_conv2d_from_patches(cols, w).transpose(0, 2, 3, 1)
    error = float(np.abs(winograd_forward(xh, u) - reference).max() / np.abs(reference).max())
    v = rng.standard_normal((16, N * 49, 32), dtype=np.float32)
    return [
        {"what": "conv2 forward: im2col and one GEMM (tapeflow)",
         "ms": median_ms(lambda: conv._np_conv2d_from_patches(conv._np_im2col(x, **SAME3), w),
                         repeat)},
        {"what": "conv2 forward: the GEMM alone",
         "ms": median_ms(lambda: conv._np_conv2d_from_patches(cols, w), repeat)},
        {"what": f"conv2 forward: Winograd, numpy transforms (max error {error:.1e})",
         "ms": median_ms(lambda: winograd_forward(xh, u), repeat)},
        {"what": "conv2 forward: Winograd's sixteen products alone",
         "ms": median_ms(lambda: np.matmul(v, u), repeat)},
    ]  # fmt: skip


def tapeflow_step_ms(repeat: int) -> dict[str, float]:
    """tapeflow's eager and compiled steps (``cnn_step.tapeflow_steps``), median ms."""
    x, y = mnist_batch(N, np.float32)
    x = x.reshape(-1, 1, 28, 28)
    params = cnn_step.init_params(np.float32)
    eager, compiled, state = cnn_step.tapeflow_steps(params)
    return {
        "tapeflow eager step": median_ms(lambda: eager(params, state, x, y), repeat),
        "tapeflow jit step": median_ms(lambda: compiled(params, state, x, y), repeat),
    }


def torch_step_ms(threads: int, steps: int) -> float | None:
    """torch's median step in a process of its own (None without torch)."""
    command = [sys.executable, str(HERE / "cnn_step.py"), "torch"]
    command += ["--threads", str(threads), "--steps", str(steps)]
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return float(np.median(json.loads(out.stdout.strip().splitlines()[-1]))) * 1e3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    keep_freed_memory()
    rng = np.random.default_rng(0)
    kernels = compiled_kernels()
    torch_before = torch_step_ms(args.threads, args.repeat)
    floor = median_ms(cnn_step.gemm_floor(), args.repeat)

    table = []
    for row in passes(rng, kernels):
        measured = {
            "pass": row["pass"],
            "numpy_ms": median_ms(row["numpy"], args.repeat),
            "compiled_ms": None if row["compiled"] is None else median_ms(row["compiled"],
                                                                          args.repeat),
            "memory_floor_ms": copy_ms(row["bytes"], args.repeat),
        }  # fmt: skip
        table.append(measured)
    winograd = winograd_rows(rng, args.repeat)
    steps = tapeflow_step_ms(args.repeat)
    torch_after = torch_step_ms(args.threads, args.repeat)

    print(f"threads: {args.threads}")
    print("numba:", "not installed (no compiled column)" if kernels is None else "installed")
    print("\n| pass | tapeflow (numpy) ms | compiled (numba) ms | memory floor ms |")
    print("|---|---|---|---|")
    for r in table:
        compiled = "-" if r["compiled_ms"] is None else f"{r['compiled_ms']:.2f}"
        print(f"| {r['pass']} | {r['numpy_ms']:.2f} | {compiled} | {r['memory_floor_ms']:.2f} |")
    numpy_sum = sum(r["numpy_ms"] for r in table)
    best_sum = sum(min(r["numpy_ms"], r["compiled_ms"] or np.inf) for r in table)
    memory_sum = sum(r["memory_floor_ms"] for r in table)
    print(f"| all of them | {numpy_sum:.2f} | {best_sum:.2f} (best of each) | {memory_sum:.2f} |")
    print("\n| conv2 forward | ms |\n|---|---|")
    for r in winograd:
        print(f"| {r['what']} | {r['ms']:.2f} |")

    sums = {
        "GEMM floor": floor,
        "GEMM floor + passes as tapeflow runs them": floor + numpy_sum,
        "GEMM floor + best of numpy and compiled passes": floor + best_sum,
        "GEMM floor + every pass at the memory floor": floor + memory_sum,
        **steps,
    }
    torch_ms = None
    if torch_before is not None and torch_after is not None:
        torch_ms = (torch_before + torch_after) / 2
    print("\n| step | ms | vs torch eager |\n|---|---|---|")
    for name, ms in sums.items():
        ratio = "-" if torch_ms is None else f"{ms / torch_ms:.2f}x"
        print(f"| {name} | {ms:.2f} | {ratio} |")
    if torch_ms is not None:
        print(f"| torch eager, whole step (before {torch_before:.1f}, after {torch_after:.1f}) "
              f"| {torch_ms:.2f} | 1.00x |")  # fmt: skip
    if args.json:
        result = {"threads": args.threads, "passes": table,
                  "winograd": winograd, "sums_ms": sums, "torch_ms": torch_ms}  # fmt: skip
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
