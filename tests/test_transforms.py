"""jvp, linearize, jacrev / jacfwd, hessian, hvp, elementwise_grad and their compositions."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow.core.trace import active_traces

RNG = np.random.default_rng(0)


def rand(*shape: int, dtype: type = np.float64) -> np.ndarray:
    return RNG.standard_normal(shape).astype(dtype)


def fd_jacobian(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central-difference Jacobian of an array function of one array."""
    y = np.asarray(f(x))
    jac = np.zeros(y.shape + x.shape)
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = h
        e = e.reshape(x.shape)
        col = (np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h)
        jac[(...,) + np.unravel_index(k, x.shape)] = col
    return jac


# ----- matrix functions used throughout: inputs (2, 3) unless noted -----------------
W = rand(3, 4)
MATRIX_FUNS = {
    "affine_tanh": lambda X: tnp.tanh(X @ W),
    "gram": lambda X: X @ tnp.transpose(X),
    "gram_t": lambda X: tnp.transpose(X) @ X,
    "row_scaled": lambda X: X * tnp.sum(X * X, axis=1, keepdims=True),
    "softmax_rows": lambda X: tnp.exp(X) / tnp.sum(tnp.exp(X), axis=1, keepdims=True),
    "sin_exp": lambda X: tnp.sin(X) * tnp.exp(0.3 * X),
    "column_means": lambda X: tnp.mean(X, axis=0) * tnp.cos(X),
    "scalar_out": lambda X: tnp.sum(tnp.tanh(X) ** 2),
}


