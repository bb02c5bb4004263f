"""Activations, losses and linear: values, stability, kink conventions, dtypes, errors.

Derivatives of every primitive against finite differences are in the matrix
(tests/numpy/spec_nn.py); here are the properties a table cannot express.
"""

import math
import warnings

import numpy as np
import pytest

import tapeflow as tp
from tapeflow import nn


def test_relu_derivative_at_zero_is_zero():
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(nn.relu(x), [0.0, 0.0, 2.0])
    np.testing.assert_array_equal(tp.grad(lambda x: nn.relu(x).sum())(x), [0.0, 0.0, 1.0])
    _, t = tp.jvp(nn.relu, (x,), (np.ones(3),))
    np.testing.assert_array_equal(t, [0.0, 0.0, 1.0])


def test_leaky_relu_and_elu_values_and_slopes():
    x = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(nn.leaky_relu(x, 0.1), [-0.2, 0.0, 3.0])
    np.testing.assert_allclose(tp.grad(lambda x: nn.leaky_relu(x, 0.1).sum())(x), [0.1, 0.1, 1.0])
    np.testing.assert_allclose(nn.elu(x), [math.expm1(-2.0), 0.0, 3.0])
    np.testing.assert_allclose(tp.grad(lambda x: nn.elu(x).sum())(x), [math.exp(-2.0), 1.0, 1.0])


def test_activations_are_stable_at_extremes():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings
        s = nn.sigmoid(x)
        sp = nn.softplus(x)
        e = nn.elu(x)
        gs = tp.grad(lambda x: nn.softplus(x).sum())(x)
    np.testing.assert_allclose(s, [0.0, math.exp(-50.0), 0.5, 1.0, 1.0], atol=1e-300)
    np.testing.assert_allclose(sp, [0.0, math.log1p(math.exp(-50.0)), math.log(2.0), 50.0, 1000.0])
    np.testing.assert_allclose(gs, s)
    assert np.all(np.isfinite(e))


def test_gelu_is_close_to_the_erf_form_and_silu_is_x_sigmoid():
    x = np.linspace(-6, 6, 121)
    exact = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x])
    np.testing.assert_allclose(nn.gelu(x), exact, atol=1e-3)
    np.testing.assert_allclose(nn.silu(x), x / (1 + np.exp(-x)))


def test_softmax_and_log_softmax_for_huge_inputs():
    x = np.array([[1000.0, 1001.0, 1002.0], [-1e4, 0.0, 1e4]])
    p = nn.softmax(x)
    np.testing.assert_allclose(p.sum(-1), [1.0, 1.0])
    shifted = np.array([[0.0, 1.0, 2.0]])
    np.testing.assert_allclose(p[0], np.exp(shifted[0]) / np.exp(shifted[0]).sum())
    lp = nn.log_softmax(x)
    assert np.all(np.isfinite(lp))
    np.testing.assert_allclose(lp[1], [-2e4, -1e4, 0.0])
    np.testing.assert_allclose(np.exp(nn.log_softmax(x, axis=0)).sum(0), [1.0, 1.0, 1.0])


def naive_cross_entropy(logits, labels):
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    return -np.mean(np.log(p[np.arange(len(labels)), labels]))


