"""benchmarks/run.py: the suite's reference implementations compute tapeflow's results.

The hand-written passes and the minimal tape are what tapeflow's timings are divided by;
a reference that computed something else (or less) would make every ratio meaningless.
"""

import numpy as np
import pytest

import benchmarks.run as suite
import tapeflow as tp


@pytest.mark.parametrize("x0", [np.float64(0.5), np.linspace(0.1, 0.9, 1000)], ids=["0-d", "1000"])
@pytest.mark.parametrize("reference", [suite.chain_numpy_grad, suite.chain_minimal_tape])
def test_chain_references_compute_tapeflows_gradient(reference, x0):
    want = tp.grad(suite.chain_tapeflow)(x0)
    np.testing.assert_allclose(reference(x0), want, rtol=1e-12, atol=0)


@pytest.mark.parametrize(
    "step, act",
    [
        (suite.sgd_step_numpy, "sigmoid"),
        (suite.sgd_step_numpy, "relu"),
        (lambda params, x, y, act, lr: suite.minimal_tape_step(params, x, y, lr), "sigmoid"),
    ],
    ids=["hand-written sigmoid", "hand-written relu", "minimal tape sigmoid"],
)
def test_step_references_match_tapeflows_update(step, act):
    x, y = suite.mnist_batch(32, np.float64)
    params = suite.init_mlp([784, 16, 12, 10], np.float64)
    want = suite.sgd_step_tapeflow(params, x, y, act, 0.1)
    got = step(params, x, y, act, 0.1)
    for (w, b), (w2, b2) in zip(want, got, strict=True):
        np.testing.assert_allclose(w2, w, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(b2, b, rtol=1e-10, atol=1e-12)


def test_cnn_step_reference_matches_tapeflows_step():
    from benchmarks import cnn_step

    x, y = suite.mnist_batch(8, np.float64)
    x = x.reshape(8, 1, 28, 28)
    params = cnn_step.init_params(np.float64)
    eager, compiled, state = cnn_step.tapeflow_steps(params)
    loss_fn = lambda p: tp.nn.softmax_cross_entropy(cnn_step.MODELS["cnn"]["build"]()[1](p, x), y)  # noqa: E731
    want_loss, want_grads = tp.value_and_grad(loss_fn)(params)
    got_loss, got_grads = cnn_step.numpy_grads(params, x, y)
    np.testing.assert_allclose(got_loss, want_loss, rtol=1e-12)
    for got, want in zip(got_grads, cnn_step.weights(want_grads), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-13)
    # Adam by hand, from the same gradients, makes tapeflow's update
    want_p, _ = tp.optim.adam(cnn_step.LR).update(want_grads, state, params)
    got_p, _ = cnn_step.numpy_adam(params, cnn_step.weights(want_grads), (0, *_zeros(params)))
    for got, want in zip(cnn_step.weights(got_p), cnn_step.weights(want_p), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    # and the compiled step replays the eager one bit for bit
    eager_p = cnn_step.weights(eager(params, state, x, y)[0])
    compiled_p = cnn_step.weights(compiled(params, state, x, y)[0])
    for got, want in zip(compiled_p, eager_p, strict=True):
        np.testing.assert_array_equal(got, want)


def _zeros(params):
    from benchmarks import cnn_step

    arrays = cnn_step.weights(params)
    return [np.zeros_like(a) for a in arrays], [np.zeros_like(a) for a in arrays]


def test_cnn_bound_winograd_reference_matches_conv2d():
    from benchmarks import cnn_bound

    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5, 6, 8))
    w = rng.standard_normal((3, 5, 3, 3))
    got = cnn_bound.winograd_forward(x.transpose(0, 2, 3, 1), cnn_bound.winograd_weights(w))
    want = tp.nn.conv2d(x, w, padding="SAME")
    np.testing.assert_allclose(got.transpose(0, 3, 1, 2), want, rtol=1e-12, atol=1e-12)


def test_cnn_bound_numpy_passes_run_and_move_bytes():
    from benchmarks import cnn_bound

    rows = cnn_bound.passes(np.random.default_rng(0), kernels=None)
    assert [r["compiled"] for r in rows] == [None] * len(rows)
    for row in rows:
        row["numpy"]()
        assert row["bytes"] > 0
