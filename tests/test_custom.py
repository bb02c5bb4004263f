"""custom_vjp, custom_jvp and stop_gradient under every transform."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow.core.trace import active_traces


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + np.exp(-x))


# ----- the documented example: a stable gradient for log(1 + exp(x)) -------------------------
@tp.custom_vjp
def log1pexp(x):
    # max(x, 0) + log(1 + exp(-|x|)): exp never overflows
    return tnp.where(x > 0, x, 0.0) + tnp.log(1.0 + tnp.exp(-tnp.abs(x)))


def _log1pexp_fwd(x):
    return log1pexp(x), x


def _log1pexp_bwd(x, g):
    # g * sigmoid(x), written so that exp never overflows to inf/inf
    e = tnp.exp(-tnp.abs(x))
    return (g * tnp.where(x > 0, 1.0 / (1.0 + e), e / (1.0 + e)),)


log1pexp.defvjp(_log1pexp_fwd, _log1pexp_bwd)


def naive_log1pexp(x):
    return tnp.log(1.0 + tnp.exp(x))


def test_log1pexp_gradient_is_stable_where_the_naive_one_is_not() -> None:
    with np.errstate(over="ignore", invalid="ignore"):
        assert np.isnan(tp.grad(naive_log1pexp)(800.0))
    assert log1pexp(800.0) == 800.0
    assert tp.grad(log1pexp)(800.0) == 1.0
    assert tp.grad(log1pexp)(-800.0) == 0.0
    for x in (-3.0, 0.0, 2.5):
        assert np.isclose(tp.grad(log1pexp)(x), sigmoid(x), rtol=1e-14)


def test_custom_vjp_under_every_transform() -> None:
    x = np.array([-1.0, 0.3, 2.0])
    s = sigmoid(x)
    np.testing.assert_allclose(tp.elementwise_grad(log1pexp)(x), s)
    out, f_vjp = tp.vjp(log1pexp, x)
    np.testing.assert_allclose(out, np.log1p(np.exp(x)))
    for _ in range(3):  # a vjp_fn can be called many times
        np.testing.assert_allclose(f_vjp(2 * np.ones(3))[0], 2 * s)
    # second order differentiates bwd: d/dx sigmoid(x)
    np.testing.assert_allclose(tp.elementwise_grad(tp.elementwise_grad(log1pexp))(x), s * (1 - s))
    np.testing.assert_allclose(tp.hessian(lambda x: tnp.sum(log1pexp(x)))(x), np.diag(s * (1 - s)))
    # forward mode transposes bwd
    _, t = tp.jvp(log1pexp, (x,), (np.ones(3),))
    np.testing.assert_allclose(t, s)
    np.testing.assert_allclose(tp.jacfwd(log1pexp)(x), np.diag(s))
    np.testing.assert_allclose(
        tp.jacrev(tp.jacfwd(lambda x: tnp.sum(log1pexp(x))))(x), np.diag(s * (1 - s))
    )
    tp.check_grads(log1pexp, (x,), order=2, modes=("fwd", "rev"))
    assert active_traces() == ()


# ----- a gradient that differs from the true derivative: the rule must be the one used --------
@tp.custom_vjp
def clip_gradient(x, lo, hi):
    return x


clip_gradient.defvjp(
    lambda x, lo, hi: (x, (lo, hi)),
    lambda res, g: (tnp.where(g < res[0], res[0], tnp.where(g > res[1], res[1], g)), None, None),
)


def test_clipped_gradient() -> None:
    f = lambda x: tnp.sum(3.0 * clip_gradient(x, -1.0, 1.0) * np.array([1.0, -0.1, -1.0]))  # noqa: E731
    np.testing.assert_allclose(tp.grad(f)(np.zeros(3)), [1.0, -0.3, -1.0])
    # value unchanged
    assert float(clip_gradient(2.0, -1.0, 1.0)) == 2.0
    # jvp is the transpose of the (clipped) rule, consistent with the custom VJP
    _, t = tp.jvp(lambda x: clip_gradient(x, -1.0, 1.0), (0.5,), (1.0,))
    assert float(t) == 1.0


def test_custom_vjp_pytrees_several_outputs_nondiff_argnums_and_kwargs() -> None:
    def f(p, scale):
        return {"prod": p["a"] * p["b"] * scale, "sum": tnp.sum(p["a"])}

    cf = tp.custom_vjp(f, nondiff_argnums=(1,))

    def fwd(p, scale):
        return f(p, scale), p

    def bwd(scale, p, g):
        return ({"a": g["prod"] * p["b"] * scale + g["sum"], "b": g["prod"] * p["a"] * scale},)

    cf.defvjp(fwd, bwd)
    p = {"a": np.array([1.0, 2.0]), "b": np.array([3.0, -1.0])}
    loss = lambda p, f=f: tnp.sum(f(p, 2.0)["prod"] ** 2) + f(p, 2.0)["sum"]  # noqa: E731
    want = tp.grad(loss)(p)
    got = tp.grad(lambda p: loss(p, cf))(p)
    for k in p:
        np.testing.assert_allclose(got[k], want[k])
    got_kw = tp.grad(lambda p: tnp.sum(cf(p=p, scale=2.0)["prod"] ** 2) + cf(p, 2.0)["sum"])(p)
    for k in p:
        np.testing.assert_allclose(got_kw[k], want[k])
    h_want = tp.hessian(lambda a: loss({"a": a, "b": p["b"]}))(p["a"])
    h_got = tp.hessian(lambda a: loss({"a": a, "b": p["b"]}, cf))(p["a"])
    np.testing.assert_allclose(h_got, h_want)


def test_custom_vjp_inner_grad_closing_over_outer_value() -> None:
    # d/dx [ x * d/dy log1pexp(x * y) at y = 1 ] = d/dx [x^2 sigmoid(x)]
    x = 0.7
    got = tp.grad(lambda x: x * tp.grad(lambda y: log1pexp(x * y))(1.0))(x)
    want = 2 * x * sigmoid(x) + x * x * sigmoid(x) * (1 - sigmoid(x))
    assert np.isclose(got, want, rtol=1e-12)


def test_custom_vjp_integer_outputs_and_constant_inputs() -> None:
    @tp.custom_vjp
    def f(x, y):
        return x * y, 3

    f.defvjp(lambda x, y: ((x * y, 3), (x, y)), lambda r, g: (g[0] * r[1], g[0] * r[0]))
    out = tp.value_and_grad(lambda x: f(x, 4.0)[0] * f(x, 1.0)[1])(2.0)
    assert out == (24.0, 12.0)


# ----- custom_vjp errors --------------------------------------------------------------------------
def _make(bwd, fwd=None):
    @tp.custom_vjp
    def f(x, y):
        return x * y

    f.defvjp(fwd or (lambda x, y: (x * y, (x, y))), bwd)
    return f


@pytest.mark.parametrize(
    "bwd, err, match",
    [
        (
            lambda r, g: (g * r[1],),
            ValueError,
            r"bwd returned 1 cotangent\(s\), but the function has 2",
        ),
        (lambda r, g: g * r[1], TypeError, "must return a tuple"),
        (
            lambda r, g: (g * r[1], np.ones(3)),
            ValueError,
            r"argument 1 has shape \(3,\), but the argument has shape \(2,\)",
        ),
        (lambda r, g: (g * r[1], [g]), ValueError, "bwd's cotangent 1 has structure"),
    ],
)
def test_custom_vjp_bwd_contract_errors(bwd, err, match) -> None:
    f = _make(bwd)
    with pytest.raises(err, match=match):
        tp.grad(lambda x: tnp.sum(f(x, np.ones(2))))(np.ones(2))
    assert active_traces() == ()


def test_custom_vjp_other_errors() -> None:
    @tp.custom_vjp
    def f(x):
        return x

    with pytest.raises(TypeError, match=r"no rule yet; call f.defvjp\(fwd, bwd\)"):
        f(1.0)
    f.defvjp(lambda x: x, lambda r, g: (g,))
    with pytest.raises(TypeError, match=r"fwd must return a pair \(out, residuals\)"):
        tp.grad(f)(1.0)
    assert f(2.0) == 2.0  # outside transforms the undecorated function runs


def test_custom_vjp_bwd_with_plain_numpy_fails_clearly_when_differentiated_again() -> None:
    f = _make(lambda r, g: (np.asarray(g) * np.asarray(r[1]), np.asarray(g) * np.asarray(r[0])))
    assert tp.grad(lambda x: f(x, 3.0))(2.0) == 3.0  # first order on plain values is fine
    with pytest.raises(TypeError, match="bwd rule failed on traced values.*tapeflow.numpy"):
        tp.grad(tp.grad(lambda x: f(x, x)))(2.0)
    with pytest.raises(TypeError, match="forward mode .* transposing its bwd rule"):
        tp.jvp(lambda x: f(x, 3.0), (2.0,), (1.0,))
    assert active_traces() == ()


def test_custom_vjp_nonlinear_bwd_is_rejected_in_forward_mode() -> None:
    f = _make(lambda r, g: (g * r[1] + 1.0, g * r[0]))
    with pytest.raises(ValueError, match="not linear in g"):
        tp.jvp(lambda x: f(x, 3.0), (2.0,), (1.0,))


# ----- custom_jvp ---------------------------------------------------------------------------------
@tp.custom_jvp
def safe_norm(x):
    return tnp.sqrt(tnp.sum(x * x))


@safe_norm.defjvp
def _safe_norm_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    n = safe_norm(x)
    return n, tnp.sum(x * t) / tnp.where(n == 0.0, 1.0, n)


def test_custom_jvp_rule_is_used_in_both_modes() -> None:
    zero = np.zeros(3)
    with np.errstate(invalid="ignore", divide="ignore"):
        assert np.isnan(tp.grad(lambda x: tnp.sqrt(tnp.sum(x * x)))(zero)).all()
    np.testing.assert_array_equal(tp.grad(safe_norm)(zero), zero)
    assert float(tp.jvp(safe_norm, (zero,), (np.ones(3),))[1]) == 0.0
    x = np.array([3.0, 4.0, 0.0])
    np.testing.assert_allclose(tp.grad(safe_norm)(x), x / 5.0)
    np.testing.assert_allclose(tp.jacfwd(safe_norm)(x), x / 5.0)
    np.testing.assert_allclose(tp.jacrev(safe_norm)(x), x / 5.0)
    H = (np.eye(3) - np.outer(x, x) / 25.0) / 5.0
    for hess in (
        tp.hessian(safe_norm),
        tp.jacrev(tp.jacrev(safe_norm)),
        tp.jacfwd(tp.jacfwd(safe_norm)),
        tp.jacrev(tp.jacfwd(safe_norm)),
    ):
        np.testing.assert_allclose(hess(x), H, atol=1e-12)
    tp.check_grads(safe_norm, (x,), order=2, modes=("fwd", "rev"))


def test_custom_jvp_reverse_mode_transposes_a_deliberately_different_rule() -> None:
    @tp.custom_jvp
    def f(x, y):
        return x * y

    @f.defjvp
    def _(p, t):
        (x, y), (tx, ty) = p, t
        return x * y, 10.0 * tx * y + ty  # not the true derivative, on purpose

    x, y = np.array([1.0, 2.0]), np.array([3.0, 5.0])
    gx, gy = tp.grad(lambda x, y: tnp.sum(f(x, y)), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, 10.0 * y)
    np.testing.assert_allclose(gy, np.ones(2))
    out, f_vjp = tp.vjp(f, x, y)
    for _ in range(2):
        a, b = f_vjp(np.array([1.0, -1.0]))
        np.testing.assert_allclose(a, [30.0, -50.0])
        np.testing.assert_allclose(b, [1.0, -1.0])


def test_custom_jvp_errors() -> None:
    @tp.custom_jvp
    def f(x):
        return x * 2.0

    with pytest.raises(TypeError, match="has no rule yet"):
        f(1.0)
    f.defjvp(lambda p, t: (p[0] * 2.0, np.ones(3)))
    with pytest.raises(ValueError, match=r"tangent output at <root> has shape \(3,\)"):
        tp.jvp(f, (np.ones(2),), (np.ones(2),))
    with pytest.raises(ValueError, match=r"tangent output at <root> has shape \(3,\)"):
        tp.grad(lambda x: tnp.sum(f(x)))(np.ones(2))
    f.defjvp(lambda p, t: (p[0] * t[0], t[0]))
    with pytest.raises(ValueError, match="depends on the tangents"):
        tp.grad(lambda x: tnp.sum(f(x)))(np.ones(2))
    f.defjvp(lambda p, t: p[0] * 2.0)
    with pytest.raises(TypeError, match=r"must return a pair \(out, tangent_out\)"):
        tp.jvp(f, (1.0,), (1.0,))
    assert active_traces() == ()


def test_custom_jvp_nondiff_argnums() -> None:
    @tp.custom_jvp
    def power(n, x):
        return x**n

    power = tp.custom_jvp(power.fun, nondiff_argnums=(0,))

    @power.defjvp
    def _(n, p, t):
        return p[0] ** n, n * p[0] ** (n - 1) * t[0]

    assert np.isclose(tp.grad(lambda x: power(3, x))(2.0), 12.0)
    assert np.isclose(tp.grad(tp.grad(lambda x: power(3, x)))(2.0), 12.0)
    with pytest.raises(TypeError, match="nondiff_argnums are for static values"):
        tp.grad(lambda n: power(n, 2.0))(3.0)


# ----- stop_gradient ------------------------------------------------------------------------------
def test_stop_gradient_at_every_level() -> None:
    assert tp.grad(lambda x: x * tp.stop_gradient(x))(3.0) == 3.0
    assert tp.grad(tp.grad(lambda x: x * x * tp.stop_gradient(x)))(3.0) == 6.0
    assert tp.grad(tp.grad(lambda x: x * tp.stop_gradient(x)))(3.0) == 0.0
    assert float(tp.jvp(lambda x: x * tp.stop_gradient(x), (3.0,), (1.0,))[1]) == 3.0
    np.testing.assert_allclose(
        tp.hessian(lambda x: tnp.sum(x**2 * tp.stop_gradient(x)))(np.array([1.0, 2.0])),
        np.diag([2.0, 4.0]),
    )
    # an inner grad's value is a constant to the outer one once stopped
    g = tp.grad(lambda x: tp.stop_gradient(tp.grad(lambda y: x * y * y)(x)) * x)(2.0)
    assert g == 8.0  # the inner grad 2 x y at y = x = 2 is 8, a constant factor of x
    assert active_traces() == ()


def test_stop_gradient_pytrees_and_plain_values() -> None:
    tree = {"a": np.ones(2), "b": (3.0, None)}
    assert tp.stop_gradient(tree)["b"] == (3.0, None)
    g = tp.grad(lambda p: tnp.sum(p["a"] * tp.stop_gradient(p)["a"]) + p["b"][0])(tree)
    np.testing.assert_allclose(g["a"], np.ones(2))
    assert g["b"] == (1.0, None)
    v = np.arange(3.0)
    assert tp.stop_gradient(v) is v


# ----- closures over values being differentiated --------------------------------------------------
def test_custom_rules_that_close_over_a_traced_value_raise() -> None:
    box = {}

    @tp.custom_vjp
    def f(x):
        return x * box["w"]

    f.defvjp(lambda x: (x * box["w"], None), lambda r, g: (g * box["w"],))

    @tp.custom_jvp
    def h(x):
        return x * box["w"]

    h.defjvp(lambda p, t: (p[0] * box["w"], t[0] * box["w"]))

    for fn, kind in ((f, "custom_vjp"), (h, "custom_jvp")):

        def loss(w, x, fn=fn):
            box["w"] = w
            return tnp.sum(fn(x))

        ones = np.ones(2)
        with pytest.raises(TypeError, match=f"{kind} function .* closes over a traced value"):
            tp.grad(loss, argnums=(0, 1))(ones, ones)
        with pytest.raises(TypeError, match=f"{kind} function .* closes over a traced value"):
            tp.jvp(loss, (ones, ones), (ones, ones))
        # closing over a value of an *outer* transform is fine: it is a constant to the
        # inner one, and the outer one differentiates the rule: d/dw [d/dx0 sum(x w)] = 1
        g = tp.grad(lambda w, ones=ones: tp.grad(lambda x: loss(w, x))(ones)[0])(2.0)
        assert g == 1.0
        assert active_traces() == ()


# ----- vmap ---------------------------------------------------------------------------------------
def test_custom_rules_compose_with_vmap_in_both_orders() -> None:
    x = np.array([1.0, 2.0, 3.0])

    def f(x):
        return 5.0 * clip_gradient(x, -1.0, 1.0) * x

    want = 1.0 + 5.0 * x  # clipped cotangent of the first factor, plus the second factor
    np.testing.assert_allclose(tp.grad(lambda x: tnp.sum(tp.vmap(f)(x)))(x), want)
    np.testing.assert_allclose(tp.vmap(tp.grad(f))(x), want)
    np.testing.assert_allclose(tp.vmap(f)(x), 5.0 * x * x)
    z = np.zeros((2, 3))
    np.testing.assert_array_equal(tp.vmap(tp.grad(safe_norm))(z), z)
    np.testing.assert_array_equal(tp.grad(lambda z: tnp.sum(tp.vmap(safe_norm)(z)))(z), z)
    s = sigmoid(x)
    np.testing.assert_allclose(tp.vmap(tp.grad(tp.grad(log1pexp)))(x), s * (1 - s))


def test_custom_rules_compose_with_jit() -> None:
    x = np.array([1.0, 2.0, 3.0])
    f = lambda x: tnp.sum(5.0 * clip_gradient(x, -1.0, 1.0) * x)  # noqa: E731
    for g in (tp.jit(tp.grad(f)), tp.grad(tp.jit(f))):
        np.testing.assert_allclose(g(x), 1.0 + 5.0 * x)
        np.testing.assert_allclose(g(x + 1.0), 1.0 + 5.0 * (x + 1.0))
    s = sigmoid(x)
    np.testing.assert_allclose(tp.jit(tp.elementwise_grad(log1pexp))(x), s)
    np.testing.assert_allclose(tp.jit(tp.grad(safe_norm))(x), x / np.sqrt(14.0))


def test_custom_rules_keep_float32() -> None:
    x = np.array([0.5, -1.0], np.float32)
    one = np.ones(2, np.float32)
    for fn in (log1pexp, safe_norm, tp.checkpoint(lambda x: tnp.sin(x) * x)):
        loss = lambda x, fn=fn: tnp.sum(fn(x))  # noqa: E731
        assert tp.grad(loss)(x).dtype == np.float32
        assert tp.hessian(loss)(x).dtype == np.float32
        assert np.result_type(tp.jvp(fn, (x,), (one,))[1]) == np.float32


def test_custom_vjp_on_a_method_with_self_as_a_static_argument() -> None:
    class Model:
        scale = 3.0

        @functools.partial(tp.custom_vjp, nondiff_argnums=(0,))
        def f(self, x):
            return x * self.scale

        def f_fwd(self, x):
            return x * self.scale, None

        def f_bwd(self, residuals, g):
            return (g * 10.0,)  # deliberately not the true derivative: the rule is used

    Model.f.defvjp(Model.f_fwd, Model.f_bwd)
    model = Model()
    assert model.f(2.0) == 6.0
    assert tp.grad(lambda x: model.f(x))(1.0) == 10.0


def test_jit_of_grad_replays_custom_rules() -> None:
    square = tp.custom_vjp(lambda x: x * x)
    square.defvjp(lambda x: (x * x, x), lambda x, g: (2.0 * x * g,))
    step = tp.jit(tp.grad(lambda x: tnp.sum(square(x) * x)))
    np.testing.assert_allclose(step(np.array([1.0, 2.0])), [3.0, 12.0])
    np.testing.assert_allclose(step(np.array([3.0, 4.0])), [27.0, 48.0])
    assert step.trace_count == 1
    sine = tp.custom_jvp(lambda x: tnp.sin(x))
    sine.defjvp(lambda p, t: (tnp.sin(p[0]), tnp.cos(p[0]) * t[0]))
    step = tp.jit(tp.grad(lambda x: tnp.sum(sine(x))))
    np.testing.assert_allclose(step(np.array([0.0, 1.0])), np.cos([0.0, 1.0]))


def test_rules_that_widen_float32_are_cast_back() -> None:
    # np.float64 * float32 array is float64 under NEP 50
    double_t = tp.custom_jvp(lambda x: x * 2)
    double_t.defjvp(lambda p, t: (p[0] * 2, np.float64(2.0) * t[0]))
    ones = np.ones(2, np.float32)
    assert tp.jvp(double_t, (ones,), (ones,))[1].dtype == np.float32
    double_c = tp.custom_vjp(lambda x: x * 2)
    double_c.defvjp(lambda x: (x * 2, None), lambda r, g: (np.float64(2.0) * g,))
    assert tp.grad(lambda x: tnp.sum(double_c(x)))(ones).dtype == np.float32


def test_an_error_of_the_users_own_bwd_propagates_unchanged() -> None:
    def bwd(residuals, g):
        raise TypeError("my own bug")

    f = tp.custom_vjp(lambda x: x * 2)
    f.defvjp(lambda x: (x * 2, None), bwd)
    with pytest.raises(TypeError, match="^my own bug$"):
        tp.grad(lambda x: tnp.sum(f(x)))(np.ones(2))
    assert active_traces() == ()


def test_a_joint_jvp_rule_gets_every_tangent_at_once():
    from tapeflow.core.primitive import defjvp_joint

    weighted = tp.primitive(lambda a, b, c: a + 2 * b + 3 * c, name="weighted_joint_test")
    seen = []

    def rule(tangents, ans, a, b, c):
        seen.append([t is not None for t in tangents])
        return sum(w * t for w, t in zip((1, 2, 3), tangents, strict=True) if t is not None)

    defjvp_joint(weighted, rule)
    _, t = tp.jvp(lambda x: weighted(x, 5.0, x), (1.0,), (1.0,))
    assert t == 4.0 and seen == [[True, False, True]]  # one call; b had no tangent
    # Nested forward mode: the inner and the outer trace each call the rule once.
    seen.clear()
    d2 = tp.jvp(lambda x: tp.jvp(lambda y: weighted(y, x, y), (x,), (1.0,))[1], (1.0,), (1.0,))
    assert d2[1] == 0.0 and len(seen) == 2
