"""The public contract of the core transforms: arguments, pytrees, errors, nesting, depth."""

from __future__ import annotations

import time
from collections import namedtuple

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow.core.trace import active_traces

Params = namedtuple("Params", "w b")


# ----- argnums -----------------------------------------------------------------------------------
def f3(x, y, z):
    return x * y + x * z


def test_chain_rule_lesson_example() -> None:
    value, grads = tp.value_and_grad(f3, argnums=(0, 1, 2))(3.0, 4.0, -5.0)
    assert value == -3.0
    assert grads == (-1.0, 3.0, 3.0)


@pytest.mark.parametrize(
    "argnums, expected",
    [
        (0, -1.0),
        (1, 3.0),
        (2, 3.0),
        (-1, 3.0),
        (-3, -1.0),
        ((0,), (-1.0,)),
        ((2, 0), (3.0, -1.0)),
        ([1, 2], (3.0, 3.0)),
    ],
)
def test_argnums_int_tuple_and_negative(argnums, expected) -> None:
    assert tp.grad(f3, argnums)(3.0, 4.0, -5.0) == expected


@pytest.mark.parametrize(
    "argnums, err, match",
    [
        (3, ValueError, r"argnums=3 refers to argument 3, but the function was called with 3"),
        (-4, ValueError, r"refers to argument -4"),
        ((0, 5), ValueError, r"refers to argument 5"),
        ((), ValueError, r"argnums must name at least one argument"),
        (1.0, TypeError, r"argnums must be an int or a tuple of ints, got 1.0"),
        (("x",), TypeError, r"argnums must be an int or a tuple of ints"),
    ],
)
def test_argnums_errors(argnums, err, match) -> None:
    for transform in (tp.grad, tp.value_and_grad, tp.jacrev, tp.jacfwd, tp.elementwise_grad):
        with pytest.raises(err, match=match):
            transform(f3, argnums)(3.0, 4.0, -5.0)


def test_non_differentiated_arguments_may_be_anything() -> None:
    def loss(w, data, label, flag):
        return tnp.sum(w * data["x"]) * label if flag else 0.0

    g = tp.grad(loss)(np.ones(2), {"x": np.arange(2), "name": "batch"}, 3, True)
    np.testing.assert_allclose(g, [0.0, 3.0])


# ----- has_aux ------------------------------------------------------------------------------------
def test_has_aux_everywhere() -> None:
    def f(x):
        return tnp.sum(x**2), {"norm": tnp.sqrt(tnp.sum(x**2)), "step": 7}

    x = np.array([3.0, 4.0])
    g, aux = tp.grad(f, has_aux=True)(x)
    np.testing.assert_allclose(g, 2 * x)
    assert aux["step"] == 7 and float(aux["norm"]) == 5.0 and not tp.is_traced(aux["norm"])
    (value, aux2), g2 = tp.value_and_grad(f, has_aux=True)(x)
    assert value == 25.0 and aux2["step"] == 7
    out, f_vjp, aux3 = tp.vjp(f, x, has_aux=True)
    np.testing.assert_allclose(f_vjp(1.0)[0], 2 * x)
    assert aux3["step"] == 7
    with pytest.raises(TypeError, match=r"has_aux=True\) needs the function to return a pair"):
        tp.grad(lambda x: tnp.sum(x), has_aux=True)(x)


# ----- pytrees -----------------------------------------------------------------------------------
def test_pytrees_in_and_out_keep_structure_shape_and_dtype() -> None:
    params = {
        "layers": [
            Params(np.ones((2, 3), np.float32), np.zeros(3, np.float32)),
            Params(np.ones((3, 1)), np.zeros(1)),
        ],
        "scale": (2.0, None),
    }

    def loss(p, x):
        h = x
        for layer in p["layers"]:
            h = tnp.tanh(h @ layer.w + layer.b)
        return tnp.sum(h) * p["scale"][0]

    x = np.ones((4, 2), np.float32)
    g = tp.grad(loss)(params, x)
    assert tp.tree_util.tree_structure(g) == tp.tree_util.tree_structure(params)
    assert isinstance(g["layers"][0], Params) and g["scale"][1] is None
    for gl, pl in zip(tp.tree_util.tree_leaves(g), tp.tree_util.tree_leaves(params), strict=True):
        assert np.shape(gl) == np.shape(pl)
        assert np.asarray(gl).dtype == np.asarray(pl).dtype
    tp.check_grads(loss, (params, x), modes=("rev", "fwd"))


def test_pytree_outputs_of_vjp_and_jvp() -> None:
    def f(x):
        return {"pair": (x * 2.0, None), "p": Params(tnp.sum(x), x[0])}

    x = np.arange(3.0)
    out, f_vjp = tp.vjp(f, x)
    ct = {"pair": (np.ones(3), None), "p": Params(1.0, 1.0)}
    np.testing.assert_allclose(f_vjp(ct)[0], [4.0, 3.0, 3.0])
    _, t = tp.jvp(f, (x,), (np.ones(3),))
    assert isinstance(t["p"], Params) and t["pair"][1] is None
    np.testing.assert_allclose(t["pair"][0], 2 * np.ones(3))


