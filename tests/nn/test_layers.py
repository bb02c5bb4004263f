"""stax-style layers: shapes, parameter structure, determinism, gradients."""

import numpy as np
import pytest

import tapeflow as tp
from tapeflow import nn


def test_lab_network_shapes_params_and_forward():
    init, apply = nn.serial(nn.Dense(256), nn.Sigmoid, nn.Dense(10))
    out_shape, params = init(np.random.default_rng(0), (-1, 784))
    assert out_shape == (-1, 10)
    (w1, b1), act, (w2, b2) = params
    assert act == ()
    assert (w1.shape, b1.shape, w2.shape, b2.shape) == ((784, 256), (256,), (256, 10), (10,))
    assert all(p.dtype == np.float32 for p in (w1, b1, w2, b2))
    x = np.random.default_rng(1).random((3, 784), dtype=np.float32)
    want = (1 / (1 + np.exp(-(x @ w1 + b1)))) @ w2 + b2
    np.testing.assert_allclose(apply(params, x), want, rtol=1e-5, atol=1e-6)


def test_init_is_deterministic_and_dtype_selectable():
    init, _ = nn.serial(nn.Dense(4), nn.Relu, nn.Dense(2))
    _, a = init(np.random.default_rng(7), (-1, 3))
    _, b = init(np.random.default_rng(7), (-1, 3))
    _, c = init(np.random.default_rng(8), (-1, 3))
    _, d = init(np.random.default_rng(7), (-1, 3), np.float64)
    for x, y in zip(tp.tree_util.tree_leaves(a), tp.tree_util.tree_leaves(b), strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0][0], c[0][0])
    assert d[0][0].dtype == np.float64


def test_cnn_shapes_and_gradient():
    init, apply = nn.serial(
        nn.Conv(4, (3, 3), padding="SAME"),
        nn.Relu,
        nn.MaxPool(2),
        nn.Conv(6, 3, strides=2),
        nn.Tanh,
        nn.AvgPool(2, padding="SAME"),
        nn.Flatten,
        nn.Dense(5),
        nn.LogSoftmax,
    )
    out_shape, params = init(np.random.default_rng(0), (-1, 1, 12, 12))
    x = np.random.default_rng(1).random((2, 1, 12, 12), dtype=np.float32)
    y = apply(params, x)
    assert out_shape == (-1, 5) and y.shape == (2, 5) and y.dtype == np.float32
    np.testing.assert_allclose(np.exp(y).sum(-1), 1.0, rtol=1e-5)
    labels = np.array([1, 3])
    grads = tp.grad(lambda p: -np.mean(apply(p, x)[np.arange(2), labels]))(params)
    assert tp.tree_util.tree_structure(grads) == tp.tree_util.tree_structure(params)
    assert all(g.dtype == np.float32 for g in tp.tree_util.tree_leaves(grads))
    assert np.any(grads[0][0] != 0)


def test_every_activation_layer_runs():
    x = np.linspace(-2, 2, 12).reshape(3, 4)
    for layer in (
        nn.Identity,
        nn.Relu,
        nn.Sigmoid,
        nn.Tanh,
        nn.Gelu,
        nn.Elu,
        nn.LeakyRelu,
        nn.Softplus,
        nn.Silu,
        nn.Softmax,
        nn.LogSoftmax,
    ):
        shape, params = layer.init(None, (-1, 4))
        assert shape == (-1, 4) and params == ()
        assert layer.apply(params, x).shape == (3, 4)


def test_dropout_layer_uses_rng_only_in_training():
    init, apply = nn.serial(nn.Dense(50), nn.Dropout(0.5))
    _, params = init(np.random.default_rng(0), (-1, 10))
    x = np.ones((4, 10), np.float32)
    evaluation = apply(params, x)
    np.testing.assert_array_equal(
        evaluation, apply(params, x, train=False, rng=np.random.default_rng(1))
    )
    t1 = apply(params, x, train=True, rng=np.random.default_rng(1))
    t2 = apply(params, x, train=True, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(t1, t2)
    dropped = t1 == 0
    assert 0.3 < dropped.mean() < 0.7
    np.testing.assert_allclose(t1[~dropped], 2 * evaluation[~dropped], rtol=1e-6)
    with pytest.raises(TypeError, match="Generator"):
        apply(params, x, train=True)


def test_layer_norm_layer():
    init, apply = nn.serial(nn.Dense(6), nn.LayerNorm())
    _, params = init(np.random.default_rng(0), (-1, 3))
    y = apply(params, np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32))
    np.testing.assert_allclose(y.mean(-1), 0.0, atol=1e-5)
    np.testing.assert_allclose(y.std(-1), 1.0, rtol=1e-3)