def test_softmax_cross_entropy_value_and_gradient():
    rng = np.random.default_rng(0)
    logits, labels = rng.standard_normal((6, 4)), np.array([0, 1, 2, 3, 3, 1])
    loss, g = tp.value_and_grad(nn.softmax_cross_entropy)(logits, labels)
    assert np.isclose(loss, naive_cross_entropy(logits, labels), rtol=1e-12)
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.testing.assert_allclose(g, (p - np.eye(4)[labels]) / 6, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("scale", [1e3, 1e6, 1e30])
def test_softmax_cross_entropy_is_stable_for_any_logits(scale):
    logits = np.array([[1.0, -1.0, 0.5], [0.0, 2.0, -3.0]]) * scale
    labels = np.array([0, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, g = tp.value_and_grad(nn.softmax_cross_entropy)(logits, labels)
    # Row 0 is confidently right (loss 0), row 1 confidently wrong by 2*scale.
    assert np.isclose(loss, (0.0 + 2.0 * scale) / 2, rtol=1e-12)
    np.testing.assert_allclose(g, [[0.0, 0.0, 0.0], [-0.5, 0.5, 0.0]], atol=1e-12)


def test_softmax_cross_entropy_float32_and_batch_axes():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((2, 3, 5)).astype(np.float32)
    labels = rng.integers(0, 5, (2, 3))
    loss, g = tp.value_and_grad(nn.softmax_cross_entropy)(logits, labels)
    assert loss.dtype == np.float32 and g.dtype == np.float32
    flat = naive_cross_entropy(logits.reshape(6, 5).astype(float), labels.reshape(6))
    assert np.isclose(loss, flat, rtol=1e-5)


def test_softmax_cross_entropy_second_derivative():
    # Hessian-vector product against finite differences of the gradient.
    rng = np.random.default_rng(2)
    logits, labels = rng.standard_normal((3, 4)), np.array([1, 0, 3])
    tp.check_grads(
        lambda x: nn.softmax_cross_entropy(x, labels), (logits,), order=3, modes=("rev", "fwd")
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(5,), (6, 4), (2, 3, 5)])
def test_fused_cross_entropy_gradient_is_the_composed_formula_bit_for_bit(dtype, shape):
    from tapeflow.nn.functional import _softmax_cross_entropy_grad

    rng = np.random.default_rng(5)
    logits = (rng.standard_normal(shape) * 3).astype(dtype)
    labels = rng.integers(0, shape[-1], shape[:-1])
    rows = int(np.prod(shape[:-1]))
    e = np.exp(logits - np.max(logits, axis=-1, keepdims=True))
    e /= np.sum(e, axis=-1, keepdims=True)
    one_hot = (labels[..., None] == np.arange(shape[-1])).astype(dtype)
    want = (e - one_hot) / rows
    fused = _softmax_cross_entropy_grad(logits, labels.astype(np.int32))
    assert fused.dtype == want.dtype == dtype
    assert np.array_equal(fused, want)
    g = tp.grad(lambda x: nn.softmax_cross_entropy(x, labels))(logits)
    assert g.dtype == dtype and np.array_equal(g, want)
    # A cotangent other than grad's 1.0 seed scales the same gradient.
    _, pull = tp.vjp(lambda x: nn.softmax_cross_entropy(x, labels), logits)
    (g2,) = pull(np.asarray(2.0, dtype))
    assert np.array_equal(g2, 2 * want)


def test_cross_entropy_gradient_reuses_the_forward_pass_only_for_the_same_inputs():
    from tapeflow.nn import functional as F

    rng = np.random.default_rng(6)
    logits = rng.standard_normal((4, 3))
    labels = np.array([0, 2, 1, 2])
    want = F._np_softmax_cross_entropy_grad(logits.copy(), labels)
    _, pull = tp.vjp(lambda x: nn.softmax_cross_entropy(x, labels), logits)
    assert F._residual.saved is not None  # kept by the traced forward pass
    # Other logits with the same labels: computed afresh, the kept entry left alone.
    other = logits + 1.0
    fresh = F._np_softmax_cross_entropy_grad(other, labels)
    assert np.array_equal(fresh, F._np_softmax_cross_entropy_grad(other.copy(), labels))
    assert F._residual.saved is not None
    # The pullback takes the kept entry once; pulling again recomputes the same values.
    (g1,) = pull(1.0)
    assert F._residual.saved is None
    (g2,) = pull(1.0)
    assert np.array_equal(g1, want) and np.array_equal(g2, want)
    # Plain (untraced) calls keep nothing.
    nn.softmax_cross_entropy(logits, labels)
    assert F._residual.saved is None and not F._residual.keep


def test_softmax_cross_entropy_gradient_against_finite_differences():
    rng = np.random.default_rng(6)
    for shape in [(4,), (3, 4), (2, 3, 4)]:
        logits, labels = rng.standard_normal(shape), rng.integers(0, shape[-1], shape[:-1])
        tp.check_grads(
            lambda x, labels=labels: nn.softmax_cross_entropy(x, labels),
            (logits,),
            order=2,
            modes=("rev", "fwd"),
        )


def test_softmax_cross_entropy_rejects_bad_labels():
    logits = np.zeros((2, 3))
    with pytest.raises(TypeError, match="integer"):
        nn.softmax_cross_entropy(logits, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="shape"):
        nn.softmax_cross_entropy(logits, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        nn.softmax_cross_entropy(logits, np.array([0, 3]))
    # One reduction checks both ends (signed labels read as unsigned): negative labels of
    # every width, unsigned ones past the end, and plain lists are all caught.
    for bad in ([0, -1], np.array([2, -128], np.int8), np.array([-1, 0], np.int32)):
        with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\), got values from -"):
            nn.softmax_cross_entropy(logits, bad)
    with pytest.raises(ValueError, match=r"\[0, 3\), got values from 0 to 255"):
        nn.softmax_cross_entropy(logits, np.array([0, 255], np.uint8))
    good = nn.softmax_cross_entropy(logits, np.array([2, 0], np.uint8))
    assert np.isclose(good, np.log(3.0))


def test_binary_cross_entropy_with_logits_value_and_stability():
    x, z = np.array([-2.0, 0.5, 3.0]), np.array([0.0, 1.0, 0.3])
    p = 1 / (1 + np.exp(-x))
    want = -np.mean(z * np.log(p) + (1 - z) * np.log(1 - p))
    assert np.isclose(nn.binary_cross_entropy_with_logits(x, z), want, rtol=1e-12)
    big = np.array([1e4, -1e4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = nn.binary_cross_entropy_with_logits(big, np.array([0.0, 1.0]))
    assert np.isclose(loss, 1e4)
    with pytest.raises(ValueError, match="shape"):
        nn.binary_cross_entropy_with_logits(x, z[:2])


def test_mse_one_hot_accuracy():
    assert float(nn.mse(np.array([1.0, 2.0]), np.array([0.0, 0.0]))) == 2.5
    oh = nn.one_hot(np.array([2, 0]), 3)
    assert oh.dtype == np.float32
    np.testing.assert_array_equal(oh, [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(ValueError):
        nn.one_hot(np.array([3]), 3)
    logits = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    assert nn.accuracy(logits, np.array([1, 0, 0])) == pytest.approx(2 / 3)


def test_linear_matches_matmul_plus_bias():
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((5, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2)
    np.testing.assert_allclose(nn.linear(x, w, b), x @ w + b)
    np.testing.assert_allclose(nn.linear(x[0], w, b), x[0] @ w + b)
    gx, gw, gb = tp.grad(lambda x, w, b: (nn.linear(x, w, b) ** 2).sum(), (0, 1, 2))(x, w, b)
    y = x @ w + b
    np.testing.assert_allclose(gw, x.T @ (2 * y))
    np.testing.assert_allclose(gb, (2 * y).sum(0))
    np.testing.assert_allclose(gx, (2 * y) @ w.T)
    with pytest.raises(ValueError, match="in_features"):
        nn.linear(x, w.T, b)
    with pytest.raises(ValueError, match="b must"):
        nn.linear(x, w, np.zeros(3))


def test_float32_network_gradients_stay_float32():
    rng = np.random.default_rng(4)
    x = rng.random((8, 6), dtype=np.float32)
    w1, b1 = rng.standard_normal((6, 5)).astype(np.float32), np.zeros(5, np.float32)
    w2, b2 = rng.standard_normal((5, 3)).astype(np.float32), np.zeros(3, np.float32)
    labels = rng.integers(0, 3, 8)

    def loss(params):
        (w1, b1), (w2, b2) = params
        h = nn.gelu(nn.linear(x, w1, b1)) + nn.sigmoid(nn.linear(x, w1, b1)) + nn.relu(x @ w1)
        return nn.softmax_cross_entropy(nn.linear(h, w2, b2), labels) + nn.mse(h, 0.5)

    value, grads = tp.value_and_grad(loss)([(w1, b1), (w2, b2)])
    assert value.dtype == np.float32
    assert all(g.dtype == np.float32 for pair in grads for g in pair)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (7,), (40, 6)])
def test_sigmoid_first_order_rule_matches_its_formula_bit_for_bit(dtype, shape):
    from tapeflow.nn.functional import _sigmoid_vjp

    rng = np.random.default_rng(3)
    x = np.asarray(rng.standard_normal(shape) * 6, dtype)
    ans = np.asarray(tp.nn.sigmoid(x), dtype)
    g = np.asarray(rng.standard_normal(shape), dtype)
    want = g * (ans * (1 - ans))  # the formula the rule computes in one array
    got = _sigmoid_vjp(g, ans, x)
    assert np.asarray(got).dtype == dtype and np.shape(got) == shape
    assert np.asarray(got).tobytes() == np.asarray(want).tobytes()
    # Mixed dtypes take the formula itself (numpy's promotion decides the result).
    mixed = _sigmoid_vjp(g.astype(np.float64), ans, x)
    assert np.asarray(mixed).dtype == np.float64


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_relu_fast_select_is_numpy_where_bit_for_bit(dtype):
    from tapeflow.nn.functional import _keep_where_positive

    rng = np.random.default_rng(7)
    x = rng.standard_normal((40, 6)).astype(dtype)
    g = rng.standard_normal((6, 40)).astype(dtype).T  # not contiguous
    g[0, :4] = [np.inf, -np.inf, np.nan, -0.0]
    x[0, :4] = -1.0  # units off where g is not finite: the cotangent there is +0.0
    x[1, :2] = [0.0, np.nan]
    ans = np.maximum(x, 0)
    want = np.where(ans > 0, g, 0)
    got = _keep_where_positive(g, ans)
    assert got.dtype == dtype and np.array_equal(got.view(np.uint8), want.view(np.uint8))
    # And through grad and jvp, the values numpy's where gives.
    grad = tp.grad(lambda v: tp.nn.relu(v).sum())(x)
    assert np.array_equal(grad, np.where(ans > 0, dtype(1), dtype(0)))
    _, tangent = tp.jvp(tp.nn.relu, (x,), (g.copy(),))
    assert np.array_equal(tangent.view(np.uint8), np.where(x > 0, g, 0).view(np.uint8))
