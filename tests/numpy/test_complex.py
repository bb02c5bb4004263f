"""Complex inputs: the real-valued-loss convention and ``holomorphic=True``.

Convention (JAX's; documented in docs/coverage.md). Write ``z = x + iy``.

* For a real loss ``L(z)``, ``tp.grad(L)(z) = dL/dx - i dL/dy``, which is
  ``2 dL/dz`` (the Wirtinger derivative with respect to ``z``). Example:
  ``L = |z|^2`` gives ``2 * conj(z)``. The steepest-ascent direction is the
  conjugate, so gradient descent is ``z - lr * conj(g)``.
* For holomorphic ``f``, ``tp.grad(f, holomorphic=True)(z) = f'(z)``.
* ``vjp`` applies the transpose (not the conjugate transpose) of the
  derivative: ``Re sum(u * J v) == Re sum(vjp(u) * v)``; ``jvp`` is the
  ordinary directional derivative.

Every expected value below comes either from a closed form or from central
finite differences along the real and imaginary axes separately.
"""

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp

RNG = np.random.default_rng(0)


def _cplx(*shape, dtype=np.complex128):
    return (RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)).astype(dtype)


def _numeric_grad(loss, z, h=1e-6):
    """dL/dx - i dL/dy for a real loss, entry by entry, by central differences."""
    z = np.asarray(z, np.complex128)
    g = np.zeros(z.shape, np.complex128)
    for j in np.ndindex(z.shape):
        e = np.zeros(z.shape, np.complex128)
        e[j] = 1.0
        dx = (loss(z + h * e) - loss(z - h * e)) / (2 * h)
        dy = (loss(z + 1j * h * e) - loss(z - 1j * h * e)) / (2 * h)
        g[j] = float(np.real(dx)) - 1j * float(np.real(dy))
    return g


# ----- real-valued losses of complex parameters --------------------------------
A = _cplx(3, 3)
REAL_LOSSES = [
    ("abs2-elementwise", lambda z: tnp.sum(tnp.real(z * tnp.conj(z)))),
    ("abs", lambda z: tnp.sum(tnp.abs(z))),
    ("abs-squared", lambda z: tnp.sum(tnp.abs(z) ** 2)),
    ("real-exp", lambda z: tnp.sum(tnp.real(tnp.exp(z)))),
    ("imag-sin", lambda z: tnp.sum(tnp.imag(tnp.sin(z)))),
    ("real-of-product", lambda z: tnp.sum(tnp.real(z * z * (0.5 - 2j)))),
    ("mixed", lambda z: tnp.sum(tnp.real(z) ** 2 * tnp.imag(z) + tnp.abs(z * 1j + 0.3))),
    ("matmul", lambda z: tnp.sum(tnp.abs(A @ z) ** 2)),
    ("matmul-right", lambda z: tnp.sum(tnp.real((z @ A) * tnp.conj(z @ A.T)))),
    ("numpy-ops", lambda z: np.sum(np.abs(np.exp(z) @ A) ** 2)),
]


@pytest.mark.parametrize("name,loss", REAL_LOSSES, ids=[n for n, _ in REAL_LOSSES])
def test_real_loss_gradient_is_dx_minus_i_dy(name, loss):
    z = _cplx(3) if "matmul" not in name and "numpy" not in name else _cplx(3, 3)
    g = tp.grad(loss)(z)
    assert g.dtype == np.complex128 and g.shape == z.shape
    np.testing.assert_allclose(g, _numeric_grad(loss, z), rtol=1e-6, atol=1e-8)


def test_abs_squared_gives_two_conj_z_and_descent_works():
    z = np.array([3.0 + 4.0j, -1.0 + 0.5j])
    loss = lambda z: tnp.sum(tnp.abs(z) ** 2)  # noqa: E731
    g = tp.grad(loss)(z)
    np.testing.assert_allclose(g, 2 * np.conj(z))
    w = z.copy()
    for _ in range(20):
        w = w - 0.1 * np.conj(tp.grad(loss)(w))  # steepest descent uses the conjugate
    assert loss(w) < 1e-3 * loss(z)


def test_abs_gradient_is_conj_sign_and_zero_at_zero():
    z = np.array([3.0 + 4.0j, 0.0 + 0.0j])
    g = tp.grad(lambda z: tnp.sum(tnp.abs(z)))(z)
    np.testing.assert_allclose(g, [0.6 - 0.8j, 0.0])


