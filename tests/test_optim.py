"""Optimizers against hand-computed updates, schedules, clipping, purity, dtypes."""

import math

import numpy as np
import pytest

import tapeflow as tp
from tapeflow import optim


def test_sgd_plain_update_by_hand():
    opt = optim.sgd(0.1)
    p = {"w": np.array([1.0, -2.0]), "b": np.array(0.5)}
    g = {"w": np.array([0.5, 1.0]), "b": np.array(-1.0)}
    new, state = opt.update(g, opt.init(p), p)
    np.testing.assert_allclose(new["w"], [0.95, -2.1])
    np.testing.assert_allclose(new["b"], 0.6)


def test_sgd_momentum_and_nesterov_by_hand():
    g1, g2 = np.array([1.0]), np.array([2.0])
    opt = optim.sgd(0.1, momentum=0.9)
    p, s = opt.update(g1, opt.init(np.array([0.0])), np.array([0.0]))
    # v1 = 1, p1 = -0.1; v2 = 0.9 + 2 = 2.9, p2 = -0.1 - 0.29
    p, s = opt.update(g2, s, p)
    np.testing.assert_allclose(p, [-0.39])
    opt = optim.sgd(0.1, momentum=0.9, nesterov=True)
    p, s = opt.update(g1, opt.init(np.array([0.0])), np.array([0.0]))
    np.testing.assert_allclose(p, [-0.1 * (1 + 0.9 * 1)])
    p, s = opt.update(g2, s, p)
    np.testing.assert_allclose(p, [-0.19 - 0.1 * (2 + 0.9 * 2.9)])


def test_adam_two_steps_by_hand():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    p0 = np.array([1.0, -1.0])
    grads = [np.array([0.5, -0.2]), np.array([0.1, 0.3])]
    m = v = np.zeros(2)
    p = p0.copy()
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    opt = optim.adam(lr)
    q, s = p0, opt.init(p0)
    for g in grads:
        q, s = opt.update(g, s, q)
    np.testing.assert_allclose(q, p, rtol=1e-12)
    # First step of Adam moves each coordinate by lr * sign(g) (up to eps).
    q1, _ = opt.update(grads[0], opt.init(p0), p0)
    np.testing.assert_allclose(q1, p0 - lr * np.sign(grads[0]), rtol=1e-6)


def test_adamw_rmsprop_adagrad_by_hand():
    p0, g = np.array([2.0]), np.array([0.5])
    q, _ = optim.adamw(0.1, weight_decay=0.1).update(g, optim.adamw(0.1).init(p0), p0)
    np.testing.assert_allclose(q, 2.0 - 0.1 * (1.0 + 0.1 * 2.0), rtol=1e-6)
    opt = optim.rmsprop(0.1, decay=0.9, eps=0.0)
    q, s = opt.update(g, opt.init(p0), p0)
    np.testing.assert_allclose(q, 2.0 - 0.1 * 0.5 / math.sqrt(0.1 * 0.25))
    opt = optim.adagrad(0.1, eps=0.0)
    q, s = opt.update(g, opt.init(p0), p0)
    q, s = opt.update(g, s, q)
    np.testing.assert_allclose(q, 2.0 - 0.1 * 1.0 - 0.1 * 0.5 / math.sqrt(0.5))


@pytest.mark.parametrize(
    "make",
    [
        lambda: optim.sgd(0.1),
        lambda: optim.sgd(0.1, momentum=0.9),
        lambda: optim.adam(),
        lambda: optim.adamw(),
        lambda: optim.rmsprop(momentum=0.5),
        lambda: optim.adagrad(),
    ],
)
def test_no_mutation_and_dtypes_kept(make):
    opt = make()
    params = [np.ones((2, 2), np.float32), (np.zeros(3, np.float64),)]
    grads = [np.full((2, 2), 0.5, np.float32), (np.ones(3),)]
    before = [x.copy() for x in tp.tree_util.tree_leaves(params)]
    g_before = [x.copy() for x in tp.tree_util.tree_leaves(grads)]
    state = opt.init(params)
    new, state = opt.update(grads, state, params)
    new, state2 = opt.update(grads, state, new)
    for a, b in zip(
        tp.tree_util.tree_leaves(params) + tp.tree_util.tree_leaves(grads),
        before + g_before,
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
    assert new[0].dtype == np.float32 and new[1][0].dtype == np.float64
    assert isinstance(new, list) and isinstance(new[1], tuple)
    assert all(
        x.dtype == np.float32 for x in tp.tree_util.tree_leaves(state2.slots) if x.shape == (2, 2)
    )
    assert state2.step == 2


def test_update_rejects_mismatched_trees():
    opt = optim.sgd(0.1)
    with pytest.raises(ValueError, match=r"only in grads: \[\"\['a'\]\"\]") as info:
        opt.update({"a": np.ones(1)}, opt.init({"b": np.ones(1)}), {"b": np.ones(1)})
    assert "PyTreeDef" not in str(info.value)


@pytest.mark.parametrize("make", [optim.sgd, optim.adam], ids=["sgd", "adam"])
def test_update_with_state_and_params_swapped_says_the_order(make):
    opt = make(0.1)
    params = {"w": np.ones(3)}
    state = opt.init(params)
    with pytest.raises(TypeError, match=r"opt.update\(grads, state, params\)") as info:
        opt.update(params, params, state)
    assert "PyTreeDef" not in str(info.value)
    with pytest.raises(TypeError, match="optimizer state that opt.init"):
        opt.update(params, None, params)


def test_schedules():
    assert optim.constant(0.3)(10**6) == 0.3
    s = optim.step_decay(1.0, 0.1, 100)
    assert (s(0), s(99), s(100)) == (1.0, 1.0, 0.1)
    c = optim.cosine_decay(2.0, 10, alpha=0.1)
    assert c(0) == 2.0 and math.isclose(c(10), 0.2) and math.isclose(c(5), 0.2 + 1.8 * 0.5)
    w = optim.warmup(optim.cosine_decay(1.0, 10), 5)
    assert [w(i) for i in range(5)] == [0.0, 0.2, 0.4, 0.6, 0.8]
    assert w(5) == 1.0 and math.isclose(w(15), 0.0, abs_tol=1e-12)


def test_schedule_drives_the_learning_rate():
    opt = optim.sgd(lambda step: 1.0 / (step + 1))
    p, s = np.array([0.0]), None
    s = opt.init(p)
    for _ in range(3):
        p, s = opt.update(np.array([1.0]), s, p)
    np.testing.assert_allclose(p, [-(1 + 1 / 2 + 1 / 3)])
    with pytest.raises(TypeError, match="learning rate"):
        optim.sgd("fast")


def test_clip_by_global_norm():
    g = {"a": np.array([3.0]), "b": np.array([[4.0]])}
    assert optim.global_norm(g) == 5.0
    c = optim.clip_by_global_norm(g, 1.0)
    np.testing.assert_allclose(c["a"], [0.6])
    np.testing.assert_allclose(c["b"], [[0.8]])
    assert optim.clip_by_global_norm(g, 10.0) is g
    opt = optim.sgd(1.0, clip_norm=1.0)
    p, _ = opt.update(g, opt.init(g), {"a": np.zeros(1), "b": np.zeros((1, 1))})
    np.testing.assert_allclose(p["a"], [-0.6])
