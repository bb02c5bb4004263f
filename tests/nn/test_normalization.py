"""layer_norm, batch_norm, dropout, embedding and the initializers."""

import numpy as np
import pytest

import tapeflow as tp
from tapeflow import nn
from tapeflow.nn import initializers


def test_layer_norm_values_and_gradients():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5))
    gamma, beta = rng.standard_normal(5), rng.standard_normal(5)
    want = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5) * gamma + beta
    np.testing.assert_allclose(nn.layer_norm(x, gamma, beta), want, rtol=1e-10)
    tp.check_grads(nn.layer_norm, (x, gamma, beta), order=2, modes=("rev", "fwd"))
    y = nn.layer_norm(rng.standard_normal((2, 3, 4)), axis=(1, 2))
    np.testing.assert_allclose(y.reshape(2, -1).mean(-1), 0.0, atol=1e-12)


def test_batch_norm_train_and_eval():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 3)) * 2 + 1
    gamma, beta = np.ones(3), np.zeros(3)
    rm, rv = np.zeros(3), np.ones(3)
    y, m, v = nn.batch_norm(x, gamma, beta, rm, rv, train=True, momentum=0.1)
    np.testing.assert_allclose(y.mean(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(m, 0.1 * x.mean(0))
    np.testing.assert_allclose(v, 0.9 + 0.1 * x.var(0, ddof=1))
    assert rm.sum() == 0 and rv.sum() == 3  # inputs untouched
    y_eval, m2, v2 = nn.batch_norm(x, gamma, beta, m, v, train=False)
    np.testing.assert_allclose(y_eval, (x - m) / np.sqrt(v + 1e-5))
    assert m2 is m and v2 is v
    tp.check_grads(
        lambda x, g, b: nn.batch_norm(x, g, b, rm, rv, train=True)[0],
        (x, rng.standard_normal(3), rng.standard_normal(3)),
        order=2,
        modes=("rev", "fwd"),
    )


def test_batch_norm_nchw_and_inside_grad():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3, 5, 5)).astype(np.float32)
    gamma, beta = np.ones(3, np.float32), np.zeros(3, np.float32)
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)

    def loss(gamma):
        y, m, v = nn.batch_norm(x, gamma, beta, rm, rv, train=True)
        return (y * y).sum(), (m, v)

    g, (m, v) = tp.grad(loss, has_aux=True)(gamma)
    assert g.dtype == np.float32 and m.dtype == np.float32 and v.shape == (3,)
    np.testing.assert_allclose(m, 0.1 * x.mean((0, 2, 3)), rtol=1e-5)


def test_dropout_inverted_scaling_and_determinism():
    x = np.ones((1000,), np.float32)
    y = nn.dropout(x, 0.25, np.random.default_rng(0))
    assert y.dtype == np.float32
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.75)
    assert 0.2 < 1 - kept.mean() < 0.3
    np.testing.assert_array_equal(y, nn.dropout(x, 0.25, np.random.default_rng(0)))
    assert nn.dropout(x, 0.25, None, train=False) is x
    g = tp.grad(lambda x: nn.dropout(x, 0.25, np.random.default_rng(0)).sum())(x)
    np.testing.assert_array_equal(g, y)  # the gradient is the scaled mask
    with pytest.raises(ValueError):
        nn.dropout(x, 1.0, np.random.default_rng(0))
    with pytest.raises(TypeError, match="Generator"):
        nn.dropout(x, 0.5, 0)


def test_embedding_gathers_and_accumulates():
    table = np.arange(12.0).reshape(4, 3)
    ids = np.array([[1, 1], [3, 0]])
    np.testing.assert_array_equal(nn.embedding(ids, table), table[ids])
    g = tp.grad(lambda t: nn.embedding(ids, t).sum())(table)
    np.testing.assert_array_equal(g[:, 0], [1, 2, 0, 1])
    with pytest.raises(TypeError):
        nn.embedding(np.array([0.5]), table)


def test_initializers_shapes_scales_and_determinism():
    rng = np.random.default_rng
    w = initializers.glorot_uniform(rng(0), (400, 200))
    assert w.dtype == np.float32 and abs(w).max() <= np.sqrt(6 / 600)
    assert np.isclose(w.std(), np.sqrt(2 / 600), rtol=0.05)
    h = initializers.he_normal(rng(0), (64, 32, 3, 3))
    assert np.isclose(h.std(), np.sqrt(2 / (32 * 9)), rtol=0.05)
    n = initializers.normal(0.5)(rng(0), (10000,), np.float64)
    assert n.dtype == np.float64 and np.isclose(n.std(), 0.5, rtol=0.05)
    np.testing.assert_array_equal(
        initializers.glorot_uniform(rng(3), (5, 5)), initializers.glorot_uniform(rng(3), (5, 5))
    )
    assert initializers.zeros(None, (2, 2)).sum() == 0
    assert initializers.fans((32, 1, 3, 3)) == (9, 288)
    with pytest.raises(TypeError, match="Generator"):
        initializers.he_normal(0, (2, 2))