def test_dict_of_dicts_jacobian() -> None:
    def f(p):
        return {"y": {"a": p["u"]["x"] * p["v"], "b": tnp.sum(p["u"]["x"])}}

    p = {"u": {"x": np.array([1.0, 2.0])}, "v": 3.0}
    for jac in (tp.jacrev, tp.jacfwd):
        j = jac(f)(p)
        np.testing.assert_allclose(j["y"]["a"]["u"]["x"], 3.0 * np.eye(2))
        np.testing.assert_allclose(j["y"]["a"]["v"], [1.0, 2.0])
        np.testing.assert_allclose(j["y"]["b"]["u"]["x"], [1.0, 1.0])
        assert float(j["y"]["b"]["v"]) == 0.0


# ----- errors -------------------------------------------------------------------------------------
def test_grad_of_non_scalar_output() -> None:
    with pytest.raises(
        TypeError, match=r"scalar output, but it returned shape \(3,\).*vjp.*elementwise_grad"
    ):
        tp.grad(lambda x: x * 2.0)(np.ones(3))
    with pytest.raises(TypeError, match="single scalar output"):
        tp.grad(lambda x: [tnp.sum(x)])(np.ones(3))
    assert active_traces() == ()


@pytest.mark.parametrize(
    "args, argnums, match",
    [
        ((1, 2.0), 0, r"input at argument 0 is an int"),
        ((1.0, True), 1, r"input at argument 1 is a bool"),
        (
            (1.0, {"w": [1.0, np.arange(2)]}),
            1,
            r"input at argument 1\['w'\]\[1\] is an ndarray of dtype int",
        ),
        ((Params(1.0, np.array([True])), 1.0), 0, r"argument 0\.b .*dtype bool"),
    ],
)
def test_integer_and_boolean_arguments_name_their_path(args, argnums, match) -> None:
    def f(a, b):
        return 1.0

    for transform in (tp.grad, tp.jacrev, tp.jacfwd):
        with pytest.raises(TypeError, match=match + ".*only float and complex"):
            transform(f, argnums)(*args)


def test_vjp_cotangent_mismatch() -> None:
    out, f_vjp = tp.vjp(lambda x: {"a": x * 2.0, "b": tnp.sum(x)}, np.ones(3))
    with pytest.raises(ValueError, match=r"cotangent has structure .* output has structure"):
        f_vjp(np.ones(3))
    with pytest.raises(
        ValueError,
        match=r"cotangent at \['a'\] has shape \(2,\), but the output there has shape \(3,\)",
    ):
        f_vjp({"a": np.ones(2), "b": 1.0})
    np.testing.assert_allclose(f_vjp({"a": np.ones(3), "b": 1.0})[0], 3 * np.ones(3))


def test_jvp_tangent_mismatch() -> None:
    f = lambda p: p["x"] * p["y"]  # noqa: E731
    p = {"x": np.ones(3), "y": np.ones(3, np.float32)}
    with pytest.raises(TypeError, match=r"tangents have structure .* primals have structure"):
        tp.jvp(f, (p,), ({"x": np.ones(3)},))
    with pytest.raises(
        ValueError,
        match=r"tangent at \[0\]\['x'\] has shape \(2,\), but the primal has shape \(3,\)",
    ):
        tp.jvp(f, (p,), ({"x": np.ones(2), "y": np.ones(3, np.float32)},))
    with pytest.raises(
        TypeError,
        match=r"tangent at \[0\]\['y'\] has dtype float64, but the primal has dtype float32",
    ):
        tp.jvp(f, (p,), ({"x": np.ones(3), "y": np.ones(3)},))
    with pytest.raises(TypeError, match="as tuples"):
        tp.jvp(f, p, p)
    with pytest.raises(
        TypeError, match=r"input at argument 0 is an ndarray of dtype int|primal .*int"
    ):
        tp.jvp(lambda x: x, (np.arange(3),), (np.arange(3),))
    assert active_traces() == ()


def test_leaked_tracer_fails_clearly_in_a_later_transform() -> None:
    leaked = []
    tp.grad(lambda x: leaked.append(x) or x * 2.0)(1.0)
    tp.jvp(lambda x: leaked.append(x) or x, (1.0,), (1.0,))
    rev, fwd = leaked
    for bad in (rev, fwd):
        with pytest.raises(RuntimeError, match="escaped its transform"):
            tp.grad(lambda y, bad=bad: y * bad)(2.0)
        with pytest.raises(RuntimeError, match="escaped its transform"):
            tp.jvp(lambda y, bad=bad: bad * y, (2.0,), (1.0,))
        with pytest.raises(RuntimeError, match="escaped its transform"):
            tp.hessian(lambda y, bad=bad: tnp.sum(tnp.sin(y) * bad))(np.ones(2))
        with pytest.raises(RuntimeError, match="escaped its transform"):
            bad + 1.0
    assert active_traces() == ()
    # and the next transform is not corrupted
    assert tp.grad(lambda y: y * 3.0)(2.0) == 3.0