def test_serial_errors_are_clear():
    with pytest.raises(TypeError, match="forget to call"):
        nn.serial(nn.Dense, nn.Relu)
    init, apply = nn.serial(nn.Dense(2), nn.Relu)
    with pytest.raises(TypeError, match="Generator"):
        init(0, (-1, 3))
    _, params = init(np.random.default_rng(0), (-1, 3))
    with pytest.raises(ValueError, match="2 layers"):
        apply(params[:1], np.zeros((1, 3)))


@pytest.mark.parametrize(
    "layer",
    [nn.Dense(4), nn.serial(nn.Dense(4)), nn.Conv(2, 3), nn.LayerNorm(), nn.MaxPool(2), nn.Relu],
    ids=["Dense", "serial", "Conv", "LayerNorm", "MaxPool", "Relu"],
)
def test_an_int_input_shape_is_refused_with_the_tuple_to_write(layer):
    # `init(rng, 784)` for `init(rng, (-1, 784))`: the message shows the tuple form.
    with pytest.raises(TypeError, match=r"batch axis first, such as \(-1, 784\)"):
        layer.init(np.random.default_rng(0), 784)


def test_training_a_tiny_model_reduces_the_loss():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 2)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)  # XOR-like quadrants
    init, apply = nn.serial(nn.Dense(16), nn.Tanh, nn.Dense(2))
    _, params = init(rng, (-1, 2))
    loss = lambda p: nn.softmax_cross_entropy(apply(p, x), y)
    opt = tp.optim.adam(0.05)
    state = opt.init(params)
    first = float(loss(params))
    for _ in range(200):
        params, state = opt.update(tp.grad(loss)(params), state, params)
    assert float(loss(params)) < 0.3 * first
    assert nn.accuracy(apply(params, x), y) > 0.9


def test_second_order_derivatives_through_a_small_cnn():
    init, apply = nn.serial(
        nn.Conv(2, (2, 2), padding="SAME"),
        nn.Softplus,
        nn.MaxPool(2),
        nn.Flatten,
        nn.Dense(3),
        nn.Sigmoid,
        nn.Dense(2),
    )
    _, params = init(np.random.default_rng(0), (-1, 1, 4, 4), np.float64)
    x = np.random.default_rng(1).permutation(32).reshape(2, 1, 4, 4) / 7.0
    labels = np.array([0, 1])
    loss = lambda p: nn.softmax_cross_entropy(apply(p, x), labels)  # noqa: E731
    tp.check_grads(loss, (params,), order=2, modes=("rev", "fwd"))


def test_layers_take_keys_for_init_and_dropout():
    init, apply = nn.serial(nn.Dense(16), nn.Dropout(0.5), nn.Dense(8), nn.Dropout(0.5))
    shape, params = init(tp.random.key(0), (-1, 4))
    _, again = init(tp.random.key(0), (-1, 4))
    assert shape == (-1, 8)
    for a, b in zip(tp.tree_util.tree_leaves(params), tp.tree_util.tree_leaves(again), strict=True):
        np.testing.assert_array_equal(a, b)
    # Each layer gets a key of its own: the Dense layers' weights differ.
    (w1, _), _, (w2, _), _ = params
    assert not np.allclose(w1[:4, :8], w2[:4, :8])
    x = np.ones((3, 4), np.float32)
    key = tp.random.key(1)
    t1 = apply(params, x, rng=key, train=True)
    np.testing.assert_array_equal(t1, apply(params, x, rng=key, train=True))
    assert not np.array_equal(t1, apply(params, x, rng=tp.random.key(2), train=True))
    np.testing.assert_array_equal(apply(params, x, rng=key), apply(params, x))


def test_a_training_step_with_dropout_and_a_key_jits():
    init, apply = nn.serial(nn.Dense(8), nn.Relu, nn.Dropout(0.3), nn.Dense(2))
    _, params = init(tp.random.key(0), (-1, 3))
    x = np.random.default_rng(0).random((5, 3), dtype=np.float32)

    def loss(params, x, key):
        return (apply(params, x, rng=key, train=True) ** 2).sum()

    eager = tp.grad(loss)(params, x, tp.random.key(4))
    jitted = tp.jit(tp.grad(loss))(params, x, tp.random.key(4))
    for a, b in zip(tp.tree_util.tree_leaves(eager), tp.tree_util.tree_leaves(jitted), strict=True):
        np.testing.assert_array_equal(a, b)
