"""conv2d and pooling against naive loop references, and their derivatives."""

import numpy as np
import pytest

import tapeflow as tp
from tapeflow import nn
from tapeflow.nn import conv
from tapeflow.nn import functional as F


def naive_pads(padding, size, window, stride, dilation=(1, 1)):
    window = tuple(d * (k - 1) + 1 for k, d in zip(window, dilation, strict=True))
    if padding == "VALID":
        return [(0, 0), (0, 0)]
    if padding == "SAME":
        pads = []
        for n, k, s in zip(size, window, stride, strict=True):
            out = -(-n // s)
            total = max((out - 1) * s + k - n, 0)
            pads.append((total // 2, total - total // 2))
        return pads
    p = (padding, padding) if isinstance(padding, int) else padding
    return [(p[0], p[0]), (p[1], p[1])]


def naive_conv2d(x, w, stride, padding, dilation=(1, 1)):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    sh, sw = stride
    dh, dw = dilation
    if isinstance(padding, tuple) and isinstance(padding[0], tuple):
        (pt, pb), (pl, pr) = padding
    else:
        (pt, pb), (pl, pr) = naive_pads(padding, (h, wd), (kh, kw), stride, dilation)
    xp = np.zeros((n, c, h + pt + pb, wd + pl + pr))
    xp[:, :, pt : pt + h, pl : pl + wd] = x
    ho = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + pl + pr - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, o, ho, wo))
    for b in range(n):
        for f in range(o):
            for i in range(ho):
                for j in range(wo):
                    for p in range(kh):
                        for q in range(kw):
                            pixel = xp[b, :, i * sh + p * dh, j * sw + q * dw]
                            out[b, f, i, j] += np.sum(pixel * w[f, :, p, q])
    return out


def naive_pool(x, window, stride, padding, kind):
    n, c, h, wd = x.shape
    kh, kw = window
    sh, sw = stride
    (pt, pb), (pl, pr) = naive_pads(padding, (h, wd), window, stride)
    ho = (h + pt + pb - kh) // sh + 1
    wo = (wd + pl + pr - kw) // sw + 1
    out = np.zeros((n, c, ho, wo))
    for b in range(n):
        for ch in range(c):
            for i in range(ho):
                for j in range(wo):
                    vals = []
                    for p in range(kh):
                        for q in range(kw):
                            r, s = i * sh + p - pt, j * sw + q - pl
                            if 0 <= r < h and 0 <= s < wd:
                                vals.append(x[b, ch, r, s])
                    out[b, ch, i, j] = max(vals) if kind == "max" else np.mean(vals)
    return out


CONV_CONFIGS = [
    ((2, 3, 5, 5), (4, 3, 3, 3), (1, 1), "VALID"),
    ((2, 3, 5, 5), (4, 3, 3, 3), (1, 1), "SAME"),
    ((1, 2, 7, 6), (3, 2, 3, 2), (2, 2), "SAME"),
    ((1, 2, 7, 6), (3, 2, 3, 2), (2, 3), "VALID"),
    ((2, 1, 6, 6), (2, 1, 4, 4), (2, 1), 1),
    ((1, 2, 5, 4), (2, 2, 2, 3), (1, 2), (2, 1)),
    ((1, 1, 4, 4), (1, 1, 1, 1), (1, 1), "SAME"),
]

# (x_shape, w_shape, stride, padding, dilation)
DILATED_CONFIGS = [
    ((2, 3, 7, 7), (4, 3, 3, 3), (1, 1), "SAME", (2, 2)),
    ((1, 2, 9, 8), (3, 2, 3, 2), (2, 1), "VALID", (2, 3)),
    ((1, 2, 6, 7), (2, 2, 2, 3), (1, 2), ((3, 0), (0, 2)), (3, 1)),
    ((2, 1, 5, 5), (2, 1, 3, 3), (3, 3), "SAME", (1, 1)),
]


@pytest.mark.parametrize("x_shape,w_shape,stride,padding", CONV_CONFIGS)
def test_conv2d_matches_naive_loops(x_shape, w_shape, stride, padding):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    got = nn.conv2d(x, w, stride=stride, padding=padding)
    np.testing.assert_allclose(got, naive_conv2d(x, w, stride, padding), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("x_shape,w_shape,stride,padding,dilation", DILATED_CONFIGS)
def test_dilated_conv2d_matches_naive_loops_and_check_grads(
    x_shape, w_shape, stride, padding, dilation
):
    rng = np.random.default_rng(6)
    x, w, b = (rng.standard_normal(s) for s in (x_shape, w_shape, w_shape[:1]))
    got = nn.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation)
    want = naive_conv2d(x, w, stride, padding, dilation) + b[:, None, None]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert got.shape == conv.conv_output_shape(
        x_shape, w_shape[0], w_shape[2:], stride, padding, dilation
    )
    tp.check_grads(
        lambda x, w, b: nn.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation),
        (x, w, b),
        order=2,
        modes=("rev", "fwd"),
    )


