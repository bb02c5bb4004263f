"""2-d convolution and pooling on NCHW arrays, as primitives with VJP and JVP rules.

Everything runs on strided slices and one matrix product per call, never a
Python loop over pixels: the only loops are over kernel offsets (``kh * kw``
of them), each moving a whole strided slice of the batch at once (im2col for
the patches, col2im to sum them back).

Convolution is cross-correlation, as in every deep-learning library:
``y[n, o, i, j] = sum_{c, p, q} x_padded[n, c, i*sh + p, j*sw + q] * w[o, c, p, q]``.
It is bilinear, so its derivatives close over three primitives: ``conv2d``,
its transpose with respect to the input (``conv2d_input_grad``) and with
respect to the weights (``conv2d_weight_grad``); each one's rules are written
with the other two, so derivatives of any order work.

Pooling uses two linear helpers: ``window_gather`` (every window of the padded
input, an im2col array ``(N, C, Ho, Wo, kh, kw)``) and its transpose
``window_scatter`` (sums windows back, dropping the padding).

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
from tapeflow.core.primitive import defbatch, defjvp, defvjp, nondifferentiable, primitive
from tapeflow.numpy.meta import dtype_of, shape_of

__all__ = [
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
    "conv_output_shape",
    "conv2d_input_grad",
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
) -> tuple[int, ...]:
    """The NCHW output shape of a convolution or pooling (``out_channels`` for pooling = C).

    Example:
        >>> from tapeflow.nn.conv import conv_output_shape
        >>> conv_output_shape((8, 1, 28, 28), 32, 3, 1, "SAME")
        (8, 32, 28, 28)
    """
    n, _, h, w = input_shape
    window, stride = _pair(window, "window"), _pair(stride, "stride")
    pads = _pads(padding, (h, w), window, stride)
    return (
        n,
        out_channels,
        _out_size(h, window[0], stride[0], pads[0]),
        _out_size(w, window[1], stride[1], pads[1]),
    )


# ----- numpy kernels (plain arrays) ------------------------------------------------
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


def _im2col(xp: np.ndarray, window: tuple[int, int], stride: tuple[int, int]) -> np.ndarray:
    """Patches as a (C * kh * kw, N * Ho * Wo) matrix: one copy per kernel offset.

    This layout makes both the forward pass and the weight gradient a single
    large matrix product, and each copy moves whole rows of the image.
    """
    n, c, hp, wp = xp.shape
    (kh, kw), (sh, sw) = window, stride
    ho, wo = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    cols = np.empty((c, kh, kw, n, ho, wo), xp.dtype)
    xt = xp.transpose(1, 0, 2, 3)
    for p, q, rows, columns in _offsets((hp, wp), window, stride):
        cols[:, p, q] = xt[:, :, rows, columns]
    return cols.reshape(c * kh * kw, n * ho * wo)


def _np_conv2d(
    x: Any, w: Any, stride: tuple[int, int] = (1, 1), padding: Pads = ((0, 0), (0, 0))
) -> Any:
    xp = _pad(x, padding)
    o = w.shape[0]
    n = xp.shape[0]
    cols = _im2col(xp, w.shape[2:], stride)
    out = np.matmul(w.reshape(o, -1), cols)  # (O, N * Ho * Wo)
    ho = (xp.shape[2] - w.shape[2]) // stride[0] + 1
    return np.ascontiguousarray(out.reshape(o, n, ho, -1).transpose(1, 0, 2, 3))


def _np_conv2d_input_grad(
    g: Any,
    w: Any,
    x_shape: tuple[int, ...] = (),
    stride: tuple[int, int] = (1, 1),
    padding: Pads = ((0, 0), (0, 0)),
) -> Any:
    # col2im: the patch cotangents w^T g, summed back onto the padded input.
    n, o, ho, wo = g.shape
    _, c, kh, kw = w.shape
    h, wd = x_shape[2], x_shape[3]
    (pt, pb), (pl, pr) = padding
    hp, wp = h + pt + pb, wd + pl + pr
    g_rows = g.transpose(1, 0, 2, 3).reshape(o, -1)
    dcols = np.matmul(w.reshape(o, -1).T, g_rows).reshape(c, kh, kw, n, ho, wo)
    dxp = np.zeros((c, n, hp, wp), np.result_type(g, w))
    for p, q, rows, columns in _offsets((hp, wp), (kh, kw), stride):
        dxp[:, :, rows, columns] += dcols[:, p, q]
    return np.ascontiguousarray(dxp[:, :, pt : pt + h, pl : pl + wd].transpose(1, 0, 2, 3))


def _np_conv2d_weight_grad(
    x: Any,
    g: Any,
    w_shape: tuple[int, ...] = (),
    stride: tuple[int, int] = (1, 1),
    padding: Pads = ((0, 0), (0, 0)),
) -> Any:
    kh, kw = w_shape[2:]
    cols = _im2col(_pad(x, padding), (kh, kw), stride)
    g_rows = g.transpose(1, 0, 2, 3).reshape(g.shape[1], -1)
    return np.matmul(g_rows, cols.T).reshape(w_shape)


# ----- convolution primitives --------------------------------------------------------
_conv2d = primitive(_np_conv2d, name="nn.conv2d")
conv2d_input_grad = primitive(_np_conv2d_input_grad, name="nn.conv2d_input_grad")
conv2d_weight_grad = primitive(_np_conv2d_weight_grad, name="nn.conv2d_weight_grad")


def _conv_vjp_x(
    ans: Any, x: Any, w: Any, stride: Any = (1, 1), padding: Any = ((0, 0), (0, 0))
) -> Any:
    return lambda g: conv2d_input_grad(g, w, x_shape=shape_of(x), stride=stride, padding=padding)


def _conv_vjp_w(
    ans: Any, x: Any, w: Any, stride: Any = (1, 1), padding: Any = ((0, 0), (0, 0))
) -> Any:
    return lambda g: conv2d_weight_grad(x, g, w_shape=shape_of(w), stride=stride, padding=padding)


defvjp(_conv2d, _conv_vjp_x, _conv_vjp_w)
defjvp(
    _conv2d,
    lambda t, ans, x, w, **kw: _conv2d(t, w, **kw),
    lambda t, ans, x, w, **kw: _conv2d(x, t, **kw),
)


def _static(kw: dict[str, Any]) -> dict[str, Any]:
    return {"stride": kw["stride"], "padding": kw["padding"]}


# conv2d_input_grad(g, w) = A(w)^T g: linear in g and in w.
defvjp(
    conv2d_input_grad,
    lambda ans, g, w, **kw: lambda h: _conv2d(h, w, **_static(kw)),
    lambda ans, g, w, **kw: lambda h: conv2d_weight_grad(h, g, w_shape=shape_of(w), **_static(kw)),
)
defjvp(
    conv2d_input_grad,
    lambda t, ans, g, w, **kw: conv2d_input_grad(t, w, **kw),
    lambda t, ans, g, w, **kw: conv2d_input_grad(g, t, **kw),
)
# conv2d_weight_grad(x, g) = <g, conv2d(x, .)> as a function of w: linear in x and in g.
defvjp(
    conv2d_weight_grad,
    lambda ans, x, g, **kw: lambda h: conv2d_input_grad(g, h, x_shape=shape_of(x), **_static(kw)),
    lambda ans, x, g, **kw: lambda h: _conv2d(x, h, **_static(kw)),
)
defjvp(
    conv2d_weight_grad,
    lambda t, ans, x, g, **kw: conv2d_weight_grad(t, g, **kw),
    lambda t, ans, x, g, **kw: conv2d_weight_grad(x, t, **kw),
)


def _check_nchw(x: Any, what: str) -> tuple[int, ...]:
    shape = tuple(shape_of(x))
    if len(shape) != 4:
        raise ValueError(f"{what} expects an NCHW array (4 dimensions), got shape {shape}")
    return shape


def conv2d(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = "VALID") -> Any:
    """2-d cross-correlation of NCHW inputs with OIHW weights, plus an optional bias.

    Args:
        x: inputs ``(N, C, H, W)``.
        w: weights ``(out_channels, C, kh, kw)``.
        b: bias ``(out_channels,)`` or None.
        stride: an int or ``(sh, sw)``.
        padding: ``"VALID"``, ``"SAME"``, an int, ``(ph, pw)`` or
            ``((top, bottom), (left, right))``.

    Returns:
        ``(N, out_channels, Ho, Wo)``.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
        >>> tp.nn.conv2d(x, np.ones((1, 1, 2, 2)), stride=2)[0, 0]
        array([[10., 18.],
               [42., 50.]])
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
    pads = _pads(padding, (xs[2], xs[3]), (ws[2], ws[3]), stride)
    if any(
        _out_size(n, k, s, p) < 1 for n, k, s, p in zip(xs[2:], ws[2:], stride, pads, strict=True)
    ):
        raise ValueError(
            f"conv2d: a {ws[2:]} kernel does not fit inputs {xs} with padding {padding!r}"
        )
    y = _conv2d(x, w, stride=stride, padding=pads)
    if b is None:
        return y
    if tuple(shape_of(b)) != (ws[0],):
        raise ValueError(f"conv2d: bias must have shape ({ws[0]},), got {tuple(shape_of(b))}")
    return y + tnp.reshape(b, (1, ws[0], 1, 1))


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
def _np_max_pool2d(
    x: Any,
    window: tuple[int, int] = (2, 2),
    stride: tuple[int, int] = (2, 2),
    padding: Pads = ((0, 0), (0, 0)),
) -> Any:
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