def test_real_weights_with_complex_intermediates_get_real_gradients():
    W = RNG.standard_normal((3, 3))
    z = _cplx(3)
    loss = lambda W: tnp.sum(tnp.abs(W @ z) ** 2)  # noqa: E731
    g = tp.grad(loss)(W)
    assert g.dtype == np.float64
    h = 1e-6
    numeric = np.zeros_like(W)
    for j in np.ndindex(W.shape):
        e = np.zeros_like(W)
        e[j] = h
        numeric[j] = (loss(W + e) - loss(W - e)) / (2 * h)
    np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-8)


# ----- holomorphic functions --------------------------------------------------------
HOLOMORPHIC = [
    ("exp", lambda z: tnp.exp(z), lambda z: np.exp(z)),
    ("sin", lambda z: tnp.sin(z), lambda z: np.cos(z)),
    ("cube", lambda z: z**3, lambda z: 3 * z**2),
    ("reciprocal", lambda z: 1.0 / z, lambda z: -1.0 / z**2),
    ("log", lambda z: tnp.log(z), lambda z: 1.0 / z),
    ("product", lambda z: z * tnp.exp(z) * (2 - 1j), lambda z: (1 + z) * np.exp(z) * (2 - 1j)),
    ("np-tanh", lambda z: np.tanh(z), lambda z: 1 - np.tanh(z) ** 2),
]


@pytest.mark.parametrize("name,f,df", HOLOMORPHIC, ids=[n for n, _, _ in HOLOMORPHIC])
def test_holomorphic_grad_is_complex_derivative(name, f, df):
    z = 0.7 - 0.4j
    g = tp.grad(f, holomorphic=True)(z)
    np.testing.assert_allclose(g, df(z), rtol=1e-10)
    h = 1e-6  # the derivative is the same along the real and the imaginary axis
    np.testing.assert_allclose(g, (f(z + h) - f(z - h)) / (2 * h), rtol=1e-6)
    np.testing.assert_allclose(g, (f(z + 1j * h) - f(z - 1j * h)) / (2j * h), rtol=1e-6)


def test_holomorphic_matmul_and_sum_of_arrays():
    z = _cplx(3)
    f = lambda z: tnp.sum(A @ (z * z))  # noqa: E731
    g = tp.grad(f, holomorphic=True)(z)
    np.testing.assert_allclose(g, 2 * z * A.sum(axis=0), rtol=1e-12)


def test_holomorphic_second_derivative():
    f = lambda z: z**4  # noqa: E731
    z = 0.3 + 1.1j
    d2 = tp.grad(tp.grad(f, holomorphic=True), holomorphic=True)(z)
    np.testing.assert_allclose(d2, 12 * z**2, rtol=1e-12)


def test_holomorphic_keeps_complex64():
    z = np.complex64(0.5 + 0.25j)
    g = tp.grad(lambda z: tnp.exp(z) * z, holomorphic=True)(z)
    assert np.result_type(g) == np.complex64
    np.testing.assert_allclose(g, np.exp(z) * (1 + z), rtol=1e-5)


def test_complex_output_without_holomorphic_raises():
    with pytest.raises(TypeError, match="holomorphic=True"):
        tp.grad(tnp.exp)(1.0 + 1.0j)


def test_holomorphic_requires_complex_inputs_and_outputs():
    with pytest.raises(TypeError, match="requires complex inputs"):
        tp.grad(tnp.exp, holomorphic=True)(1.0)
    with pytest.raises(TypeError, match="requires a complex output"):
        tp.grad(lambda z: tnp.abs(z), holomorphic=True)(1.0 + 1.0j)


# ----- vjp and jvp with complex values ------------------------------------------------
def test_vjp_is_the_transpose_and_jvp_the_directional_derivative():
    f = lambda z: tnp.exp(z) * tnp.conj(z) + tnp.abs(z)  # noqa: E731  (not holomorphic)
    z, v, u = _cplx(4), _cplx(4), _cplx(4)
    h = 1e-6
    numeric_jv = (f(z + h * v) - f(z - h * v)) / (2 * h)
    _, jv = tp.jvp(f, (z,), (v,))
    np.testing.assert_allclose(jv, numeric_jv, rtol=1e-6, atol=1e-8)
    _, f_vjp = tp.vjp(f, z)
    (ju,) = f_vjp(u)
    np.testing.assert_allclose(np.real(np.sum(ju * v)), np.real(np.sum(u * numeric_jv)), rtol=1e-6)