def test_conv2d_answer_is_channels_last_behind_nchw():
    # The public shape is NCHW; the memory is NHWC, so the next layer's patches and
    # the gradients need no transpose copies (see tapeflow/nn/conv.py).
    x = np.random.default_rng(7).standard_normal((2, 3, 5, 5)).astype(np.float32)
    y = nn.conv2d(x, np.ones((4, 3, 3, 3), np.float32), np.ones(4, np.float32), padding=1)
    assert y.shape == (2, 4, 5, 5) and y.dtype == np.float32
    assert y.transpose(0, 2, 3, 1).flags.c_contiguous
    r = nn.relu(y)
    assert r.transpose(0, 2, 3, 1).flags.c_contiguous  # ufuncs keep the layout
    pooled = nn.max_pool2d(r, 2, 1)
    np.testing.assert_array_equal(
        pooled, naive_pool(np.asarray(r, float), (2, 2), (1, 1), "VALID", "max")
    )


@pytest.mark.parametrize("x_shape,w_shape,stride,padding", CONV_CONFIGS)
def test_conv2d_gradients_match_naive_reference(x_shape, w_shape, stride, padding):
    # The naive reference's gradient, by finite differences, equals tapeflow's VJP.
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    out_shape = naive_conv2d(x, w, stride, padding).shape
    u = rng.standard_normal(out_shape)
    gx, gw = tp.grad(
        lambda x, w: (nn.conv2d(x, w, stride=stride, padding=padding) * u).sum(), (0, 1)
    )(x, w)
    h = 1e-6
    for arr, grad in ((x, gx), (w, gw)):
        d = rng.standard_normal(arr.shape)
        plus = naive_conv2d(
            x + h * d if arr is x else x, w + h * d if arr is w else w, stride, padding
        )
        minus = naive_conv2d(
            x - h * d if arr is x else x, w - h * d if arr is w else w, stride, padding
        )
        numeric = np.sum(u * (plus - minus)) / (2 * h)
        assert np.isclose(np.sum(grad * d), numeric, rtol=1e-6, atol=1e-8)


def test_conv2d_bias_float32_and_check_grads():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    y = nn.conv2d(x, w, b, stride=2, padding="SAME")
    assert y.dtype == np.float32 and y.shape == (2, 4, 3, 3)
    np.testing.assert_allclose(
        y, naive_conv2d(x, w, (2, 2), "SAME") + b[:, None, None], rtol=1e-5, atol=1e-5
    )
    grads = tp.grad(lambda w, b: nn.conv2d(x, w, b, padding="SAME").sum(), (0, 1))(w, b)
    assert [g.dtype for g in grads] == [np.float32, np.float32]
    tp.check_grads(
        lambda x, w, b: nn.conv2d(x, w, b, stride=(1, 2), padding=1),
        (x.astype(float), w.astype(float), b.astype(float)),
        order=2,
        modes=("rev", "fwd"),
    )


POOL_CONFIGS = [
    ((2, 3, 4, 4), (2, 2), None, "VALID"),
    ((1, 2, 5, 5), (2, 2), None, "VALID"),
    ((1, 2, 5, 5), (3, 3), (2, 2), "SAME"),
    ((1, 1, 6, 5), (2, 3), (1, 1), "VALID"),
    ((1, 2, 5, 6), (3, 3), (1, 2), 1),
    ((2, 1, 7, 7), (2, 2), (2, 2), "SAME"),
]


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("x_shape,window,stride,padding", POOL_CONFIGS)
def test_pooling_matches_naive_loops(kind, x_shape, window, stride, padding):
    x = np.random.default_rng(3).standard_normal(x_shape)
    fun = nn.max_pool2d if kind == "max" else nn.avg_pool2d
    got = fun(x, window, stride, padding)
    want = naive_pool(x, window, stride or window, padding, kind)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("x_shape,window,stride,padding", POOL_CONFIGS)
def test_pooling_gradients_against_finite_differences(kind, x_shape, window, stride, padding):
    rng = np.random.default_rng(4)
    # Distinct values keep max pooling away from ties (where it has a kink).
    x = rng.permutation(np.prod(x_shape)).reshape(x_shape) * 0.1 + 0.01 * rng.standard_normal(
        x_shape
    )
    fun = nn.max_pool2d if kind == "max" else nn.avg_pool2d
    tp.check_grads(lambda x: fun(x, window, stride, padding), (x,), order=2, modes=("rev", "fwd"))


def test_max_pool_ties_share_the_gradient():
    x = np.zeros((1, 1, 2, 2))
    g = tp.grad(lambda x: nn.max_pool2d(x, 2).sum())(x)
    np.testing.assert_allclose(g, np.full((1, 1, 2, 2), 0.25))
    x = np.array([[[[1.0, 3.0], [3.0, 0.0]]]])
    g = tp.grad(lambda x: nn.max_pool2d(x, 2).sum())(x)
    np.testing.assert_allclose(g, [[[[0.0, 0.5], [0.5, 0.0]]]])


def test_pooling_float32_preserved():
    x = np.random.default_rng(5).standard_normal((2, 3, 6, 6)).astype(np.float32)
    for fun in (nn.max_pool2d, nn.avg_pool2d):
        assert fun(x, 3, 2, "SAME").dtype == np.float32
        assert tp.grad(lambda x, f=fun: f(x, 3, 2, "SAME").sum())(x).dtype == np.float32