def test_dropout_with_a_key_is_a_function_of_the_key():
    x = np.ones((1000,), np.float32)
    key = tp.random.key(0)
    y = nn.dropout(x, 0.25, key)
    assert y.dtype == np.float32
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.75)
    assert 0.2 < 1 - kept.mean() < 0.3
    np.testing.assert_array_equal(y, nn.dropout(x, 0.25, key))  # the key is not consumed
    assert not np.array_equal(y, nn.dropout(x, 0.25, tp.random.key(1)))
    # The mask is uniform(key) >= drop_rate, drawn in x's float type.
    want = (tp.random.uniform(key, (1000,), np.float32) >= 0.25) / np.float32(0.75)
    np.testing.assert_array_equal(y, want)
    g = tp.grad(lambda x: nn.dropout(x, 0.25, key).sum())(x)
    np.testing.assert_array_equal(g, y)  # the gradient is the scaled mask
    assert nn.dropout(x, 0.25, key, train=False) is x


def test_dropout_with_a_key_runs_under_jit_and_vmap():
    x = np.arange(1.0, 13.0).reshape(4, 3)
    key = tp.random.key(3)
    step = tp.jit(lambda x, key: nn.dropout(x, 0.5, key))
    np.testing.assert_array_equal(step(x, key), nn.dropout(x, 0.5, key))
    # A new key each call gives a new mask: the mask is not frozen at tracing time.
    masks = {tuple((step(x, tp.random.fold_in(key, i)) == 0).ravel()) for i in range(8)}
    assert len(masks) > 1
    keys = tp.random.split(key, 4)
    per_example = tp.vmap(lambda row, k: nn.dropout(row, 0.5, k))(x, keys)
    loop = np.stack([nn.dropout(row, 0.5, k) for row, k in zip(x, keys, strict=True)])
    np.testing.assert_array_equal(per_example, loop)
    jitted = tp.jit(tp.vmap(lambda row, k: nn.dropout(row, 0.5, k)))(x, keys)
    np.testing.assert_array_equal(jitted, loop)


def test_dropout_keeps_refusing_jit_with_a_generator_and_names_bad_keys():
    f = tp.jit(lambda x: nn.dropout(x, 0.5, np.random.default_rng(0)))
    with pytest.raises(TypeError, match="pass a tp.random key instead"):
        f(np.ones(4))
    with pytest.raises(TypeError, match="uint32 array of shape \\(2,\\).*int64"):
        nn.dropout(np.ones(4), 0.5, np.array([1, 2]))
    with pytest.raises(ValueError, match="batch of keys"):
        nn.dropout(np.ones(4), 0.5, tp.random.split(tp.random.key(0), 3))
    with pytest.raises(TypeError, match="Generator.*tp.random key"):
        nn.dropout(np.ones(4), 0.5, "seed")


@pytest.mark.parametrize(
    "init,draw",
    [
        (
            initializers.glorot_uniform,
            lambda k: tp.random.uniform(k, (30, 20), minval=-0.3464, maxval=0.3464),
        ),
        (initializers.he_normal, lambda k: tp.random.normal(k, (30, 20)) * np.sqrt(2 / 30)),
        (initializers.normal(0.5), lambda k: tp.random.normal(k, (30, 20)) * 0.5),
    ],
    ids=["glorot_uniform", "he_normal", "normal(0.5)"],
)
def test_initializers_take_keys(init, draw):
    key = tp.random.key(7)
    w = init(key, (30, 20))
    assert w.dtype == np.float32 and w.shape == (30, 20)
    np.testing.assert_array_equal(w, init(key, (30, 20)))
    np.testing.assert_allclose(w, draw(key), rtol=1e-6, atol=1e-4)  # drawn in float64, cast
    np.testing.assert_array_equal(tp.jit(lambda k: init(k, (30, 20)))(key), w)
    assert init(key, (30, 20), np.float64).dtype == np.float64


def test_initializers_with_keys_keep_their_scales():
    w = initializers.glorot_uniform(tp.random.key(0), (400, 200))
    assert abs(w).max() <= np.sqrt(6 / 600)
    assert np.isclose(w.std(), np.sqrt(2 / 600), rtol=0.05)
    h = initializers.he_normal(tp.random.key(0), (64, 32, 3, 3))
    assert np.isclose(h.std(), np.sqrt(2 / (32 * 9)), rtol=0.05)
    with pytest.raises(TypeError, match="Generator.*tp.random key"):
        initializers.glorot_normal(0, (2, 2))
