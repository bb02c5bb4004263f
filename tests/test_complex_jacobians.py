"""One complex convention (JAX's) across grad, vjp, jvp, jacfwd, jacrev and hessian.

``jacrev(lambda x: x * (1 + 1j))`` used to drop the imaginary part and
``jacfwd(abs)`` at a complex point gave the derivative along the real axis only;
both now raise, as in JAX. ``jnp.linalg.cholesky`` of a complex matrix is
differentiable (with ``holomorphic=True`` in the Jacobians). Expected values come
from closed forms or central differences along the real and imaginary axes.
"""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp

RNG = np.random.default_rng(7)
X = np.array([1.0, 2.0])
Z = np.array([1.0 + 2.0j, 3.0 - 1.0j])


def _hermitian_pd(*batch: int, n: int = 3) -> np.ndarray:
    b = RNG.standard_normal((*batch, n, n)) + 1j * RNG.standard_normal((*batch, n, n))
    return b @ np.swapaxes(b.conj(), -1, -2) + n * np.eye(n)


# ----- ambiguous Jacobians raise, as in JAX ---------------------------------------------
AMBIGUOUS = [
    ("jacrev of a real input's complex output", lambda: tp.jacrev(lambda x: x * (1 + 1j))(X)),
    ("jacrev of a complex input's complex output", lambda: tp.jacrev(tnp.conj)(Z)),
    ("jacfwd of abs at a complex point", lambda: tp.jacfwd(tnp.abs)(Z)),
    ("jacfwd of a complex input", lambda: tp.jacfwd(lambda z: z**2)(Z)),
    ("hessian of a complex input", lambda: tp.hessian(lambda z: tnp.sum(tnp.abs(z) ** 2))(Z)),
    ("jacobian is jacrev", lambda: tp.jacobian(lambda x: x * 1j)(X)),
]


@pytest.mark.parametrize("name,call", AMBIGUOUS, ids=[n for n, _ in AMBIGUOUS])
def test_ambiguous_complex_jacobians_raise(name, call):
    with pytest.raises(TypeError, match="holomorphic=True"):
        call()


HOLOMORPHIC_MISUSE = [
    ("jacrev, real input", lambda: tp.jacrev(lambda z: z**2, holomorphic=True)(X), "inputs"),
    ("jacfwd, real input", lambda: tp.jacfwd(lambda z: z**2, holomorphic=True)(X), "inputs"),
    ("jacrev, real output", lambda: tp.jacrev(tnp.abs, holomorphic=True)(Z), "outputs"),
    ("jacfwd, real output", lambda: tp.jacfwd(tnp.abs, holomorphic=True)(Z), "outputs"),
    ("hessian, real output", lambda: tp.hessian(tnp.abs, holomorphic=True)(Z[0]), "output"),
]


@pytest.mark.parametrize(
    "name,call,what", HOLOMORPHIC_MISUSE, ids=[n for n, *_ in HOLOMORPHIC_MISUSE]
)
def test_holomorphic_requires_complex_inputs_and_outputs(name, call, what):
    with pytest.raises(TypeError, match=f"holomorphic=True.*complex {what}"):
        call()


# ----- what stays defined, with JAX's numbers ----------------------------------------------
def test_jacfwd_of_a_real_input_keeps_the_complex_output():
    np.testing.assert_array_equal(tp.jacfwd(lambda x: x * (1 + 1j))(X), (1 + 1j) * np.eye(2))


def test_jacrev_of_a_real_loss_of_complex_inputs_is_grads_convention():
    # each row is grad of one output entry: d/dx - i d/dy, so |z|^2 gives 2 conj(z)
    jac = tp.jacrev(lambda z: tnp.abs(z) ** 2)(Z)
    np.testing.assert_allclose(jac, np.diag(2 * Z.conj()), rtol=1e-12)
    g = tp.grad(lambda z: tnp.sum(tnp.abs(z) ** 2))(Z)
    np.testing.assert_allclose(np.diag(jac), g, rtol=1e-12)


HOLOMORPHIC = [
    ("square", lambda z: z**2, lambda z: np.diag(2 * z)),
    (
        "exp-times-sum",
        lambda z: tnp.exp(z) * tnp.sum(z),
        lambda z: np.diag(np.exp(z) * np.sum(z)) + np.exp(z)[:, None],
    ),
    (
        "matvec",
        lambda z: np.array([[1.0, 2j], [0.5, -1.0]]) @ z,
        lambda z: np.array([[1.0, 2j], [0.5, -1.0]]),
    ),
]


@pytest.mark.parametrize("name,f,df", HOLOMORPHIC, ids=[n for n, *_ in HOLOMORPHIC])
@pytest.mark.parametrize("jac", [tp.jacrev, tp.jacfwd, tp.jacobian])
def test_holomorphic_jacobians_are_the_complex_derivative(name, f, df, jac):
    np.testing.assert_allclose(jac(f, holomorphic=True)(Z), df(Z), rtol=1e-12)


def test_holomorphic_hessian_and_grad_agree():
    f = lambda z: tnp.sum(z**3)  # noqa: E731
    np.testing.assert_allclose(tp.hessian(f, holomorphic=True)(Z), np.diag(6 * Z), rtol=1e-12)
    np.testing.assert_allclose(tp.grad(f, holomorphic=True)(Z), 3 * Z**2, rtol=1e-12)