# ----- jvp (forward.py) ------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(MATRIX_FUNS))
def test_jvp_matches_finite_differences_and_vjp(name: str) -> None:
    f = MATRIX_FUNS[name]
    X, V = rand(2, 3), rand(2, 3)
    out, t_out = tp.jvp(f, (X,), (V,))
    h = 1e-6
    numeric = (np.asarray(f(X + h * V)) - np.asarray(f(X - h * V))) / (2 * h)
    np.testing.assert_allclose(t_out, numeric, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(out, f(X))
    # <u, J v> == <J^T u, v>
    U = rand(*np.shape(out))
    (ct,) = tp.vjp(f, X)[1](U)
    assert np.isclose(np.sum(U * t_out), np.sum(ct * V), rtol=1e-10)


def test_jvp_pytrees_in_and_out() -> None:
    Point = namedtuple("Point", "x y")

    def f(p, d):
        return {"s": p.x * d["w"], "t": (tnp.sum(p.y * d["w"]), None)}

    p = Point(rand(3), rand(3))
    d = {"w": rand(3)}
    tp_ = Point(rand(3), rand(3))
    td = {"w": rand(3)}
    out, t_out = tp.jvp(f, (p, d), (tp_, td))
    assert set(out) == {"s", "t"} and out["t"][1] is None and t_out["t"][1] is None
    np.testing.assert_allclose(t_out["s"], tp_.x * d["w"] + p.x * td["w"])
    np.testing.assert_allclose(t_out["t"][0], np.sum(tp_.y * d["w"] + p.y * td["w"]))


def test_jvp_keeps_float32_and_gives_zero_tangent_for_constants() -> None:
    x = rand(3, dtype=np.float32)
    out, t = tp.jvp(lambda x: tnp.tanh(x) * 2.0, (x,), (np.ones(3, np.float32),))
    assert out.dtype == np.float32 and t.dtype == np.float32
    out, t = tp.jvp(lambda x: np.ones(2, np.float32), (x,), (x,))
    assert t.dtype == np.float32 and not t.any()


def test_jvp_of_grad_is_hessian_vector_product() -> None:
    x, v = rand(4), rand(4)
    _, t = tp.jvp(tp.grad(lambda x: tnp.sum(x**3)), (x,), (v,))
    np.testing.assert_allclose(t, 6 * x * v)


# ----- check_grads order 2, both modes -----------------------------------------------------
@pytest.mark.parametrize("name", sorted(MATRIX_FUNS))
def test_check_grads_second_order_both_modes(name: str) -> None:
    tp.check_grads(MATRIX_FUNS[name], (rand(2, 3),), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
def test_check_grads_second_order_of_single_precision(dtype) -> None:
    # The finite differences of the derivative functions run at a float64 copy of the
    # point; the directions used to keep their float32 dtype there, and vjp refused them.
    x = (rand(3) + (0.5j * rand(3) if dtype == np.complex64 else 0)).astype(dtype)
    tp.check_grads(lambda x: tnp.sin(x) * x, (x,), order=2, modes=("fwd", "rev"))
    tp.check_grads(lambda x: tnp.real(tnp.sin(x) * x), (x,), order=3, modes=("fwd", "rev"))


def test_check_grads_catches_a_wrong_rule() -> None:
    bad = tp.primitive(np.sin, name="test_transforms.bad_sin")
    tp.defvjp(bad, lambda ans, x: lambda g: g * tnp.cos(x))
    tp.defjvp(bad, lambda t, ans, x: t * tnp.cos(x) * 1.01)
    tp.check_grads(bad, (rand(3),), modes=("rev",))
    with pytest.raises(tp.testing.GradientCheckError, match="forward-mode"):
        tp.check_grads(bad, (rand(3),), modes=("fwd",))


# ----- jacrev / jacfwd ------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(MATRIX_FUNS))
def test_jacfwd_equals_jacrev_and_finite_differences(name: str) -> None:
    f = MATRIX_FUNS[name]
    X = rand(2, 3)
    jr, jf = tp.jacrev(f)(X), tp.jacfwd(f)(X)
    out_shape = np.shape(f(X))
    assert jr.shape == jf.shape == out_shape + (2, 3)
    np.testing.assert_allclose(jr, jf, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(jr, fd_jacobian(lambda x: f(x), X), rtol=1e-6, atol=1e-7)


def test_jacobian_is_jacrev() -> None:
    assert tp.jacobian is tp.jacrev


def test_jacobian_argnums_tuple_and_negative() -> None:
    A, B = rand(2, 3), rand(3)

    def f(a, b):
        return tnp.tanh(a * b)

    for jac in (tp.jacrev, tp.jacfwd):
        ja, jb = jac(f, argnums=(0, 1))(A, B)
        assert ja.shape == (2, 3, 2, 3) and jb.shape == (2, 3, 3)
        np.testing.assert_allclose(jb, jac(f, argnums=-1)(A, B))
        np.testing.assert_allclose(jb, fd_jacobian(lambda b: np.tanh(A * b), B), atol=1e-7)


def test_jacobian_dict_of_dicts() -> None:
    def f(p):
        return {"u": p["a"] * p["b"], "v": tnp.sum(p["a"] ** 2)}

    p = {"a": rand(3), "b": rand(2, 3)}
    jr, jf = tp.jacrev(f)(p), tp.jacfwd(f)(p)
    for j in (jr, jf):
        assert set(j) == {"u", "v"} and set(j["u"]) == {"a", "b"}
        assert j["u"]["a"].shape == (2, 3, 3) and j["u"]["b"].shape == (2, 3, 2, 3)
        assert j["v"]["a"].shape == (3,) and j["v"]["b"].shape == (2, 3)
    for k in ("u", "v"):
        for a in ("a", "b"):
            np.testing.assert_allclose(jr[k][a], jf[k][a], atol=1e-12)
    np.testing.assert_allclose(jr["v"]["a"], 2 * p["a"])
    assert not jr["v"]["b"].any()


def test_jacobian_has_aux_and_float32() -> None:
    x = rand(3, dtype=np.float32)

    def f(x):
        return tnp.sin(x), {"n": 3, "mean": tnp.mean(x)}

    for jac in (tp.jacrev, tp.jacfwd):
        j, aux = jac(f, has_aux=True)(x)
        assert j.dtype == np.float32
        np.testing.assert_allclose(j, np.diag(np.cos(x)), rtol=1e-6)
        assert aux["n"] == 3 and not tp.is_traced(aux["mean"])
        np.testing.assert_allclose(aux["mean"], np.mean(x))


def test_jacobian_of_scalar_input_and_empty_input() -> None:
    assert np.isclose(tp.jacfwd(tnp.sin)(0.5), np.cos(0.5))
    assert np.isclose(tp.jacrev(tnp.sin)(0.5), np.cos(0.5))
    for jac in (tp.jacrev, tp.jacfwd):
        assert jac(lambda x: x * 2.0)(np.zeros((0, 2))).shape == (0, 2, 0, 2)


def test_jacobian_int_output_is_rejected() -> None:
    with pytest.raises(TypeError, match="output at .* float"):
        tp.jacrev(lambda x: (x * 2.0, np.arange(2)))(rand(2))


# ----- hessian -------------------------------------------------------------------------------
def test_hessian_of_quadratic_forms() -> None:
    A, b = rand(4, 4), rand(4)
    x = rand(4)
    H = tp.hessian(lambda x: 0.5 * tnp.dot(x, A @ x) + tnp.dot(b, x))(x)
    np.testing.assert_allclose(H, 0.5 * (A + A.T), atol=1e-12)
    H32 = tp.hessian(lambda x: tnp.dot(x, A.astype(np.float32) @ x))(x.astype(np.float32))
    assert H32.dtype == np.float32
    np.testing.assert_allclose(H32, A + A.T, rtol=1e-5, atol=1e-5)


def rosenbrock(x):
    return tnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_hessian(x: np.ndarray) -> np.ndarray:
    n = x.size
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        H[i + 1, i + 1] += 200
        H[i, i + 1] = H[i + 1, i] = -400 * x[i]
    return H


def test_hessian_of_rosenbrock_closed_form_and_finite_differences() -> None:
    x = np.array([-1.2, 1.0, 0.5, 2.0])
    H = tp.hessian(rosenbrock)(x)
    np.testing.assert_allclose(H, rosenbrock_hessian(x), rtol=1e-12)
    np.testing.assert_allclose(H, fd_jacobian(tp.grad(rosenbrock), x), rtol=1e-6, atol=1e-5)
    assert np.allclose(tp.hessian(rosenbrock)(np.ones(4)), rosenbrock_hessian(np.ones(4)))


def test_hessian_argnums_blocks() -> None:
    def f(x, y):
        return tnp.sum(x**2 * y) + tnp.sum(y**3)

    x, y = rand(2), rand(2)
    (hxx, hxy), (hyx, hyy) = tp.hessian(f, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(hxx, np.diag(2 * y))
    np.testing.assert_allclose(hxy, np.diag(2 * x))
    np.testing.assert_allclose(hyx, np.diag(2 * x))
    np.testing.assert_allclose(hyy, np.diag(6 * y))


def test_hessian_of_non_scalar_output_raises_like_grad() -> None:
    with pytest.raises(
        TypeError, match=r"hessian requires a function with a scalar output.*\(3,\)"
    ):
        tp.hessian(lambda x: x**2)(rand(3))
    with pytest.raises(TypeError, match="single scalar output"):
        tp.hessian(lambda x: (tnp.sum(x), tnp.sum(x)))(rand(3))


def test_hessian_has_aux() -> None:
    H, aux = tp.hessian(lambda x: (tnp.sum(x**3), "tag"), has_aux=True)(np.array([1.0, 2.0]))
    np.testing.assert_allclose(H, np.diag([6.0, 12.0]))
    assert aux == "tag"


# ----- hvp, elementwise_grad, linearize ----------------------------------------------------------
@pytest.mark.parametrize("f", [rosenbrock, lambda x: tnp.sum(tnp.tanh(x) * tnp.sin(x[::-1]))])
def test_hvp_equals_hessian_times_vector(f) -> None:
    x, v = rand(5), rand(5)
    np.testing.assert_allclose(tp.hvp(f, (x,), (v,)), tp.hessian(f)(x) @ v, rtol=1e-10)


def test_hvp_pytree_and_several_arguments() -> None:
    def f(p, s):
        return tnp.sum(p["w"] ** 2 * s) + s**3

    p, s = {"w": rand(3)}, 0.7
    vp, vs = {"w": rand(3)}, 0.3
    hp, hs = tp.hvp(f, (p, s), (vp, vs))
    assert set(hp) == {"w"}
    np.testing.assert_allclose(hp["w"], 2 * s * vp["w"] + 2 * p["w"] * vs)
    np.testing.assert_allclose(hs, np.sum(2 * p["w"] * vp["w"]) + 6 * s * vs)


def test_elementwise_grad() -> None:
    x = rand(2, 3)
    np.testing.assert_allclose(tp.elementwise_grad(tnp.tanh)(x), 1 - np.tanh(x) ** 2)
    gx, gy = tp.elementwise_grad(lambda x, y: x * y, argnums=(0, 1))(x, 2.0 * x)
    np.testing.assert_allclose(gx, 2.0 * x)
    np.testing.assert_allclose(gy, x)
    np.testing.assert_allclose(
        tp.elementwise_grad(tp.elementwise_grad(tnp.sin))(x), -np.sin(x), atol=1e-12
    )


def test_linearize_matches_jvp_and_does_not_rerun_fun() -> None:
    calls = []

    def f(x, y):
        calls.append(1)
        return {"a": tnp.sin(x) * y, "b": tnp.sum(x * x)}

    x, y = rand(3), rand(3)
    out, f_jvp = tp.linearize(f, x, y)
    assert len(calls) == 1
    for _ in range(3):
        tx, ty = rand(3), rand(3)
        expected = tp.jvp(f, (x, y), (tx, ty))[1]
        got = f_jvp(tx, ty)
        np.testing.assert_allclose(got["a"], expected["a"], rtol=1e-12)
        np.testing.assert_allclose(got["b"], expected["b"], rtol=1e-12)
    assert len(calls) == 4  # only the three jvp calls above ran f again
    np.testing.assert_allclose(out["a"], np.sin(x) * y)
    with pytest.raises(ValueError, match=r"tangent at \[0\] has shape \(2,\)"):
        f_jvp(np.ones(2), ty)
    with pytest.raises(TypeError, match="one tangent per primal"):
        f_jvp(tx)


def test_linearize_is_differentiable() -> None:
    def g(x):
        _, f_jvp = tp.linearize(lambda z: tnp.sin(z) * z, x)
        return f_jvp(1.0)

    # g(x) = cos(x) x + sin(x);  g'(x) = -sin(x) x + 2 cos(x)
    assert np.isclose(tp.grad(g)(0.4), -np.sin(0.4) * 0.4 + 2 * np.cos(0.4))


# ----- compositions -------------------------------------------------------------------------------
def test_all_orders_of_composition_agree() -> None:
    f = lambda x: tnp.sum(tnp.sin(x) * tnp.exp(x[::-1]))  # noqa: E731
    x = rand(3)
    ref = tp.hessian(f)(x)
    for h in (
        tp.jacfwd(tp.jacrev(f)),
        tp.jacrev(tp.jacrev(f)),
        tp.jacfwd(tp.jacfwd(f)),
        tp.jacrev(tp.jacfwd(f)),
        tp.jacfwd(tp.grad(f)),
        tp.jacrev(tp.grad(f)),
    ):
        np.testing.assert_allclose(h(x), ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ref, fd_jacobian(tp.grad(f), x), rtol=1e-6, atol=1e-8)
    # Third order: derivative of the Hessian along a direction.
    v = rand(3)
    t3 = tp.jvp(tp.hessian(f), (x,), (v,))[1]
    fd3 = (tp.hessian(f)(x + 1e-5 * v) - tp.hessian(f)(x - 1e-5 * v)) / 2e-5
    np.testing.assert_allclose(t3, fd3, rtol=1e-5, atol=1e-6)
    assert active_traces() == ()


def test_linearize_agrees_with_jvp_on_every_matrix_case() -> None:
    """linearize transposes the recorded backward pass, so every VJP rule must be
    traceable and linear in its cotangent; check it on one shape of each matrix row."""
    from tests.numpy.test_matrix import CASES

    rng = np.random.default_rng(3)
    failures = []
    checked = 0
    for case in CASES:
        if set(case.modes) != {"rev", "fwd"}:
            continue
        args = case.make_args(case.shapes[-1], np.float64)
        tangents = tp.tree_util.tree_map(
            lambda a: np.asarray(rng.standard_normal(np.shape(a))).astype(np.result_type(a)), args
        )
        try:
            _, f_jvp = tp.linearize(case.fun, *args)
            got = tp.tree_util.tree_leaves(f_jvp(*tangents))
            want = tp.tree_util.tree_leaves(tp.jvp(case.fun, args, tangents)[1])
            if not all(
                np.allclose(g, w, rtol=1e-7, atol=1e-9) for g, w in zip(got, want, strict=True)
            ):
                failures.append(f"{case.name}: values differ")
        except Exception as e:  # collect every failing row, not just the first
            failures.append(f"{case.name}: {type(e).__name__}: {e}")
        checked += 1
    assert checked > 50
    assert not failures, "\n".join(failures)


def test_jacobian_family_under_vmap_and_jit() -> None:
    f = lambda x: tnp.sum(tnp.sin(x) * x[::-1])  # noqa: E731
    xs, v = rand(4, 3), rand(3)
    for t in (
        tp.hessian(f),
        tp.jacfwd(tp.grad(f)),
        tp.jacrev(tp.grad(f)),
        lambda x: tp.hvp(f, (x,), (v,)),
        lambda x: tp.linearize(f, x)[1](v),
    ):
        want = np.stack([t(x) for x in xs])
        np.testing.assert_allclose(tp.vmap(t)(xs), want, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(tp.jit(t)(xs[0]), want[0], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(tp.jit(t)(xs[1]), want[1], rtol=1e-12, atol=1e-14)


def test_jacobians_of_a_holomorphic_function() -> None:
    z = np.array([1 + 2j, 3 - 1j])
    f = lambda z: z**2 * tnp.sum(z)  # noqa: E731
    want = np.diag(2 * z * np.sum(z)) + (z**2)[:, None]  # d/dz_k of z_i^2 * sum(z)
    np.testing.assert_allclose(tp.jacrev(f, holomorphic=True)(z), want, rtol=1e-12)
    np.testing.assert_allclose(tp.jacfwd(f, holomorphic=True)(z), want, rtol=1e-12)
    # Without the promise, JAX's convention refuses: the answer would be ambiguous.
    for jac in (tp.jacrev, tp.jacfwd):
        with pytest.raises(TypeError, match="holomorphic=True"):
            jac(f)(z)


# ----- the deprecated direct form (cotangent first) still works, and says so -----------
def test_defvjp_direct_rules_give_the_same_derivatives_to_second_order():
    from tapeflow.testing import check_grads

    def np_scaled_sin(x, y):
        return np.sin(x) * y

    f = tp.primitive(np_scaled_sin, name="scaled_sin_direct_test")
    with pytest.warns(DeprecationWarning, match="tp.defelementwise"):
        tp.defvjp_direct(
            f,
            lambda g, ans, x, y: g * tnp.cos(x) * y,
            lambda g, ans, x, y: g * tnp.sin(x),
        )
    tp.defjvp(
        f,
        lambda t, ans, x, y: t * tnp.cos(x) * y,
        lambda t, ans, x, y: t * tnp.sin(x),
    )
    x, y = np.array([0.3, -1.2, 2.0]), np.array([1.5, 0.5, -2.0])
    check_grads(lambda a, b: tnp.sum(f(a, b) ** 2), (x, y), order=2, modes=("rev", "fwd"))
    # switching a primitive back to the maker form takes effect too
    tp.defvjp(f, lambda ans, x, y: lambda g: g * tnp.cos(x) * y, None)
    assert np.allclose(tp.grad(lambda a: tnp.sum(f(a, y)))(x), np.cos(x) * y)


def test_defvjp_direct_rejects_a_rule_that_is_not_callable_and_keeps_the_old_rules():
    f = tp.primitive(lambda x: 2 * x, name="double_direct_test")
    with pytest.warns(DeprecationWarning):
        tp.defvjp_direct(f, lambda g, ans, x: 2 * g)
        with pytest.raises(TypeError, match="rule for argument 0 must be callable or None"):
            tp.defvjp_direct(f, 3)
    assert tp.grad(f)(1.0) == 2.0
