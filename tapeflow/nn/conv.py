"""2-d convolution and pooling on NCHW arrays, as primitives with VJP and JVP rules.

Everything runs on strided views and one matrix product per call and pass, never a
Python loop over pixels: the only loops are over kernel offsets (``kh * kw`` of
them), each moving a whole strided slice of the batch at once.

Convolution is cross-correlation, as in every deep-learning library:
``y[n, o, i, j] = sum_{c, p, q} x_padded[n, c, i*sh + p*dh, j*sw + q*dw] * w[o, c, p, q]``.
It runs as ``conv2d_from_patches(im2col(x), w, b)``: ``im2col`` copies every window
of the input into a patches array ``(N, Ho, Wo, kh, kw, C)`` (its transpose,
``col2im``, sums patches back onto the pixels), and the product with the weights is
bilinear, so its derivatives close over three primitives: the product, its transpose
with respect to the patches (``conv2d_patches_grad``) and with respect to the
weights (``conv2d_weight_grad``); each one's rules are written with the other two,
so derivatives of any order work. Inside, arrays are channels last (see the
kernels' comment); the public layout is NCHW.

Pooling uses two linear helpers: ``window_gather`` (every window of the padded
input, an array ``(N, C, Ho, Wo, kh, kw)``) and its transpose ``window_scatter``
(sums windows back, dropping the padding). Max pooling over windows that tile the
input runs on a reshaped view, one ufunc call per window axis.

Padding: ``"VALID"`` (none), ``"SAME"`` (output size ``ceil(size / stride)``,
the extra row/column at the bottom/right, as in TensorFlow), an int, a pair
``(ph, pw)`` or explicit ``((top, bottom), (left, right))``. Max pooling pads
with ``-inf``; average pooling divides by the number of real (non-padding)
entries in each window. Tied maxima share the gradient equally.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import tapeflow.numpy as tnp
from tapeflow.batching import batch_size, bcast_front, merge_rule
from tapeflow.core.primitive import (
    defbatch,
    defjvp,
    defvjp,
    nondifferentiable,
    primitive,
    vjp_needs,
)
from tapeflow.jit.codegen import Slot
from tapeflow.nn.functional import _keep_where_positive, relu_grad
from tapeflow.nn.threads import over_batch
from tapeflow.numpy.meta import dtype_of, shape_of

__all__ = [
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
    "conv_output_shape",
    "im2col",
    "col2im",
    "conv2d_from_patches",
    "conv2d_patches_grad",
    "conv2d_weight_grad",
    "window_gather",
    "window_scatter",
    "max_pool2d_backward",
]

Pads = tuple[tuple[int, int], tuple[int, int]]


# ----- static arguments ------------------------------------------------------------
def _pair(v: Any, name: str) -> tuple[int, int]:
    if isinstance(v, (int, np.integer)):
        v = (int(v), int(v))
    try:
        a, b = (int(i) for i in v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}") from None
    return a, b


def _pads(
    padding: Any, size: tuple[int, int], window: tuple[int, int], stride: tuple[int, int]
) -> Pads:
    """Normalise a padding spec to ((top, bottom), (left, right))."""
    if isinstance(padding, str):
        mode = padding.upper()
        if mode == "VALID":
            return ((0, 0), (0, 0))
        if mode == "SAME":
            pads = []
            for n, k, s in zip(size, window, stride, strict=True):
                out = -(-n // s)
                total = max((out - 1) * s + k - n, 0)
                pads.append((total // 2, total - total // 2))
            return (pads[0], pads[1])
        raise ValueError(f"padding must be 'SAME', 'VALID', an int or pairs, got {padding!r}")
    if isinstance(padding, (int, np.integer)):
        p = int(padding)
        return ((p, p), (p, p))
    padding = tuple(padding)
    if len(padding) == 2 and all(isinstance(p, (int, np.integer)) for p in padding):
        return ((int(padding[0]),) * 2, (int(padding[1]),) * 2)
    if len(padding) == 2 and all(len(p) == 2 for p in padding):
        return tuple((int(a), int(b)) for a, b in padding)  # type: ignore[return-value]
    raise ValueError(f"padding must be 'SAME', 'VALID', an int or pairs, got {padding!r}")


def _out_size(n: int, k: int, s: int, pad: tuple[int, int]) -> int:
    return (n + pad[0] + pad[1] - k) // s + 1


def conv_output_shape(
    input_shape: tuple[int, ...],
    out_channels: int,
    window: Any,
    stride: Any = 1,
    padding: Any = "VALID",
    dilation: Any = 1,
) -> tuple[int, ...]:
    """The NCHW output shape of a convolution or pooling (``out_channels`` for pooling = C).

    Example:
        >>> from tapeflow.nn.conv import conv_output_shape
        >>> conv_output_shape((8, 1, 28, 28), 32, 3, 1, "SAME")
        (8, 32, 28, 28)
        >>> conv_output_shape((8, 1, 28, 28), 32, 3, 1, "VALID", dilation=2)
        (8, 32, 24, 24)
    """
    n, _, h, w = input_shape
    window, stride = _pair(window, "window"), _pair(stride, "stride")
    dh, dw = _pair(dilation, "dilation")
    window = (_span(window[0], dh), _span(window[1], dw))
    pads = _pads(padding, (h, w), window, stride)
    return (
        n,
        out_channels,
        _out_size(h, window[0], stride[0], pads[0]),
        _out_size(w, window[1], stride[1], pads[1]),
    )


# ----- numpy kernels (plain arrays) ------------------------------------------------
# Layout: the public arrays are NCHW, but everything conv2d computes lives in memory as
# NHWC (channels last) behind an NCHW-shaped transposed view. Channels last makes the
# patches a (N * Ho * Wo, kh * kw * C) matrix with C-contiguous rows, so the forward
# pass, the weight gradient and the patch gradient are one GEMM each with no transpose
# copies, and ufuncs applied to the answer (bias, ReLU) keep that layout (numpy's
# default order "K"). benchmarks/conv_layout.py measures it against NCHW.


def _pad(x: np.ndarray, pads: Pads, value: float = 0.0) -> np.ndarray:
    if pads == ((0, 0), (0, 0)):
        return x
    return np.pad(x, ((0, 0), (0, 0)) + pads, constant_values=value)


def _windows(xp: np.ndarray, window: tuple[int, int], stride: tuple[int, int]) -> np.ndarray:
    """Strided view (N, C, Ho, Wo, kh, kw) of every window of the padded input."""
    v = sliding_window_view(xp, window, axis=(2, 3))
    return v[:, :, :: stride[0], :: stride[1]]


def _offsets(xp_hw: tuple[int, int], window: tuple[int, int], stride: tuple[int, int]) -> Any:
    """For each kernel offset (p, q): the strided slices of the padded input it touches.

    Output entry (i, j) reads padded entry (i * sh + p, j * sw + q); the slices
    select those entries for all (i, j) at once.
    """
    (kh, kw), (sh, sw) = window, stride
    ho = (xp_hw[0] - kh) // sh + 1
    wo = (xp_hw[1] - kw) // sw + 1
    for p in range(kh):
        for q in range(kw):
            yield p, q, slice(p, p + sh * (ho - 1) + 1, sh), slice(q, q + sw * (wo - 1) + 1, sw)


def _span(k: int, d: int) -> int:
    """How many input rows a window of ``k`` taps spaced ``d`` apart covers."""
    return d * (k - 1) + 1


def _np_im2col(
    x: Any,
    window: tuple[int, int] = (1, 1),
    stride: tuple[int, int] = (1, 1),
    padding: Pads = ((0, 0), (0, 0)),
    dilation: tuple[int, int] = (1, 1),
) -> Any:
    """Patches ``(N, Ho, Wo, kh, kw, C)`` of an NCHW input, C-contiguous.

    One copy of the padded input in channels-last order, then one copy of its
    window view: numpy moves the (kw, C) runs of each window row in one inner loop,
    three times faster here than a copy per kernel offset (C entries at a time).
    """
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (dh, dw) = window, stride, dilation
    (pt, pb), (pl, pr) = padding
    xh = x.transpose(0, 2, 3, 1)
    if (pt, pb, pl, pr) != (0, 0, 0, 0):
        xp = np.zeros((n, h + pt + pb, w + pl + pr, c), x.dtype)
        xp[:, pt : pt + h, pl : pl + w] = xh
        xh = xp
    win = sliding_window_view(xh, (_span(kh, dh), _span(kw, dw)), axis=(1, 2))
    win = win[:, ::sh, ::sw, :, ::dh, ::dw].transpose(0, 1, 2, 4, 5, 3)  # (N, Ho, Wo, kh, kw, C)
    cols = np.empty(win.shape, x.dtype)

    def copy_patches(s: slice) -> None:
        np.copyto(cols[s], win[s])

    over_batch(copy_patches, n, cols.size)
    return cols


def _tap_range(size: int, out: int, offset: int, s: int) -> tuple[int, int, int]:
    """(first output, number of outputs, first input row) of one kernel tap.

    Output ``i`` of the tap at ``offset`` (its dilated offset minus the leading pad)
    reads input ``i * s + offset``; only those inside ``[0, size)`` count.
    """
    first = max(0, -(offset // s))
    last = min(out - 1, (size - 1 - offset) // s)
    return first, max(0, last - first + 1), first * s + offset


def _np_col2im(
    cols: Any,
    x_shape: tuple[int, ...] = (),
    window: tuple[int, int] = (1, 1),
    stride: tuple[int, int] = (1, 1),
    padding: Pads = ((0, 0), (0, 0)),
    dilation: tuple[int, int] = (1, 1),
) -> Any:
    """The transpose of :func:`_np_im2col`: each patch entry summed back onto its pixel.

    One strided add per kernel offset, clipped to the real (unpadded) input, so
    padding is never materialised; an offset that covers the whole input (the
    centre tap of a stride-1 SAME convolution) starts the sum as a copy.
    """
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (dh, dw) = window, stride, dilation
    (pt, _), (pl, _) = padding
    ho, wo = cols.shape[1], cols.shape[2]
    taps = []
    for p in range(kh):
        i0, ni, r0 = _tap_range(h, ho, p * dh - pt, sh)
        for q in range(kw):
            j0, nj, c0 = _tap_range(w, wo, q * dw - pl, sw)
            if ni and nj:
                whole = sh == 1 and sw == 1 and ni == h and nj == w
                taps.append((whole, p, q, i0, ni, r0, j0, nj, c0))
    taps.sort(key=lambda t: not t[0])  # a tap covering everything first
    dx = np.empty((n, h, w, c), cols.dtype)

    def add_taps(b: slice) -> None:
        if not taps or not taps[0][0]:
            dx[b].fill(0)
        for k, (whole, p, q, i0, ni, r0, j0, nj, c0) in enumerate(taps):
            src = cols[b, i0 : i0 + ni, j0 : j0 + nj, p, q]
            if k == 0 and whole:
                np.copyto(dx[b], src)
                continue
            dst = dx[b, r0 : r0 + sh * (ni - 1) + 1 : sh, c0 : c0 + sw * (nj - 1) + 1 : sw]
            np.add(dst, src, out=dst)

    over_batch(add_taps, n, cols.size)
    return dx.transpose(0, 3, 1, 2)


def _as_rows(a: Any) -> Any:
    """An NCHW array as its channels-last (N * H * W, C) matrix (a view when it can be)."""
    n, c, h, w = a.shape
    return a.transpose(0, 2, 3, 1).reshape(n * h * w, c)


def _weight_matrix(w: Any) -> Any:
    """OIHW weights as the (kh * kw * C, O) matrix the patches multiply."""
    o = w.shape[0]
    return w.transpose(2, 3, 1, 0).reshape(-1, o)


def _np_conv2d_from_patches(cols: Any, w: Any, b: Any = None) -> Any:
    n, ho, wo = cols.shape[:3]
    o = w.shape[0]
    out = np.matmul(cols.reshape(n * ho * wo, -1), _weight_matrix(w)).reshape(n, ho, wo, o)
    if b is not None:

        def add_bias(s: slice) -> None:  # into the product's fresh buffer: no new array
            np.add(out[s], b, out=out[s])

        over_batch(add_bias, n, out.size)
    return out.transpose(0, 3, 1, 2)


def _np_conv2d_patches_grad(g: Any, w: Any) -> Any:
    """``g (N Ho Wo, O) @ W^T`` as patches (N, Ho, Wo, kh, kw, C).

    Computed as one product per kernel offset stacked in front, (kh kw, N Ho Wo, C):
    the patches in that memory order give col2im contiguous rows to add (twice as fast
    as rows of C entries), for about 5% more time in the product.
    """
    o, c, kh, kw = w.shape
    n, _, ho, wo = g.shape
    per_tap = w.transpose(2, 3, 0, 1).reshape(kh * kw, o, c)
    out = np.matmul(_as_rows(g), per_tap)  # (kh kw, N Ho Wo, C)
    return out.reshape(kh, kw, n, ho, wo, c).transpose(2, 3, 4, 0, 1, 5)


def _np_conv2d_weight_grad(cols: Any, g: Any) -> Any:
    kh, kw, c = cols.shape[3:]
    o = g.shape[1]
    n, ho, wo = cols.shape[:3]
    dw = np.matmul(cols.reshape(n * ho * wo, -1).T, _as_rows(g))  # (kh kw C, O)
    return np.ascontiguousarray(dw.reshape(kh, kw, c, o).transpose(3, 2, 0, 1))


# ----- convolution primitives --------------------------------------------------------
# conv2d(x, w, b) = conv2d_from_patches(im2col(x), w, b). The product is bilinear in
# (patches, weights); its derivatives close over three primitives (the product, its
# transpose in the patches and in the weights), each one's rules written with the
# other two, and im2col / col2im are linear and each other's transpose, so
# derivatives of any order work. The tape keeps the forward patches for the weight
# gradient: no im2col is repeated in the backward pass.
im2col = primitive(_np_im2col, name="nn.im2col")
col2im = primitive(_np_col2im, name="nn.col2im")
conv2d_from_patches = primitive(_np_conv2d_from_patches, name="nn.conv2d_from_patches")
conv2d_patches_grad = primitive(_np_conv2d_patches_grad, name="nn.conv2d_patches_grad")
conv2d_weight_grad = primitive(_np_conv2d_weight_grad, name="nn.conv2d_weight_grad")


def _geometry(kw: dict[str, Any]) -> dict[str, Any]:
    return {k: kw[k] for k in ("window", "stride", "padding", "dilation")}


defvjp(im2col, lambda ans, x, **kw: lambda g: col2im(g, x_shape=shape_of(x), **kw))
defjvp(im2col, lambda t, ans, x, **kw: im2col(t, **kw))
vjp_needs(im2col, ans=False, args=())
defvjp(col2im, lambda ans, cols, **kw: lambda h: im2col(h, **_geometry(kw)))
defjvp(col2im, lambda t, ans, cols, **kw: col2im(t, **kw))
vjp_needs(col2im, ans=False, args=())


def _bias_tangent(t: Any) -> Any:
    return tnp.reshape(t, (1, -1, 1, 1))


def _np_channel_sum(g: Any) -> Any:
    """The sum of an NCHW array over all but its channels: ``(C,)``.

    For channels-last memory (every convolution's gradient) the sum runs as one
    product with a vector of ones, spread over the BLAS threads: a sixth of
    ``np.sum``'s time over these axes (measured on a 64 x 32 x 28 x 28 float32 array).
    """
    rows = g.transpose(0, 2, 3, 1)
    if g.dtype.kind in "fc" and rows.flags.c_contiguous and g.size:
        rows = rows.reshape(-1, g.shape[1])
        return np.matmul(np.ones(len(rows), g.dtype), rows)
    return np.sum(g, axis=(0, 2, 3))


channel_sum = primitive(_np_channel_sum, name="nn.channel_sum")
defvjp(channel_sum, lambda ans, g: lambda h: tnp.broadcast_to(_bias_tangent(h), shape_of(g)))
vjp_needs(channel_sum, ans=False, args=())
defjvp(channel_sum, lambda t, ans, g: channel_sum(t))


def _bias_grad(g: Any) -> Any:
    return channel_sum(g)


defvjp(
    conv2d_from_patches,
    lambda ans, cols, w, b=None: lambda g: conv2d_patches_grad(g, w),
    lambda ans, cols, w, b=None: lambda g: conv2d_weight_grad(cols, g),
    lambda ans, cols, w, b=None: _bias_grad,
)
vjp_needs(conv2d_from_patches, ans=False, args={0: {1}, 1: {0}, 2: ()})


defjvp(
    conv2d_from_patches,
    lambda t, ans, cols, w, b=None: conv2d_from_patches(t, w),
    lambda t, ans, cols, w, b=None: conv2d_from_patches(cols, t),
    lambda t, ans, cols, w, b=None: tnp.broadcast_to(_bias_tangent(t), shape_of(ans)),
)
# patches_grad(g, w) = g W^T: linear in g and in w.
defvjp(
    conv2d_patches_grad,
    lambda ans, g, w: lambda h: conv2d_from_patches(h, w),
    lambda ans, g, w: lambda h: conv2d_weight_grad(h, g),
)
vjp_needs(conv2d_patches_grad, ans=False, args={0: {1}, 1: {0}})
defjvp(
    conv2d_patches_grad,
    lambda t, ans, g, w: conv2d_patches_grad(t, w),
    lambda t, ans, g, w: conv2d_patches_grad(g, t),
)
# weight_grad(cols, g) = cols^T g: linear in cols and in g.
defvjp(
    conv2d_weight_grad,
    lambda ans, cols, g: lambda h: conv2d_patches_grad(g, h),
    lambda ans, cols, g: lambda h: conv2d_from_patches(cols, h),
)
vjp_needs(conv2d_weight_grad, ans=False, args={0: {1}, 1: {0}})
defjvp(
    conv2d_weight_grad,
    lambda t, ans, cols, g: conv2d_weight_grad(t, g),
    lambda t, ans, cols, g: conv2d_weight_grad(cols, t),
)


def _check_nchw(x: Any, what: str) -> tuple[int, ...]:
    shape = tuple(shape_of(x))
    if len(shape) != 4:
        raise ValueError(f"{what} expects an NCHW array (4 dimensions), got shape {shape}")
    return shape


def conv2d(
    x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = "VALID", dilation: Any = 1
) -> Any:
    """2-d cross-correlation of NCHW inputs with OIHW weights, plus an optional bias.

    ``y[n, o, i, j] = b[o] + sum_{c,p,q} xp[n, c, i*sh + p*dh, j*sw + q*dw] w[o, c, p, q]``
    with ``xp`` the padded input. The answer has NCHW shape; its memory is channels
    last (a transposed view), which numpy's operations handle like any array.

    Args:
        x: inputs ``(N, C, H, W)``.
        w: weights ``(out_channels, C, kh, kw)``.
        b: bias ``(out_channels,)`` or None; added inside the product's buffer.
        stride: an int or ``(sh, sw)``.
        padding: ``"VALID"``, ``"SAME"``, an int, ``(ph, pw)`` or
            ``((top, bottom), (left, right))``.
        dilation: an int or ``(dh, dw)``: the spacing of the kernel's taps.

    Returns:
        ``(N, out_channels, Ho, Wo)``.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
        >>> tp.nn.conv2d(x, np.ones((1, 1, 2, 2)), stride=2)[0, 0]
        array([[10., 18.],
               [42., 50.]])
        >>> tp.nn.conv2d(x, np.ones((1, 1, 2, 2)), dilation=2)[0, 0]
        array([[20., 24.],
               [36., 40.]])
    """
    xs = _check_nchw(x, "conv2d")
    ws = tuple(shape_of(w))
    if len(ws) != 4 or ws[1] != xs[1]:
        hint = ""
        if len(ws) == 4 and xs[3] == ws[1]:
            # The channels are last: NHWC, the layout of TensorFlow and of JAX's default.
            hint = (
                f"; the inputs look like NHWC (channels last, {xs[3]}). Move the channels "
                "to axis 1: tnp.transpose(x, (0, 3, 1, 2))"
            )
        raise ValueError(
            f"conv2d: weights of shape {ws} do not fit inputs of shape {xs}. conv2d takes "
            f"NCHW inputs (batch, channels, height, width), so the weights must be "
            f"(out_channels, {xs[1]}, kh, kw){hint}"
        )
    stride = _pair(stride, "stride")
    dilation = _pair(dilation, "dilation")
    if min(stride) < 1 or min(dilation) < 1:
        raise ValueError(f"conv2d: stride {stride} and dilation {dilation} must be >= 1")
    span = (_span(ws[2], dilation[0]), _span(ws[3], dilation[1]))
    pads = _pads(padding, (xs[2], xs[3]), span, stride)
    if any(
        _out_size(n, k, s, p) < 1 for n, k, s, p in zip(xs[2:], span, stride, pads, strict=True)
    ):
        raise ValueError(
            f"conv2d: a {ws[2:]} kernel (dilation {dilation}) does not fit inputs {xs} "
            f"with padding {padding!r}"
        )
    if b is not None and tuple(shape_of(b)) != (ws[0],):
        raise ValueError(f"conv2d: bias must have shape ({ws[0]},), got {tuple(shape_of(b))}")
    cols = im2col(x, window=ws[2:], stride=stride, padding=pads, dilation=dilation)
    return conv2d_from_patches(cols, w) if b is None else conv2d_from_patches(cols, w, b)


# ----- window gather / scatter (im2col and its transpose) ----------------------------
def _np_window_gather(
    x: Any,
    window: tuple[int, int] = (1, 1),
    stride: tuple[int, int] = (1, 1),
    padding: Pads = ((0, 0), (0, 0)),
) -> Any:
    return np.ascontiguousarray(_windows(_pad(x, padding), window, stride))


def _np_window_scatter(
    gw: Any,
    x_shape: tuple[int, ...] = (),
    window: tuple[int, int] = (1, 1),
    stride: tuple[int, int] = (1, 1),
    padding: Pads = ((0, 0), (0, 0)),
) -> Any:
    n, c, h, w = x_shape
    kh, kw = window
    sh, sw = stride
    (pt, pb), (pl, pr) = padding
    ho, wo = gw.shape[2], gw.shape[3]
    out = np.zeros((n, c, h + pt + pb, w + pl + pr), gw.dtype)
    if (kh, kw) == (sh, sw):  # windows tile the input: a reshape puts them back
        out[:, :, : ho * kh, : wo * kw] = gw.transpose(0, 1, 2, 4, 3, 5).reshape(
            n, c, ho * kh, wo * kw
        )
    else:
        for p in range(kh):
            for q in range(kw):
                out[:, :, p : p + sh * (ho - 1) + 1 : sh, q : q + sw * (wo - 1) + 1 : sw] += gw[
                    :, :, :, :, p, q
                ]
    if (pt, pb, pl, pr) == (0, 0, 0, 0):
        return out
    return np.ascontiguousarray(out[:, :, pt : pt + h, pl : pl + w])


window_gather = primitive(_np_window_gather, name="nn.window_gather")
window_scatter = primitive(_np_window_scatter, name="nn.window_scatter")


def _pool_static(kw: dict[str, Any]) -> dict[str, Any]:
    return {"window": kw["window"], "stride": kw["stride"], "padding": kw["padding"]}


defvjp(
    window_gather,
    lambda ans, x, **kw: lambda g: window_scatter(g, x_shape=shape_of(x), **kw),
)
defjvp(window_gather, lambda t, ans, x, **kw: window_gather(t, **kw))
defvjp(window_scatter, lambda ans, gw, **kw: lambda h: window_gather(h, **_pool_static(kw)))
defjvp(window_scatter, lambda t, ans, gw, **kw: window_scatter(t, **kw))


# ----- pooling -----------------------------------------------------------------------
class _Tiles:
    """Windows that tile the input, as two axes of a reshaped view of its memory.

    For a channels-last input (N, H, W, C in memory) the view is (N, Ho, kh, Wo, kw, C);
    for a C-contiguous NCHW one, (N, C, Ho, kh, Wo, kw). Each ufunc then runs over long
    contiguous rows instead of one strided slice per window offset. Arrays of the
    output's size are handled in the matching "small" layout, (N, Ho, Wo, C) or NCHW.
    """

    __slots__ = ("view", "axes", "last")

    def __init__(self, view: np.ndarray, axes: tuple[int, int], last: bool) -> None:
        self.view, self.axes, self.last = view, axes, last

    def small_shape(self) -> tuple[int, ...]:
        """The output's shape in the small layout."""
        shape = self.view.shape
        return tuple(d for k, d in enumerate(shape) if k not in self.axes)

    def small(self, a: np.ndarray) -> np.ndarray:
        """An NCHW array of the output's size in this layout (a view)."""
        return a.transpose(0, 2, 3, 1) if self.last else a

    def expand(self, a: np.ndarray) -> np.ndarray:
        """A small-layout array broadcastable against the view (a view)."""
        return a[:, :, None, :, None, :] if self.last else a[:, :, :, None, :, None]

    def nchw_small(self, a: np.ndarray) -> np.ndarray:
        return a.transpose(0, 3, 1, 2) if self.last else a

    def nchw_full(self, a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        n, c, h, w = shape
        return a.reshape(n, h, w, c).transpose(0, 3, 1, 2) if self.last else a.reshape(shape)

    def batch(self, s: slice) -> _Tiles:
        """The tiles of a slice of the batch."""
        return _Tiles(self.view[s], self.axes, self.last)

    def reduce(self, ufunc: Any, a: np.ndarray, dtype: Any = None, out: Any = None) -> np.ndarray:
        """``ufunc`` folded over both window axes of ``a``, into ``out`` or a fresh array."""
        folded: Any = None
        for stage, axis in enumerate((self.axes[0], self.axes[1] - 1)):
            src = a if folded is None else folded
            parts = [src[(slice(None),) * axis + (k,)] for k in range(src.shape[axis])]
            dest = out if stage == 1 else None
            if len(parts) == 1:
                if dest is not None:
                    np.copyto(dest, parts[0])
                    folded = dest
                elif folded is None:
                    folded = parts[0].astype(dtype or a.dtype)
                continue
            acc = ufunc(parts[0], parts[1], dtype=dtype, out=dest)
            for part in parts[2:]:
                ufunc(acc, part, out=acc)
            folded = acc
        assert folded is not None
        return folded  # type: ignore[no-any-return]


def _tiles(x: Any, window: tuple[int, int], stride: tuple[int, int], padding: Pads) -> Any:
    """The :class:`_Tiles` of ``x`` when its windows tile it exactly, else None."""
    n, c, h, w = x.shape
    (kh, kw) = window
    if tuple(stride) != tuple(window) or padding != ((0, 0), (0, 0)) or h % kh or w % kw:
        return None
    channels_last = x.transpose(0, 2, 3, 1)
    if channels_last.flags.c_contiguous:
        view = channels_last.reshape(n, h // kh, kh, w // kw, kw, c)
        return _Tiles(view, (2, 4), True)
    if x.flags.c_contiguous:
        return _Tiles(x.reshape(n, c, h // kh, kh, w // kw, kw), (3, 5), False)
    return None


def _tie_counts(tiles: _Tiles, hit: np.ndarray) -> np.ndarray:
    """How many entries of each window equal its maximum, in the smallest integer type
    that holds a window's size (a quarter of float32's memory traffic for 2x2)."""
    size = tiles.view.shape[tiles.axes[0]] * tiles.view.shape[tiles.axes[1]]
    return tiles.reduce(np.add, hit, dtype=np.min_scalar_type(size))


def _np_max_pool2d(
    x: Any,
    window: tuple[int, int] = (2, 2),
    stride: tuple[int, int] = (2, 2),
    padding: Pads = ((0, 0), (0, 0)),
) -> Any:
    tiles = _tiles(x, window, stride, padding)
    if tiles is not None:
        pooled = np.empty(tiles.small_shape(), x.dtype)

        def pool_slice(s: slice) -> None:
            tiles.batch(s).reduce(np.maximum, tiles.view[s], out=pooled[s])

        over_batch(pool_slice, len(x), x.size)
        return tiles.nchw_small(pooled)
    xp = _pad(x, padding, -np.inf)
    out = None
    for _, _, rows, columns in _offsets(xp.shape[2:], window, stride):
        part = xp[:, :, rows, columns]
        out = part.copy() if out is None else np.maximum(out, part, out=out)
    return out


def _np_max_weights(
    x: Any,
    ans: Any,
    window: tuple[int, int] = (2, 2),
    stride: tuple[int, int] = (2, 2),
    padding: Pads = ((0, 0), (0, 0)),
) -> Any:
    """(N, C, Ho, Wo, kh, kw): 1/k on each of the k entries of a window equal to its maximum."""
    win = _windows(_pad(x, padding, -np.inf), window, stride)
    hit = (win == ans[..., None, None]).astype(x.dtype)
    hit /= hit.sum(axis=(4, 5), keepdims=True)
    return hit


_max_weights = primitive(_np_max_weights, name="nn.max_pool2d_weights")
nondifferentiable(_max_weights)  # piecewise constant in x


def _np_max_pool2d_backward(
    g: Any,
    x: Any,
    ans: Any,
    window: tuple[int, int] = (2, 2),
    stride: tuple[int, int] = (2, 2),
    padding: Pads = ((0, 0), (0, 0)),
) -> Any:
    """Route each window's cotangent to its maximum (shared equally among ties)."""
    tiles = _tiles(x, window, stride, padding)
    if tiles is not None and g.dtype == x.dtype and x.dtype.itemsize >= 4:
        return _routed(tiles, g, x, ans, relu=False)
    xp = _pad(x, padding, -np.inf)
    offsets = list(_offsets(xp.shape[2:], window, stride))
    hits = [xp[:, :, rows, columns] == ans for _, _, rows, columns in offsets]
    count = hits[0].astype(g.dtype)
    for hit in hits[1:]:
        count += hit
    share = g / count
    dtype = np.result_type(g, x)
    if tuple(window) == tuple(stride):  # disjoint windows: each entry is written once
        covered = (ans.shape[2] * window[0], ans.shape[3] * window[1]) == xp.shape[2:]
        dxp = np.empty(xp.shape, dtype) if covered else np.zeros(xp.shape, dtype)
        for (_, _, rows, columns), hit in zip(offsets, hits, strict=True):
            np.multiply(hit, share, out=dxp[:, :, rows, columns])
    else:
        dxp = np.zeros(xp.shape, dtype)
        for (_, _, rows, columns), hit in zip(offsets, hits, strict=True):
            dxp[:, :, rows, columns] += np.where(hit, share, 0)
    (pt, pb), (pl, pr) = padding
    return np.ascontiguousarray(dxp[:, :, pt : pt + x.shape[2], pl : pl + x.shape[3]])


def _np_max_pool2d_backward_relu(
    g: Any,
    x: Any,
    ans: Any,
    window: tuple[int, int] = (2, 2),
    stride: tuple[int, int] = (2, 2),
    padding: Pads = ((0, 0), (0, 0)),
) -> Any:
    """``relu_grad(max_pool2d_backward(g, x, ans), x)`` with two fewer full passes.

    A window whose maximum is not positive sends nothing back (its maxima are not
    positive), and every other entry it reaches is its positive maximum: masking the
    per-window shares by ``ans > 0`` is the ReLU's mask. Equal values; a zero may
    differ in sign (a non-maximal entry gets ``0 * share``).
    """
    tiles = _tiles(x, window, stride, padding)
    if tiles is None or g.dtype != x.dtype or x.dtype.kind != "f" or x.dtype.itemsize < 4:
        routed = _np_max_pool2d_backward(g, x, ans, window, stride, padding)
        return relu_grad.primitive.fun(routed, x)
    return _routed(tiles, g, x, ans, relu=True)


def _routed(tiles: _Tiles, g: Any, x: Any, ans: Any, relu: bool) -> Any:
    """Each window's share of ``g`` on its maxima (zero where ``ans <= 0`` with ``relu``)."""
    dx = np.empty(tiles.view.shape, x.dtype)
    small_g, small_ans = tiles.small(g), tiles.small(ans)

    def route(s: slice) -> None:
        part = tiles.batch(s)
        hit = np.equal(part.view, part.expand(small_ans[s]))
        share = np.divide(small_g[s], _tie_counts(part, hit))
        if relu:
            share = _keep_where_positive(share, small_ans[s])
        np.multiply(hit, part.expand(share), out=dx[s])

    over_batch(route, len(x), x.size)
    return tiles.nchw_full(dx, x.shape)


def _fuse_relu_grad(own: Any, own_kw: Any, consumer: Any, consumer_kw: Any) -> Any:
    """The fused call when the ReLU mask is the pooling's own input (ReLU then pool)."""
    x, mask = own[1], consumer[1]
    if type(x) is Slot and type(mask) is Slot and x.index == mask.index and not consumer_kw:
        return _np_max_pool2d_backward_relu, own, own_kw
    return None


def _max_pool_jvp(t: Any, ans: Any, x: Any, **kw: Any) -> Any:
    return tnp.sum(window_gather(t, **kw) * _max_weights(x, ans, **kw), axis=(4, 5))


_max_pool2d = primitive(_np_max_pool2d, name="nn.max_pool2d")
max_pool2d_backward = primitive(_np_max_pool2d_backward, name="nn.max_pool2d_backward")
defvjp(_max_pool2d, lambda ans, x, **kw: lambda g: max_pool2d_backward(g, x, ans, **kw))
defjvp(_max_pool2d, _max_pool_jvp)
# Linear in g; the routing depends on (x, ans) only through which entry is
# largest, which is piecewise constant: no gradient for x and ans.
defvjp(
    max_pool2d_backward,
    lambda out, g, x, ans, **kw: lambda h: _max_pool_jvp(h, ans, x, **kw),
    None,
    None,
)
defjvp(
    max_pool2d_backward,
    lambda t, out, g, x, ans, **kw: max_pool2d_backward(t, x, ans, **kw),
    None,
    None,
)


def _window_counts(
    x_shape: tuple[int, ...], dtype: Any, window: Any, stride: Any, padding: Pads
) -> np.ndarray:
    """How many real (non-padding) entries each window holds, shaped (Ho, Wo)."""
    ones = np.ones((1, 1) + tuple(x_shape[2:]), dtype)
    counts: np.ndarray = _np_window_sum(_pad(ones, padding), window, stride)[0, 0]
    return counts


def _np_window_sum(xp: np.ndarray, window: Any, stride: Any) -> np.ndarray:
    out = None
    for _, _, rows, columns in _offsets(xp.shape[2:], window, stride):
        part = xp[:, :, rows, columns]
        out = part.copy() if out is None else np.add(out, part, out=out)
    return out  # type: ignore[return-value]


def _np_avg_pool2d(
    x: Any,
    window: tuple[int, int] = (2, 2),
    stride: tuple[int, int] = (2, 2),
    padding: Pads = ((0, 0), (0, 0)),
) -> Any:
    total = _np_window_sum(_pad(x, padding), window, stride)
    if padding == ((0, 0), (0, 0)):
        total *= 1.0 / (window[0] * window[1])
        return total
    return total / _window_counts(x.shape, x.dtype, window, stride, padding)


def _avg_pool_vjp(ans: Any, x: Any, **kw: Any) -> Any:
    xs = tuple(shape_of(x))
    counts = _window_counts(xs, dtype_of(x), **kw)
    kh, kw_ = kw["window"]

    def vjp(g: Any) -> Any:
        gs = tuple(shape_of(g))
        per_entry = tnp.reshape(g / counts, gs + (1, 1))
        return window_scatter(tnp.broadcast_to(per_entry, gs + (kh, kw_)), x_shape=xs, **kw)

    return vjp


_avg_pool2d = primitive(_np_avg_pool2d, name="nn.avg_pool2d")
defvjp(_avg_pool2d, _avg_pool_vjp)
defjvp(_avg_pool2d, lambda t, ans, x, **kw: _avg_pool2d(t, **kw))


def _pool_args(x: Any, window: Any, stride: Any, padding: Any, what: str) -> dict[str, Any]:
    xs = _check_nchw(x, what)
    window = _pair(window, "window")
    stride = window if stride is None else _pair(stride, "stride")
    pads = _pads(padding, (xs[2], xs[3]), window, stride)
    for n, k, p in zip(xs[2:], window, pads, strict=True):
        if p[0] >= k or p[1] >= k:
            raise ValueError(f"{what}: padding {padding!r} leaves windows with no input entries")
        if n + p[0] + p[1] < k:
            raise ValueError(f"{what}: a {window} window does not fit inputs of shape {xs}")
    return {"window": window, "stride": stride, "padding": pads}


def max_pool2d(x: Any, window: Any = 2, stride: Any = None, padding: Any = "VALID") -> Any:
    """Maximum over each ``window`` of an NCHW array; tied maxima share the gradient.

    Args:
        x: inputs ``(N, C, H, W)``.
        window: an int or ``(kh, kw)``.
        stride: an int or pair; defaults to ``window`` (non-overlapping windows).
        padding: as for :func:`conv2d` (padding entries never win).

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> tp.nn.max_pool2d(np.arange(16.0).reshape(1, 1, 4, 4))[0, 0]
        array([[ 5.,  7.],
               [13., 15.]])
    """
    return _max_pool2d(x, **_pool_args(x, window, stride, padding, "max_pool2d"))


def avg_pool2d(x: Any, window: Any = 2, stride: Any = None, padding: Any = "VALID") -> Any:
    """Mean over each ``window`` of an NCHW array (padding entries are not counted).

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> tp.nn.avg_pool2d(np.arange(16.0).reshape(1, 1, 4, 4))[0, 0]
        array([[ 2.5,  4.5],
               [10.5, 12.5]])
    """
    return _avg_pool2d(x, **_pool_args(x, window, stride, padding, "avg_pool2d"))


# Every kernel here returns a new array (or a view of one): tp.jit may write into it.
for _prim in (
    im2col,
    col2im,
    channel_sum,
    conv2d_from_patches,
    conv2d_patches_grad,
    conv2d_weight_grad,
    _max_pool2d,
    max_pool2d_backward,
):
    _prim.primitive.jit_fresh = True
# Under tp.jit, ReLU's derivative applied to max-pooling's routed gradient is one kernel.
max_pool2d_backward.primitive.jit_fusions = {relu_grad.primitive.fun: _fuse_relu_grad}


# ----- vmap: the batch folds into the images' N axis ----------------------------------
for _prim, _rows, _shape_kw in (
    (max_pool2d_backward, (0, 1, 2), None),
    (im2col, (0,), None),
    (col2im, (0,), "x_shape"),
    (conv2d_from_patches, (0,), None),
    (conv2d_patches_grad, (0,), None),
    (window_gather, (0,), None),
    (window_scatter, (0,), "x_shape"),
    (_max_pool2d, (0,), None),
    (_avg_pool2d, (0,), None),
    (_max_weights, (0, 1), None),
):
    defbatch(_prim, merge_rule(_prim, _rows, _shape_kw))


def _conv2d_weight_grad_rule(args: Any, dims: Any) -> Any:
    """Per-example weight gradients: one einsum over every example's patches."""
    size = batch_size(args, dims)
    cols, g = (bcast_front(a, d, size) for a, d in zip(args, dims, strict=True))
    out = tnp.einsum("bnhwijc,bnohw->bocij", cols, g, optimize="greedy")
    return out, 0


defbatch(conv2d_weight_grad, _conv2d_weight_grad_rule)


def _channel_sum_rule(args: Any, dims: Any) -> Any:
    (g,), (d,) = args, dims
    return tnp.sum(tnp.moveaxis(g, d, 0), axis=(1, 3, 4)), 0


defbatch(channel_sum, _channel_sum_rule)