# ----- vmap: the batch folds into the images' N axis ----------------------------------
for _prim, _rows, _shape_kw in (
    (max_pool2d_backward, (0, 1, 2), None),
    (_conv2d, (0,), None),
    (conv2d_input_grad, (0,), "x_shape"),
    (window_gather, (0,), None),
    (window_scatter, (0,), "x_shape"),
    (_max_pool2d, (0,), None),
    (_avg_pool2d, (0,), None),
    (_max_weights, (0, 1), None),
):
    defbatch(_prim, merge_rule(_prim, _rows, _shape_kw))


def _conv2d_weight_grad_rule(args: Any, dims: Any, **kwargs: Any) -> Any:
    """Per-example weight gradients: gather every example's windows once, one einsum."""
    if len(args) != 2:
        return NotImplemented
    size = batch_size(args, dims)
    x, g = (bcast_front(a, d, size) for a, d in zip(args, dims, strict=False))
    w_shape = tuple(kwargs.get("w_shape", ()))
    if len(w_shape) != 4:
        return NotImplemented
    reshape = tnp.reshape
    xs, gs = tuple(shape_of(x)), tuple(shape_of(g))
    merged = reshape(x, (xs[0] * xs[1],) + xs[2:])
    win = window_gather(
        merged,
        window=w_shape[2:],
        stride=tuple(kwargs.get("stride", (1, 1))),
        padding=kwargs.get("padding", ((0, 0), (0, 0))),
    )
    ws = tuple(shape_of(win))  # (B*N, C, Ho, Wo, kh, kw)
    win = reshape(win, (size, xs[1]) + ws[1:])
    if tuple(gs[3:]) != tuple(ws[2:4]):
        return NotImplemented
    out = tnp.einsum("bnchwij,bnohw->bocij", win, g, optimize="greedy")
    return out, 0


defbatch(conv2d_weight_grad, _conv2d_weight_grad_rule)