# ----- finite-difference checks of primitives on complex inputs -----------------------
COMPLEX_PRIMITIVES = [
    ("exp", lambda z: tnp.exp(z)),
    ("log", lambda z: tnp.log(z)),
    ("sin-cos", lambda z: tnp.sin(z) * tnp.cos(z)),
    ("tanh", lambda z: tnp.tanh(z)),
    ("sqrt", lambda z: tnp.sqrt(z)),
    ("power", lambda z: z**3 - 1.0 / z),
    ("multiply-broadcast", lambda z: z * z[:1] + (0.5 - 1j)),
    ("matmul", lambda z: A[:2, :2] @ z @ z.T),
    ("abs", lambda z: tnp.abs(z)),
    ("real-imag-conj", lambda z: tnp.real(z) * tnp.imag(z) + tnp.conj(z) * z),
    ("sum-mean", lambda z: tnp.sum(z, axis=0) * tnp.mean(z)),
    ("shape", lambda z: tnp.reshape(tnp.transpose(z), (-1,))[::2]),
    ("at-set", lambda z: tnp.at(z)[0].set(z[1] * 2j)),
    ("numpy-dispatch", lambda z: np.exp(np.sum(z * z, axis=1))),
]


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@pytest.mark.parametrize("name,fun", COMPLEX_PRIMITIVES, ids=[n for n, _ in COMPLEX_PRIMITIVES])
def test_complex_primitives_against_finite_differences(name, fun, dtype):
    z = np.array([[0.9, 1.3], [0.6, -1.1]]) + 1j * np.array([[0.4, -0.7], [1.2, 0.5]])
    z = z.astype(dtype)
    order = 2 if dtype == np.complex128 else 1
    tp.check_grads(fun, (z,), order=order, modes=("rev", "fwd"))


# ----- a real value that meets a complex one keeps a real cotangent --------------------
# On a real intermediate, matmul, stack/concatenate and solve used to pass on the
# imaginary part of a complex cotangent. The replay now gives every cotangent its
# argument's dtype, whatever the rule computed. Expected values: closed forms, and the
# solve row by finite differences along the real and imaginary axes.
_Z = np.array([1 + 1j, 0.5 - 2j])
_Y = np.array([2 + 1j, -1 + 3j])
_A2 = np.array([[2 + 1j, 1j], [1.0, -1 + 3j]])
REAL_MEETS_COMPLEX = [
    ("matmul", lambda z: tnp.sum(tnp.real(tnp.real(z) @ _Y)), np.real(_Y)),
    ("matmul-operator-np", lambda z: np.sum(np.real(np.real(z) @ _Y)), np.real(_Y)),
    ("dot", lambda z: tnp.real(tnp.dot(tnp.real(z), _Y)), np.real(_Y)),
    ("dot-np", lambda z: np.real(np.dot(np.real(z), _Y)), np.real(_Y)),
    ("stack", lambda z: tnp.sum(tnp.real(tnp.stack([tnp.real(z), _Y]) * 1j)), np.zeros(2)),
    ("stack-np", lambda z: np.sum(np.real(np.stack([np.real(z), _Y]) * 1j)), np.zeros(2)),
    (
        "concatenate",
        lambda z: tnp.sum(tnp.real(tnp.concatenate([tnp.real(z), _Y]) * 1j)),
        np.zeros(2),
    ),
    (
        "solve",
        lambda z: tnp.sum(tnp.real(tnp.linalg.solve(_A2, tnp.abs(z)))),
        np.array([0.37942315 - 0.37942315j, -0.05915503 - 0.23662012j]),
    ),
    (
        "solve-np",
        lambda z: np.sum(np.real(np.linalg.solve(_A2, np.abs(z)))),
        np.array([0.37942315 - 0.37942315j, -0.05915503 - 0.23662012j]),
    ),
]


@pytest.mark.parametrize(
    "name,loss,want", REAL_MEETS_COMPLEX, ids=[n for n, _, _ in REAL_MEETS_COMPLEX]
)
def test_real_intermediate_meeting_complex_gets_a_real_cotangent(name, loss, want):
    g = tp.grad(loss)(_Z)
    np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(g, _numeric_grad(loss, _Z), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_replay_casts_whatever_a_rule_returns(dtype):
    # A user rule that forgets: it returns a complex (and widened) cotangent for a real
    # argument. The replay keeps the real part in the argument's dtype, in one place.
    careless = tp.primitive(lambda x: 2.0 * x, name="test_complex.careless")
    tp.defvjp(careless, lambda ans, x: lambda g: np.asarray(g, np.complex128) * (2 + 5j))
    tp.defjvp(careless, lambda t, ans, x: 2.0 * t)
    x = np.array([0.5, -1.0], dtype)
    # careless's argument is real but computed from a complex value: an imaginary part
    # left in its cotangent would reach x through the complex product.
    g = tp.grad(lambda x: tnp.sum(careless(tnp.real(x * (1 + 2j)))))(x)
    assert g.dtype == dtype
    np.testing.assert_allclose(g, [2.0, 2.0], rtol=1e-6)  # the real part of the rule, 2