@pytest.mark.parametrize(
    "transform",
    [
        lambda f: tp.grad(f)(1.0),
        lambda f: tp.vjp(f, 1.0),
        lambda f: tp.jvp(f, (1.0,), (1.0,)),
        lambda f: tp.hessian(f)(1.0),
        lambda f: tp.jacfwd(f)(1.0),
        lambda f: tp.grad(lambda x: tp.grad(f)(x * 2.0))(1.0),
        lambda f: tp.grad(tp.checkpoint(f))(1.0),
        lambda f: tp.linearize(f, 1.0),
    ],
)
def test_exception_inside_transform_leaves_no_trace(transform) -> None:
    def f(x):
        tnp.sin(x) * 2.0  # some recorded work first
        raise KeyError("user bug")

    with pytest.raises(KeyError, match="user bug"):
        transform(f)
    assert active_traces() == ()
    assert tp.grad(lambda x: x * x)(3.0) == 6.0


# ----- higher order -------------------------------------------------------------------------------
def nth(f, n):
    for _ in range(n):
        f = tp.grad(f)
    return f


@pytest.mark.parametrize("x", [-0.7, 0.3, 1.5])
def test_higher_derivatives_against_closed_forms(x) -> None:
    t = np.tanh(x)
    tanh_d = [t, 1 - t**2, -2 * t * (1 - t**2), (1 - t**2) * (6 * t**2 - 2)]
    e, s, c = np.exp(x), np.sin(x), np.cos(x)
    sinexp_d = [s * e, e * (s + c), 2 * e * c, 2 * e * (c - s)]
    cube_d = [x**3, 3 * x**2, 6 * x, 6.0]
    for f, d in (
        (tnp.tanh, tanh_d),
        (lambda x: tnp.sin(x) * tnp.exp(x), sinexp_d),
        (lambda x: x**3, cube_d),
    ):
        for n in (1, 2, 3):
            assert np.isclose(nth(f, n)(x), d[n], rtol=1e-12, atol=1e-14), (n, f)
        # the same through forward mode and mixed compositions
        assert np.isclose(tp.jacfwd(tp.jacfwd(tp.jacfwd(f)))(x), d[3], rtol=1e-12, atol=1e-14)
        assert np.isclose(tp.jacfwd(tp.hessian(f))(x), d[3], rtol=1e-12, atol=1e-14)
        assert np.isclose(
            tp.jvp(tp.grad(tp.grad(f)), (x,), (1.0,))[1], d[3], rtol=1e-12, atol=1e-14
        )


def test_inner_grad_closing_over_outer_variable() -> None:
    # d/dx [ x * (d/dy x*y)(1) ] = d/dx [ x * x ] = 2x  (no perturbation confusion)
    for x in (-2.0, 0.5, 3.0):
        assert tp.grad(lambda x: x * tp.grad(lambda y: x * y)(1.0))(x) == 2 * x
    assert tp.jacfwd(lambda x: x * tp.jacfwd(lambda y: x * y)(1.0))(3.0) == 6.0


# ----- depth and reuse ----------------------------------------------------------------------------
def test_chain_of_100000_operations() -> None:
    n = 100_000

    def chain(x):
        for _ in range(n // 2):
            x = x * 1.00001
            x = x - 0.000001
        return x

    start = time.perf_counter()
    g = tp.grad(chain)(1.0)
    elapsed = time.perf_counter() - start
    assert np.isclose(g, 1.00001 ** (n // 2), rtol=1e-9)
    assert elapsed < 30.0  # a loose bound: no recursion, no quadratic work


def test_vjp_fn_many_calls_same_answer() -> None:
    x = np.array([0.5, -1.0, 2.0])
    out, f_vjp = tp.vjp(lambda x: tnp.tanh(x) * tnp.sum(x**2), x)
    u = np.array([1.0, 2.0, -1.0])
    first = f_vjp(u)[0]
    for _ in range(5):
        np.testing.assert_array_equal(f_vjp(u)[0], first)
    # and it is linear in the cotangent
    np.testing.assert_allclose(f_vjp(3 * u)[0], 3 * first)
    np.testing.assert_allclose(f_vjp(u)[0] + f_vjp(np.ones(3))[0], f_vjp(u + 1)[0])
    np.testing.assert_allclose(first, tp.jacrev(lambda x: tnp.tanh(x) * tnp.sum(x**2))(x).T @ u)
