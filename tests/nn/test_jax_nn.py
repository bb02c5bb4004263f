"""jax.nn's functions in tapeflow.nn: values against numpy formulas, derivatives by check_grads.

Points avoid the kinks (where the conventions are checked separately).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow import nn

X = np.array([-4.5, -2.2, -0.7, 0.3, 1.6, 3.1, 7.4])
POS = np.array([0.05, 0.4, 0.9, 2.5, 30.0])
SELU_A, SELU_S = 1.6732632423543772, 1.0507009873554805
sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
softplus = lambda x: np.logaddexp(x, 0.0)  # noqa: E731
erf = np.vectorize(math.erf)

ELEMENTWISE = [
    ("relu6", nn.relu6, X, lambda x: np.clip(x, 0, 6)),
    ("soft_sign", nn.soft_sign, X, lambda x: x / (np.abs(x) + 1)),
    ("swish", nn.swish, X, lambda x: x * sig(x)),
    ("log_sigmoid", nn.log_sigmoid, X, lambda x: np.log(sig(x))),
    ("hard_sigmoid", nn.hard_sigmoid, X, lambda x: np.clip(x + 3, 0, 6) / 6),
    ("hard_silu", nn.hard_silu, X, lambda x: x * np.clip(x + 3, 0, 6) / 6),
    ("hard_swish", nn.hard_swish, X, lambda x: x * np.clip(x + 3, 0, 6) / 6),
    ("hard_tanh", nn.hard_tanh, X, lambda x: np.clip(x, -1, 1)),
    ("celu", lambda x: nn.celu(x, 0.7), X, lambda x: np.where(x > 0, x, 0.7 * np.expm1(x / 0.7))),
    ("selu", nn.selu, X, lambda x: SELU_S * np.where(x > 0, x, SELU_A * np.expm1(x))),
    ("squareplus", lambda x: nn.squareplus(x, 2.0), X, lambda x: (x + np.sqrt(x * x + 2)) / 2),
    ("mish", nn.mish, X, lambda x: x * np.tanh(softplus(x))),
    (
        "sparse_plus",
        nn.sparse_plus,
        X,
        lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)),
    ),
    ("sparse_sigmoid", nn.sparse_sigmoid, X, lambda x: np.clip(x + 1, 0, 2) / 2),
    ("identity", nn.identity, X, lambda x: x),
    ("log1mexp", nn.log1mexp, POS, lambda x: np.log(-np.expm1(-x))),
    (
        "gelu-exact",
        lambda x: nn.gelu(x, approximate=False),
        X,
        lambda x: x * (1 + erf(x / np.sqrt(2))) / 2,
    ),
    (
        "gelu-tanh",
        lambda x: nn.gelu(x, approximate=True),
        X,
        lambda x: x / 2 * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
    ),
]


@pytest.mark.parametrize("name,f,x,ref", ELEMENTWISE, ids=[r[0] for r in ELEMENTWISE])
def test_activation_values_and_derivatives(name, f, x, ref):
    np.testing.assert_allclose(f(x), ref(x), rtol=1e-12, atol=1e-14)
    tp.check_grads(f, (x,), order=2)


@pytest.mark.parametrize(
    "name,f,corners,slopes",
    [
        ("relu6", nn.relu6, [0.0, 6.0], [0.0, 0.0]),
        ("hard_sigmoid", nn.hard_sigmoid, [-3.0, 3.0], [0.0, 0.0]),
        ("hard_tanh", nn.hard_tanh, [-1.0, 1.0], [1.0, 1.0]),
    ],
)
def test_kink_conventions_are_jaxs(name, f, corners, slopes):
    np.testing.assert_array_equal(tp.elementwise_grad(f)(np.array(corners)), slopes)


M = np.array([[0.3, -1.2, 2.0, 0.7], [1.5, 0.1, -0.4, 2.2]])
MASK = np.array([True, False, True, True])


def _softmax_ref(x, axis, where):
    w = np.broadcast_to(True if where is None else where, x.shape)
    e = np.where(w, np.exp(x - np.max(np.where(w, x, -np.inf), axis=axis, keepdims=True)), 0.0)
    return e / e.sum(axis=axis, keepdims=True)


REDUCTIONS = [
    ("softmax-where", lambda x: nn.softmax(x, where=MASK), lambda x: _softmax_ref(x, -1, MASK)),
    ("softmax-axes", lambda x: nn.softmax(x, axis=(0, 1)), lambda x: _softmax_ref(x, (0, 1), None)),
    ("softmax-none", lambda x: nn.softmax(x, axis=None), lambda x: _softmax_ref(x, None, None)),
    (
        "log_softmax-where",
        lambda x: tnp.where(MASK, nn.log_softmax(x, where=MASK), 0.0),
        lambda x: np.where(MASK, np.log(np.where(MASK, _softmax_ref(x, -1, MASK), 1.0)), 0.0),
    ),
    ("glu", lambda x: nn.glu(x, axis=-1), lambda x: x[:, :2] * sig(x[:, 2:])),
    ("glu-axis0", lambda x: nn.glu(x, axis=0), lambda x: x[:1] * sig(x[1:])),
    ("logsumexp", lambda x: nn.logsumexp(x, axis=1), lambda x: np.log(np.exp(x).sum(1))),
    (
        "logsumexp-where",
        lambda x: nn.logsumexp(x, axis=1, where=MASK, keepdims=True),
        lambda x: np.log(np.where(MASK, np.exp(x), 0).sum(1, keepdims=True)),
    ),
    (
        "logsumexp-sign",
        lambda x: nn.logsumexp(x, axis=1, b=np.array([1.0, -3.0, 0.5, 1.0]), return_sign=True)[0],
        lambda x: np.log(np.abs((np.exp(x) * [1.0, -3.0, 0.5, 1.0]).sum(1))),
    ),
    ("logmeanexp", lambda x: nn.logmeanexp(x, axis=0), lambda x: np.log(np.exp(x).mean(0))),
    (
        "logmeanexp-where",
        lambda x: nn.logmeanexp(x, axis=1, where=MASK),
        lambda x: np.log(np.where(MASK, np.exp(x), 0).sum(1) / 3),
    ),
    (
        "standardize",
        lambda x: nn.standardize(x, axis=1),
        lambda x: (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 1e-5),
    ),
    (
        "standardize-given",
        lambda x: nn.standardize(x, axis=0, mean=0.5, variance=2.0, epsilon=0.0),
        lambda x: (x - 0.5) / np.sqrt(2.0),
    ),
]


@pytest.mark.parametrize("name,f,ref", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
def test_reductions_values_and_derivatives(name, f, ref):
    np.testing.assert_allclose(f(M), ref(M), rtol=1e-12, atol=1e-14)
    tp.check_grads(f, (M,), order=2)


def test_masked_entries_get_no_gradient_and_the_signs():
    g = tp.grad(lambda x: tnp.sum(nn.softmax(x, where=MASK) * np.arange(4.0)))(M)
    np.testing.assert_array_equal(g[:, 1], 0.0)
    w = np.array([True, True, False, True])
    std = nn.standardize(M, where=w)
    ref = (M - M[:, w].mean(1, keepdims=True)) / np.sqrt(M[:, w].var(1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(std, ref, rtol=1e-12)
    _, sign = nn.logsumexp(np.array([0.0, 0.0]), b=np.array([1.0, -2.0]), return_sign=True)
    assert sign == -1.0


def test_one_hot_axis_and_errors():
    np.testing.assert_array_equal(nn.one_hot(np.array([0, 2]), 3, axis=0), np.eye(3)[[0, 2]].T)
    np.testing.assert_array_equal(
        tp.jit(lambda l: nn.one_hot(l, 3, axis=0))(np.array([0, 2])), np.eye(3)[[0, 2]].T
    )
    with pytest.raises(ValueError, match="odd length"):
        nn.glu(np.ones(3))
    with pytest.raises(ValueError, match="algorithm"):
        nn.standardize(M, algorithm="exact")
