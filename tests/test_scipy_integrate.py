"""tapeflow.scipy.integrate.odeint against SciPy's values, closed forms and finite differences.

The matrix (tests/numpy/spec_scipy_integrate.py) checks both modes to second order on
small systems; here: values equal SciPy's, the adjoint gradients match closed forms and
central differences in every argument (times included), forward and reverse mode agree,
``vmap`` equals a loop, and the errors name what is unsupported.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow.scipy.integrate import odeint

si = pytest.importorskip("scipy.integrate", reason="SciPy is the reference for these values")

TIGHT = {"rtol": 1e-11, "atol": 1e-11}


def lotka_volterra(y, t, params):  # noqa: ANN001, ANN201
    a, b = params["prey"]
    c, d = params["predator"]
    return tnp.stack([a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]])


def forced(y, t, k, amplitude):  # noqa: ANN001, ANN201
    return tnp.stack([y[1], -k * y[0] + amplitude * tnp.sin(2.0 * t)])


PARAMS = {"prey": np.array([1.1, 0.4]), "predator": np.array([0.4, 0.1])}
TIMES = np.array([0.0, 0.3, 1.1, 2.0, 3.5])


def _numpy(fun, *args):  # noqa: ANN001, ANN002, ANN202
    """``fun`` for SciPy: the same code on plain arrays."""
    return lambda y, t: np.asarray(fun(y, t, *args))


@pytest.mark.parametrize(
    "fun,y0,args",
    [
        (lotka_volterra, np.array([10.0, 5.0]), (PARAMS,)),
        (forced, np.array([1.0, 0.0]), (2.0, 0.5)),
    ],
    ids=["pytree-args", "scalar-args"],
)
def test_values_match_scipy(fun, y0, args) -> None:
    ours = odeint(fun, y0, TIMES, args=args, **TIGHT)
    theirs = si.odeint(_numpy(fun, *args), y0, TIMES, **TIGHT)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
    assert ours.shape == (len(TIMES), 2)


def test_tfirst_float32_and_default_tolerances() -> None:
    y0 = np.array([1.0, 0.0], np.float32)
    ours = odeint(lambda t, y, k: forced(y, t, k, 0.0), y0, TIMES, args=(3.0,), tfirst=True)
    theirs = si.odeint(_numpy(forced, 3.0, 0.0), y0.astype(np.float64), TIMES)
    assert ours.dtype == np.float32  # y0's precision (integrated in float64)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


def test_gradients_of_exponential_decay_have_closed_forms() -> None:
    # y = y0 exp(-k (t - t0)): every derivative is known exactly.
    decay = lambda y, t, k: -k * y  # noqa: E731
    y0, k, ts = np.array([2.0]), 0.7, np.array([0.5, 1.5, 3.0])

    def final(y0, ts, k):  # noqa: ANN001, ANN202
        return odeint(decay, y0, ts, args=(k,), **TIGHT)[-1, 0]

    value = 2.0 * np.exp(-k * 2.5)
    g_y0, g_t, g_k = tp.grad(final, argnums=(0, 1, 2))(y0, ts, k)
    np.testing.assert_allclose(g_y0, [value / 2.0], rtol=1e-8)
    np.testing.assert_allclose(g_t, [k * value, 0.0, -k * value], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(g_k, -2.5 * value, rtol=1e-8)
    # Forward mode gives the same numbers.
    _, tangent = tp.jvp(lambda k: final(y0, ts, k), (k,), (1.0,))
    np.testing.assert_allclose(tangent, -2.5 * value, rtol=1e-8)
    # Second derivative in k: 2.5^2 * value.
    np.testing.assert_allclose(
        tp.grad(tp.grad(lambda k: final(y0, ts, k)))(k), 2.5**2 * value, rtol=1e-6
    )


def test_every_argument_against_central_differences() -> None:
    y0 = np.array([10.0, 5.0])

    def loss(y0, ts, prey, predator):  # noqa: ANN001, ANN202
        params = {"prey": prey, "predator": predator}
        ys = odeint(lotka_volterra, y0, ts, args=(params,), **TIGHT)
        return tnp.sum(ys * np.arange(1.0, 11.0).reshape(5, 2))

    args = (y0, TIMES, PARAMS["prey"], PARAMS["predator"])
    tp.check_grads(loss, args, order=1, modes=("rev", "fwd"), atol=1e-5, rtol=1e-5)


def test_reverse_and_forward_jacobians_agree() -> None:
    fun = lambda y0, ts, k: odeint(forced, y0, ts, args=(k, 0.5), **TIGHT)  # noqa: E731
    args = (np.array([1.0, -0.5]), TIMES, 2.0)
    for i in range(3):
        rev = tp.jacrev(fun, argnums=i)(*args)
        fwd = tp.jacfwd(fun, argnums=i)(*args)
        np.testing.assert_allclose(rev, fwd, rtol=1e-7, atol=1e-9)


def test_vmap_over_initial_states_and_parameters_equals_a_loop() -> None:
    y0s = np.array([[1.0, 0.0], [0.5, 0.5], [-1.0, 2.0]])
    ks = np.array([1.0, 2.0, 3.0])
    fun = lambda y0, k: odeint(forced, y0, TIMES, args=(k, 0.5), **TIGHT)  # noqa: E731
    batched = tp.vmap(fun)(y0s, ks)
    loop = np.stack([fun(y0s[i], ks[i]) for i in range(3)])
    np.testing.assert_allclose(batched, loop, rtol=1e-8, atol=1e-10)
    shared = tp.vmap(lambda k: fun(y0s[0], k))(ks)
    np.testing.assert_allclose(shared, np.stack([fun(y0s[0], k) for k in ks]), rtol=1e-8)
    grads = tp.vmap(tp.grad(lambda y0, k: tnp.sum(fun(y0, k)), argnums=1))(y0s, ks)
    loop_grads = [tp.grad(lambda k, i=i: tnp.sum(fun(y0s[i], k)))(ks[i]) for i in range(3)]
    np.testing.assert_allclose(grads, loop_grads, rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs,y0,error,match",
    [
        ({"Dfun": lambda y, t: None}, np.ones(1), NotImplementedError, "Dfun"),
        ({"full_output": True}, np.ones(1), NotImplementedError, "full_output"),
        ({}, np.ones(1) * (1 + 1j), TypeError, "complex"),
    ],
)
def test_errors_name_the_problem(kwargs, y0, error, match: str) -> None:
    with pytest.raises(error, match=match):
        odeint(lambda y, t: -y, y0, TIMES, **kwargs)


def test_without_scipy_the_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "scipy.integrate", None)  # import scipy.integrate fails
    with pytest.raises(ImportError, match=r"tapeflow\[scipy\]"):
        odeint(lambda y, t: -y, np.ones(1), TIMES)


def test_lists_scalars_and_integer_args_as_scipy_takes_them() -> None:
    decay = lambda y, t, k, n: -k * y**n  # noqa: E731
    ours = odeint(decay, 1.0, [0.0, 1.0, 2.0], args=(0.5, 2), **TIGHT)
    theirs = si.odeint(lambda y, t: -0.5 * y**2, 1.0, [0.0, 1.0, 2.0], **TIGHT)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    # y(t) = 1 / (1 + k t): the slope in a time passed inside a list is -k y(t)^2.
    g = tp.grad(lambda t1: odeint(decay, 1.0, [0.0, t1, 2.0], args=(0.5, 2), **TIGHT)[1, 0])
    np.testing.assert_allclose(g(1.0), -0.5 / 1.5**2, rtol=1e-9)
    compiled = tp.jit(lambda k: odeint(decay, 1.0, np.array([0.0, 2.0]), args=(k, 2), **TIGHT))
    np.testing.assert_allclose(compiled(0.5)[-1, 0], 0.5, rtol=1e-10)