# ----- complex Cholesky -------------------------------------------------------------------
def _cholesky_derivative(a: np.ndarray, t: np.ndarray, h: float = 1e-6) -> np.ndarray:
    return (np.linalg.cholesky(a + h * t) - np.linalg.cholesky(a - h * t)) / (2 * h)


@pytest.mark.parametrize("batch", [(), (2,)])
def test_complex_cholesky_jvp_and_vjp(batch):
    a = _hermitian_pd(*batch)
    a = a + np.triu(RNG.standard_normal(a.shape), 1)  # numpy reads the lower triangle only
    t = RNG.standard_normal(a.shape) + 1j * RNG.standard_normal(a.shape)
    u = RNG.standard_normal(a.shape) + 1j * RNG.standard_normal(a.shape)
    out, t_out = tp.jvp(tnp.linalg.cholesky, (a,), (t,))
    np.testing.assert_allclose(out, np.linalg.cholesky(a), rtol=1e-12)
    np.testing.assert_allclose(t_out, _cholesky_derivative(a, t), atol=1e-7)
    _, pull = tp.vjp(tnp.linalg.cholesky, a)
    (ct,) = pull(u)
    # the VJP is the transpose in JAX's pairing Re(sum(u * v))
    assert np.isclose(np.real(np.sum(ct * t)), np.real(np.sum(u * t_out)), rtol=1e-10)


@pytest.mark.parametrize("upper", [False, True])
def test_complex_cholesky_check_grads_to_second_order(upper):
    tp.check_grads(lambda a: tnp.linalg.cholesky(a, upper=upper), (_hermitian_pd(),), order=2)


def test_complex_cholesky_holomorphic_jacobians_are_its_derivative_along_real_directions():
    a = np.array([[4.0 + 0j, 1 - 1j], [1 + 1j, 5.0]])
    want = np.zeros((2, 2, 2, 2), complex)
    for k in np.ndindex(2, 2):
        e = np.zeros((2, 2), complex)
        e[k] = 1.0
        want[(...,) + k] = _cholesky_derivative(a, e)
    np.testing.assert_allclose(tp.jacfwd(tnp.linalg.cholesky, holomorphic=True)(a), want, atol=1e-8)
    # jacrev's rows follow the transpose convention: equal to jacfwd where numpy's read
    # of the matrix is complex-linear (the strict lower triangle), as in JAX
    rev = tp.jacrev(tnp.linalg.cholesky, holomorphic=True)(a)
    np.testing.assert_allclose(rev[..., 1, 0].real, want[..., 1, 0].real, atol=1e-8)


def test_complex_cholesky_gradient_of_a_real_loss():
    a = _hermitian_pd(n=2)

    def loss(m):
        return float(np.sum(np.abs(np.linalg.cholesky(m)) ** 2 * np.arange(1.0, 5.0).reshape(2, 2)))

    g = tp.grad(
        lambda m: tnp.sum(tnp.abs(tnp.linalg.cholesky(m)) ** 2 * np.arange(1.0, 5.0).reshape(2, 2))
    )(a)
    want = np.zeros(a.shape, complex)
    for k in np.ndindex(a.shape):
        e = np.zeros(a.shape, complex)
        e[k] = 1e-6
        dx = (loss(a + e) - loss(a - e)) / 2e-6
        dy = (loss(a + 1j * e) - loss(a - 1j * e)) / 2e-6
        want[k] = dx - 1j * dy
    np.testing.assert_allclose(g, want, atol=1e-6)


# ----- allow_int, has_aux on jvp and linearize ------------------------------------------------
def test_allow_int_gives_float0_gradients():
    g = tp.grad(lambda x, i: x * i, argnums=(0, 1), allow_int=True)(2.0, 3)
    assert float(g[0]) == 3.0 and g[1].dtype == tp.float0 and g[1].shape == ()
    (value, gi) = tp.value_and_grad(lambda d: tnp.sum(d["w"] * d["n"]), allow_int=True)(
        {"w": np.ones(2), "n": np.arange(2)}
    )
    np.testing.assert_array_equal(gi["w"], [0.0, 1.0])
    assert gi["n"].dtype == tp.float0 and gi["n"].shape == (2,) and float(value) == 1.0
    jac = tp.jacrev(lambda x, i: x * i, argnums=(0, 1), allow_int=True)(X, np.array([3, 4]))
    np.testing.assert_array_equal(jac[0], np.diag([3.0, 4.0]))
    assert jac[1].dtype == np.array([3]).dtype and not jac[1].any()
    with pytest.raises(TypeError, match="only float and complex"):
        tp.grad(lambda x, i: x * i, argnums=(0, 1))(2.0, 3)


def test_reduce_axes_other_than_empty_is_refused():
    assert float(tp.grad(lambda x: x * x, reduce_axes=())(3.0)) == 6.0
    with pytest.raises(NotImplementedError, match="no named axes"):
        tp.grad(lambda x: x * x, reduce_axes=("batch",))


def test_jvp_and_linearize_with_aux():
    out, t, aux = tp.jvp(lambda x: (x * 2.0, {"x": x, "tag": "a"}), (1.5,), (1.0,), has_aux=True)
    assert (float(out), float(t), aux["tag"]) == (3.0, 2.0, "a")
    assert not tp.is_traced(aux["x"]) and float(aux["x"]) == 1.5
    out, f_jvp, aux = tp.linearize(lambda x: (tnp.sin(x), x * 3.0), 0.0, has_aux=True)
    assert (float(out), float(f_jvp(2.0)), float(aux)) == (0.0, 2.0, 0.0)
