"""conv2d and pooling against naive loop references, and their derivatives."""

import numpy as np
import pytest

import tapeflow as tp
from tapeflow import nn
from tapeflow.nn import conv


def naive_pads(padding, size, window, stride):
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


def naive_conv2d(x, w, stride, padding):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    sh, sw = stride
    (pt, pb), (pl, pr) = naive_pads(padding, (h, wd), (kh, kw), stride)
    xp = np.zeros((n, c, h + pt + pb, wd + pl + pr))
    xp[:, :, pt : pt + h, pl : pl + wd] = x
    ho = (h + pt + pb - kh) // sh + 1
    wo = (wd + pl + pr - kw) // sw + 1
    out = np.zeros((n, o, ho, wo))
    for b in range(n):
        for f in range(o):
            for i in range(ho):
                for j in range(wo):
                    patch = xp[b, :, i * sh : i * sh + kh, j * sw : j * sw + kw]
                    out[b, f, i, j] = np.sum(patch * w[f])
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


@pytest.mark.parametrize("x_shape,w_shape,stride,padding", CONV_CONFIGS)
def test_conv2d_matches_naive_loops(x_shape, w_shape, stride, padding):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    got = nn.conv2d(x, w, stride=stride, padding=padding)
    np.testing.assert_allclose(got, naive_conv2d(x, w, stride, padding), rtol=1e-12, atol=1e-12)


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


def test_conv_output_shape_agrees_with_conv2d():
    for x_shape, w_shape, stride, padding in CONV_CONFIGS:
        y = nn.conv2d(np.zeros(x_shape), np.zeros(w_shape), stride=stride, padding=padding)
        assert conv.conv_output_shape(x_shape, w_shape[0], w_shape[2:], stride, padding) == y.shape
