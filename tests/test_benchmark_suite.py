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