def test_conv_and_pool_argument_errors():
    x = np.zeros((1, 2, 5, 5))
    with pytest.raises(ValueError, match="NCHW"):
        nn.conv2d(np.zeros((2, 5, 5)), np.zeros((1, 2, 3, 3)))
    with pytest.raises(ValueError, match="out_channels, 2"):
        nn.conv2d(x, np.zeros((1, 3, 3, 3)))
    # NHWC input (28x28 images, 1 channel last): the message names the layout and the fix.
    with pytest.raises(ValueError, match=r"NHWC.*transpose\(x, \(0, 3, 1, 2\)\)"):
        nn.conv2d(np.zeros((2, 28, 28, 1)), np.zeros((4, 1, 3, 3)))
    with pytest.raises(ValueError, match="padding"):
        nn.conv2d(x, np.zeros((1, 2, 3, 3)), padding="FULL")
    with pytest.raises(ValueError, match="does not fit"):
        nn.conv2d(x, np.zeros((1, 2, 7, 7)))
    with pytest.raises(ValueError, match="bias"):
        nn.conv2d(x, np.zeros((3, 2, 3, 3)), np.zeros(2))
    with pytest.raises(ValueError, match="window"):
        nn.max_pool2d(x, 7)
    with pytest.raises(ValueError, match="dilation"):
        nn.conv2d(x, np.zeros((1, 2, 3, 3)), dilation=0)
    with pytest.raises(ValueError, match="dilation"):
        nn.conv2d(x, np.zeros((1, 2, 3, 3)), dilation=3)


def test_conv_output_shape_agrees_with_conv2d():
    for x_shape, w_shape, stride, padding in CONV_CONFIGS:
        y = nn.conv2d(np.zeros(x_shape), np.zeros(w_shape), stride=stride, padding=padding)
        assert conv.conv_output_shape(x_shape, w_shape[0], w_shape[2:], stride, padding) == y.shape


@pytest.mark.parametrize("layout", ["nchw", "channels_last", "strided"])
def test_max_pool_tiling_windows_any_memory_layout(layout):
    # Windows that tile the input take the reshape path for C-contiguous and
    # channels-last memory, and the general one otherwise: all three agree, ties too.
    rng = np.random.default_rng(8)
    x = np.maximum(rng.standard_normal((2, 3, 6, 4)), 0).astype(np.float32)  # many 0-ties
    x[0, 0, :2, :2] = 1.5  # a window of four equal maxima
    strided = np.repeat(x, 2, axis=3)[:, :, :, ::2]  # neither layout: the general path
    if layout == "channels_last":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    elif layout == "strided":
        x = strided
    u = rng.standard_normal((2, 3, 3, 2)).astype(np.float32)
    got = nn.max_pool2d(x, 2)
    np.testing.assert_array_equal(got, naive_pool(x.astype(float), (2, 2), (2, 2), "VALID", "max"))
    g = tp.grad(lambda x: (nn.max_pool2d(x, 2) * u).sum())(x)
    general = conv._np_max_pool2d_backward(u, strided, np.asarray(got))
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g, general)
    np.testing.assert_allclose(g[0, 0, :2, :2], np.full((2, 2), u[0, 0, 0, 0] / 4))


@pytest.mark.parametrize("window,stride,padding", [(2, None, "VALID"), (3, 2, "SAME")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_max_pool_and_relu_backward_equals_the_two_kernels(window, stride, padding, dtype):
    # What tp.jit calls for ReLU's derivative of a max-pooling's routed gradient.
    rng = np.random.default_rng(9)
    x = np.maximum(rng.standard_normal((2, 3, 6, 6)), 0).astype(dtype)  # zero ties
    x[0, 1] = -1.0  # a channel without positive entries
    pool = conv._pool_args(x, window, stride, padding, "pool")
    ans = conv._np_max_pool2d(x, **pool)
    g = rng.standard_normal(ans.shape).astype(dtype)
    want = F.relu_grad(conv._np_max_pool2d_backward(g, x, ans, **pool), x)
    got = conv._np_max_pool2d_backward_relu(g, x, ans, **pool)
    assert got.dtype == dtype and got.shape == x.shape
    np.testing.assert_array_equal(got, want)


def test_jit_fuses_max_pool_with_relu_and_runs_relu_in_place(monkeypatch):
    calls = []
    fused = conv._np_max_pool2d_backward_relu

    def spy(*args, **kwargs):
        calls.append(1)
        return fused(*args, **kwargs)

    monkeypatch.setattr(conv, "_np_max_pool2d_backward_relu", spy)
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)

    def loss(w, x):
        h = nn.max_pool2d(nn.relu(nn.conv2d(x, w, padding=1)), 2)
        return (h * h).sum()

    grad = tp.grad(loss)
    compiled = tp.jit(grad)
    np.testing.assert_array_equal(compiled(w, x), grad(w, x))
    assert calls  # one kernel for both derivatives
    assert "out=" in compiled.lower(w, x)  # ReLU writes into the convolution's dying answer
