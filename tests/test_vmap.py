"""tp.vmap: every batching rule against the loop-and-stack result, per-example
gradients, composition with grad/jvp/vjp/jit and nested vmap, and bad input."""

from __future__ import annotations

import importlib
import pkgutil
import warnings

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow.batching import has_batch_rule
from tapeflow.core.primitive import registered_primitives

vmap_module = importlib.import_module("tapeflow.vmap")  # the module (tp.vmap is the function)

BatchingFallbackWarning = vmap_module.BatchingFallbackWarning


B = 3  # batch size used by the rule tests


# ----- the primitive matrix, batched -----------------------------------------------------
def _all_cases() -> list:
    import tests.numpy as pkg

    cases = []
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("spec_"):
            cases.extend(importlib.import_module(f"tests.numpy.{info.name}").CASES)
    return cases


# Cases whose function cannot be batched by construction: the index depends on the
# values (a data-dependent output shape, or an index computed with unwrap()).
NOT_BATCHABLE = {"getitem-mask", "take_along_axis-sort"}

CASES = [c for c in _all_cases() if c.name not in NOT_BATCHABLE]

# Cases that cannot be batched by design, each checked for its clear error below
# instead of being run against the loop: (case name, in_axes) pairs.
BY_DESIGN = {
    # ndarray.dot(traced) is numpy's own method: it converts its argument, which
    # tapeflow refuses (use x @ y or tnp.dot).
    ("np.dot-method", "plain ndarray.dot"),
}


def _by_design(case, in_axes) -> bool:
    return case.name.startswith("np.dot-method") and in_axes[0] is None


def _examples(case, shapes, dtype=np.float64):
    return [case.make_args(shapes, dtype, seed=s) for s in range(B)]


def _loop(fun, examples, in_axes, shared):
    outs = []
    for ex in examples:
        args = [
            shared[i] if ax is None else a
            for i, (a, ax) in enumerate(zip(ex, in_axes, strict=False))
        ]
        outs.append(fun(*args))
    return tp.tree_util.tree_map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *outs)


def _batch(examples, in_axes):
    cols = list(zip(*examples, strict=False))
    out = []
    for col, ax in zip(cols, in_axes, strict=False):
        if ax is None:
            out.append(col[0])
        else:
            stacked = np.stack(col)
            out.append(np.moveaxis(stacked, 0, ax) if ax != 0 else stacked)
    return out


def _in_axes_variants(shapes):
    n = len(shapes)
    variants = [(0,) * n, tuple(len(s) for s in shapes)]  # batch first, batch last
    if n > 1:
        variants.append((None,) + (0,) * (n - 1))
        variants.append((0,) + (None,) * (n - 1))
    return variants


def _params(grads: bool = False, every: int = 1):
    params = []
    for case in CASES:
        for shapes in case.shapes:
            for in_axes in _in_axes_variants(shapes):
                label = "-".join("x".join(map(str, s)) or "0d" for s in shapes)
                ax = "".join("n" if a is None else str(a) for a in in_axes)
                pid = f"{case.name}-{label}-ax{ax}"
                if _by_design(case, in_axes):
                    continue
                params.append(pytest.param(case, shapes, in_axes, id=pid))
    return params[::every]


@pytest.fixture
def fallbacks(monkeypatch):
    """Names of the primitives that went through the loop fallback during the test."""
    seen: list[str] = []
    original = vmap_module.loop_rule

    def spy(prim, *args, **kwargs):
        seen.append(prim.name)
        return original(prim, *args, **kwargs)

    monkeypatch.setattr(vmap_module, "loop_rule", spy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BatchingFallbackWarning)
        yield seen


@pytest.mark.parametrize("case,shapes,in_axes", _params())
def test_rule_matches_loop(case, shapes, in_axes, fallbacks) -> None:
    examples = _examples(case, shapes)
    expected = _loop(case.fun, examples, in_axes, examples[0])
    got = tp.vmap(case.fun, in_axes=in_axes)(*_batch(examples, in_axes))
    for g, e in zip(
        tp.tree_util.tree_leaves(got), tp.tree_util.tree_leaves(expected), strict=False
    ):
        assert np.shape(g) == np.shape(e)
        assert np.result_type(g) == np.result_type(e)
        # A row may declare a looser tolerance: odeint integrates a batch as one system,
        # whose shared step control agrees with the loop's to the integrator's tolerance.
        tol = case.extra.get("vmap_tol", 1e-12)
        np.testing.assert_allclose(g, e, rtol=tol, atol=tol)


@pytest.mark.parametrize("case,shapes,in_axes", _params(grads=True, every=3))
def test_rule_gradients_match_loop(case, shapes, in_axes, fallbacks) -> None:
    """vmap(grad(f)): the VJP rules themselves run batched (scatter_add, unbroadcast...)."""

    def scalar(*args):
        leaf = tp.tree_util.tree_leaves(case.fun(*args))[0]
        if np.issubdtype(leaf.dtype, np.complexfloating):  # both parts reach the loss
            leaf = tnp.real(leaf * (0.5 - 1j))
        return tnp.sum(leaf * 1.0)

    diff = [i for i, ax in enumerate(in_axes) if ax is not None][0]
    examples = _examples(case, shapes)
    g = tp.grad(scalar, argnums=diff)
    expected = _loop(g, examples, in_axes, examples[0])
    got = tp.vmap(g, in_axes=in_axes)(*_batch(examples, in_axes))
    tol = max(1e-10, case.extra.get("vmap_tol", 0.0))
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


def test_rule_table_uses_rules_not_the_loop(fallbacks) -> None:
    """The matrix rows of primitives with a batch rule run without the loop fallback
    (except the cases a rule hands back on purpose, listed here)."""
    prims = registered_primitives()

    def ours(name: str) -> bool:
        prim = prims.get(name)
        if prim is None:
            return False
        if prim.batch_rule is None:
            return prim.elementwise  # vmap's own elementwise rule
        return getattr(prim.batch_rule, "__module__", "").startswith("tapeflow.")

    # Rules hand these back on purpose: an array argument besides the mapped one
    # (logsumexp's weights; solve's shared right-hand side of higher rank than the
    # batched matrices, which no single numpy call broadcasts correctly).
    handed_back = {"logsumexp-weights", "linalg.solve"}
    for case in CASES:
        if case.name in handed_back or not all(ours(n) for n in case.covers):
            continue
        shapes = case.shapes[-1]
        in_axes = (0,) + (None,) * (len(shapes) - 1)  # per-example data, shared weights
        if _by_design(case, in_axes):
            continue
        examples = _examples(case, shapes)
        fallbacks.clear()
        tp.vmap(case.fun, in_axes=in_axes)(*_batch(examples, in_axes))
        unexpected = {n for n in fallbacks if ours(n)}
        assert not unexpected, f"{case.name}: fell back to the loop for {sorted(unexpected)}"


# ----- hand-written cases for each rule family ------------------------------------
@pytest.mark.parametrize(
    "fun,shapes",
    [
        (lambda x, y: x @ y, [(4,), (4, 5)]),
        (lambda x, y: x @ y, [(3, 4), (4,)]),
        (lambda x, y: x @ y, [(4,), (4,)]),
        (lambda x, y: x @ y, [(2, 3, 4), (4, 5)]),
        (lambda x, y: x @ y, [(3, 4), (2, 4, 5)]),
        (lambda x, y: x @ y, [(2, 3, 4), (2, 4, 5)]),
        (lambda x, y: x @ y, [(4,), (2, 4, 5)]),
        (lambda x, y: x @ y, [(2, 3, 4), (4,)]),
        (lambda x, y: x + y, [(2, 3), (3,)]),
        (lambda x, y: tnp.where(x > 0, x, y), [(2, 3), (3,)]),
        (lambda x: tnp.sum(x, axis=(0, 2), keepdims=True), [(2, 3, 4)]),
        (lambda x: tnp.max(x), [(2, 3)]),
        (lambda x: tnp.reshape(x, (-1,)), [(2, 3)]),
        (lambda x: tnp.transpose(x, (2, 0, 1)), [(2, 3, 4)]),
        (lambda x: x.T, [(2, 3)]),
        (lambda x: tnp.broadcast_to(x, (2, 4, 3)), [(3,)]),
        (lambda x, y: tnp.concatenate([x, y, x], axis=-1), [(2, 3), (2, 1)]),
        (lambda x: x[1:, None, [0, 2]], [(3, 4)]),
        (lambda x: x[[0, 1], :, [1, 0]], [(2, 3, 2)]),  # separated advanced indices
        (lambda x: tnp.astype(x, np.float32), [(2,)]),
    ],
)
@pytest.mark.parametrize("axes", ["front", "back", "first-unbatched", "second-unbatched"])
def test_hand_written_rules(fun, shapes, axes, fallbacks) -> None:
    rng = np.random.default_rng(0)
    examples = [tuple(rng.standard_normal(s) for s in shapes) for _ in range(4)]
    n = len(shapes)
    in_axes = {
        "front": (0,) * n,
        "back": tuple(len(s) for s in shapes),
        "first-unbatched": (None,) + (0,) * (n - 1) if n > 1 else (0,),
        "second-unbatched": (0, None) if n > 1 else (0,),
    }[axes]
    expected = _loop(fun, examples, in_axes, examples[0])
    got = tp.vmap(fun, in_axes=in_axes)(*_batch(examples, in_axes))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_out_axes_and_unbatched_outputs() -> None:
    xs = np.arange(12.0).reshape(3, 4)
    out = tp.vmap(lambda x: (x * 2, 7.0, tnp.sum(x)), out_axes=(1, 0, 0))(xs)
    np.testing.assert_array_equal(out[0], (xs * 2).T)
    np.testing.assert_array_equal(out[1], np.full(3, 7.0))
    np.testing.assert_array_equal(out[2], xs.sum(1))
    shared = tp.vmap(lambda x, w: (x + w, w), in_axes=(0, None), out_axes=(0, None))
    y, w = shared(xs, np.ones(4))
    np.testing.assert_array_equal(w, np.ones(4))
    np.testing.assert_array_equal(y, xs + 1)


def test_pytree_in_axes_and_outputs() -> None:
    params = {"w": np.ones((3, 2)), "b": np.arange(4.0)}  # b batched along 0, w shared
    xs = np.arange(12.0).reshape(4, 3)

    def f(p, x):
        return {"y": x @ p["w"] + p["b"], "n": tnp.sum(x)}

    out = tp.vmap(f, in_axes=({"w": None, "b": 0}, 0))(params, xs)
    np.testing.assert_allclose(out["y"], xs @ params["w"] + params["b"][:, None])
    np.testing.assert_allclose(out["n"], xs.sum(1))
    out2 = tp.vmap(f, in_axes=[{"w": None, "b": 0}, 0], out_axes={"y": 1, "n": 0})(params, xs)
    np.testing.assert_allclose(out2["y"], out["y"].T)


def test_kwargs_are_passed_unmapped() -> None:
    f = tp.vmap(lambda x, scale=1.0: x * scale)
    np.testing.assert_array_equal(f(np.ones((2, 3)), scale=3.0), np.full((2, 3), 3.0))


def test_shape_inside_is_one_example() -> None:
    seen = []

    def f(x):
        seen.append((x.shape, x.ndim, len(x)))
        return tnp.reshape(x, (x.shape[0] * x.shape[1],))

    out = tp.vmap(f, in_axes=1)(np.zeros((2, 5, 3)))
    assert seen == [((2, 3), 2, 2)]
    assert out.shape == (5, 6)


# ----- per-example gradients -------------------------------------------------------
def _mlp_params(rng, sizes=(6, 5, 3), dtype=np.float64):
    return [
        (
            rng.standard_normal((m, n)).astype(dtype) * 0.5,
            rng.standard_normal(n).astype(dtype) * 0.1,
        )
        for m, n in zip(sizes[:-1], sizes[1:], strict=False)
    ]


def _mlp_loss(params, x, onehot):
    h = x
    for i, (w, b) in enumerate(params):
        h = h @ w + b
        if i < len(params) - 1:
            h = 1.0 / (1.0 + tnp.exp(-h))
    z = h - tnp.max(h, axis=-1, keepdims=True)
    logp = z - tnp.log(tnp.sum(tnp.exp(z), axis=-1, keepdims=True))
    return -tnp.sum(onehot * logp)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_per_example_gradients_of_an_mlp(dtype) -> None:
    rng = np.random.default_rng(1)
    params = _mlp_params(rng, dtype=dtype)
    xs = rng.standard_normal((8, 6)).astype(dtype)
    ys = np.eye(3, dtype=dtype)[rng.integers(0, 3, 8)]
    per_example = tp.vmap(tp.grad(_mlp_loss), in_axes=(None, 0, 0))(params, xs, ys)
    loops = [tp.grad(_mlp_loss)(params, x, y) for x, y in zip(xs, ys, strict=False)]
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for layer in range(len(params)):
        for k in range(2):
            got = per_example[layer][k]
            want = np.stack([g[layer][k] for g in loops])
            assert got.dtype == dtype
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    # The per-example gradients sum to the batch gradient.
    batch_loss = lambda p, X, Y: tnp.sum(tp.vmap(_mlp_loss, in_axes=(None, 0, 0))(p, X, Y))  # noqa: E731
    total = tp.grad(batch_loss)(params, xs, ys)
    np.testing.assert_allclose(total[0][0], per_example[0][0].sum(0), rtol=tol, atol=tol)


def test_per_example_gradients_with_batched_params() -> None:
    """in_axes=0 on the parameters too: one model per example (an ensemble)."""
    rng = np.random.default_rng(2)
    ws = rng.standard_normal((4, 3))
    xs = rng.standard_normal((4, 3))
    f = lambda w, x: tnp.sum(tnp.tanh(w * x) ** 2)  # noqa: E731
    got = tp.vmap(tp.grad(f))(ws, xs)
    want = np.stack([tp.grad(f)(w, x) for w, x in zip(ws, xs, strict=False)])
    np.testing.assert_allclose(got, want, rtol=1e-12)


# ----- composition ----------------------------------------------------------------
def _f(w, x):
    return tnp.sum(tnp.sin(x @ w) * x[:2].sum())


def test_grad_of_vmap() -> None:
    rng = np.random.default_rng(3)
    w, xs = rng.standard_normal((3, 2)), rng.standard_normal((5, 3))
    loss = lambda w: tnp.sum(tp.vmap(_f, in_axes=(None, 0))(w, xs) ** 2)  # noqa: E731
    want = tp.grad(lambda w: sum(_f(w, x) ** 2 for x in xs))(w)
    np.testing.assert_allclose(tp.grad(loss)(w), want, rtol=1e-12)
    tp.check_grads(loss, (w,), order=2, modes=("rev", "fwd"))


def test_grad_of_vmap_wrt_the_batched_argument() -> None:
    rng = np.random.default_rng(4)
    w, xs = rng.standard_normal((3, 2)), rng.standard_normal((5, 3))
    loss = lambda xs: tnp.sum(tp.vmap(_f, in_axes=(None, 0))(w, xs))  # noqa: E731
    want = np.stack([tp.grad(_f, argnums=1)(w, x) for x in xs])
    np.testing.assert_allclose(tp.grad(loss)(xs), want, rtol=1e-12)


def test_vmap_of_vmap_pairwise() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((6, 3))
    dist = lambda x, y: tnp.sqrt(tnp.sum((x - y) ** 2))  # noqa: E731
    pairwise = tp.vmap(tp.vmap(dist, in_axes=(None, 0)), in_axes=(0, None))(a, b)
    want = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
    np.testing.assert_allclose(pairwise, want, rtol=1e-12)
    # and differentiated through both levels
    g = tp.grad(lambda a: tnp.sum(tp.vmap(tp.vmap(dist, (None, 0)), (0, None))(a, b)))(a)
    want_g = ((a[:, None, :] - b[None]) / want[..., None]).sum(1)
    np.testing.assert_allclose(g, want_g, rtol=1e-10)


def test_vmap_of_vmap_with_inner_axis_1() -> None:
    x = np.arange(24.0).reshape(2, 3, 4)
    out = tp.vmap(tp.vmap(lambda r: tnp.cumsum(r * r, axis=0), in_axes=1, out_axes=1))(x)
    np.testing.assert_allclose(out, np.cumsum(x * x, axis=1))


def test_jacobian_by_vmap_of_vjp_and_jvp() -> None:
    rng = np.random.default_rng(6)
    x = rng.standard_normal(4)
    f = lambda x: tnp.tanh(x[:3] * x[1:]) * tnp.sum(x)  # noqa: E731
    out, f_vjp = tp.vjp(f, x)
    jac_rev = tp.vmap(lambda ct: f_vjp(ct)[0])(np.eye(3))
    jac_fwd = tp.vmap(lambda t: tp.jvp(f, (x,), (t,))[1], out_axes=1)(np.eye(4))
    eps = 1e-6
    fd = np.stack([(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(4)], axis=1)
    np.testing.assert_allclose(jac_rev, fd, atol=1e-8)
    np.testing.assert_allclose(jac_fwd, fd, atol=1e-8)


def test_hessian_rows_by_vmap_of_jvp_of_grad() -> None:
    x = np.array([0.3, -0.7, 1.1])
    f = lambda x: tnp.sum(tnp.sin(x) * x[0])  # noqa: E731
    hvp = lambda v: tp.jvp(tp.grad(f), (x,), (v,))[1]  # noqa: E731
    hess = tp.vmap(hvp)(np.eye(3))
    want = np.stack([hvp(v) for v in np.eye(3)])
    np.testing.assert_allclose(hess, want, rtol=1e-12)
    np.testing.assert_allclose(hess, hess.T, rtol=1e-12)


def test_jit_of_vmap_of_grad() -> None:
    if not hasattr(tp, "jit"):
        pytest.fail("tp.jit is missing")
    rng = np.random.default_rng(7)
    params = _mlp_params(rng)
    xs = rng.standard_normal((5, 6))
    ys = np.eye(3)[rng.integers(0, 3, 5)]
    f = tp.vmap(tp.grad(_mlp_loss), in_axes=(None, 0, 0))
    want = f(params, xs, ys)
    jf = tp.jit(f)
    for _ in range(2):  # trace, then replay
        got = jf(params, xs, ys)
        for g, w in zip(
            tp.tree_util.tree_leaves(got), tp.tree_util.tree_leaves(want), strict=False
        ):
            np.testing.assert_allclose(g, w, rtol=1e-12)


# ----- the loop fallback --------------------------------------------------------------
def test_fallback_loop_is_correct_and_warns_once() -> None:
    cube = tp.primitive(lambda x: x**3 + 0.0, name="test_vmap.cube")
    tp.defvjp(cube, lambda ans, x: lambda g: g * 3 * x**2)
    xs = np.arange(6.0).reshape(3, 2)
    with pytest.warns(BatchingFallbackWarning, match="test_vmap.cube"):
        out = tp.vmap(cube)(xs)
    np.testing.assert_array_equal(out, xs**3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingFallbackWarning)
        out2 = tp.vmap(cube, in_axes=1)(xs)  # second time: no warning
        g = tp.vmap(tp.grad(lambda x: tnp.sum(cube(x))))(xs)  # and under grad
    np.testing.assert_array_equal(out2, (xs**3).T)
    np.testing.assert_array_equal(g, 3 * xs**2)


def test_user_batch_rule_is_used() -> None:
    twice = tp.primitive(lambda x: 2 * x, name="test_vmap.twice")
    calls = []

    def rule(args, dims):
        calls.append(dims)
        return twice(args[0]), dims[0]

    tp.tree_util  # noqa: B018
    from tapeflow.core.primitive import get_primitive

    get_primitive(twice).batch_rule = rule
    np.testing.assert_array_equal(tp.vmap(twice, in_axes=1)(np.ones((2, 3))), np.full((3, 2), 2.0))
    assert calls == [[1]]


def test_coverage_notion() -> None:
    assert has_batch_rule(tnp.exp) and has_batch_rule(tnp.matmul)
    assert not has_batch_rule(tp.primitive(lambda x: x, name="test_vmap.identity"))


# ----- bad input ------------------------------------------------------------------------
def test_errors_name_the_argument() -> None:
    f = lambda x, y: x + y  # noqa: E731
    with pytest.raises(
        ValueError, match=r"inconsistent batch sizes: argument \[0\] has 3.*\[1\] has 4"
    ):
        tp.vmap(f)(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match=r"in_axes=2 for argument \[1\] is out of range.*\(3, 4\)"):
        tp.vmap(f, in_axes=(0, 2))(np.ones(3), np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"argument \[0\].*0 dimension"):
        tp.vmap(f)(1.0, np.ones(3))
    with pytest.raises(ValueError, match="in_axes is a tuple of length 3.*2 positional"):
        tp.vmap(f, in_axes=(0, 0, 0))(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match=r"in_axes at \[0\] is a dict.*value there is a ndarray"):
        tp.vmap(f, in_axes=({"a": 0}, 0))(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match=r"in_axes at \[0\] has structure dict with keys \['a'\]"):
        tp.vmap(lambda d: d["b"], in_axes=({"a": 0},))({"b": np.ones(3)})
    with pytest.raises(ValueError, match="no argument has a batch axis"):
        tp.vmap(f, in_axes=None)(np.ones(3), np.ones(3))
    with pytest.raises(TypeError, match="in_axes must be an int, None"):
        tp.vmap(f, in_axes="0")
    with pytest.raises(ValueError, match=r"out_axes is None for output \[0\]"):
        tp.vmap(lambda x: (x, x), out_axes=None)(np.ones(3))
    with pytest.raises(ValueError, match="out_axes=3 for output"):
        tp.vmap(lambda x: x, out_axes=3)(np.ones((2, 3)))


def test_control_flow_on_batched_values_is_an_error() -> None:
    def f(x):
        return x if x > 0 else -x

    with pytest.raises(TypeError, match="tnp.where"):
        tp.vmap(f)(np.ones(3))


def test_leaked_tracer_is_an_error() -> None:
    leaked = []
    tp.vmap(lambda x: leaked.append(x) or x)(np.ones(3))
    with pytest.raises(RuntimeError, match="escaped"):
        tnp.exp(leaked[0])


# ----- batched indices, layers -------------------------------------------------------
def _log_softmax(z):
    z = z - tnp.max(z, axis=-1, keepdims=True)
    return z - tnp.log(tnp.sum(tnp.exp(z), axis=-1, keepdims=True))


@pytest.mark.parametrize(
    "index_fun",
    [
        lambda x, i: x[i],  # one batched integer per example
        lambda x, i: x[i, i],  # two batched integers
        lambda x, i: x[i, 1:],  # batched integer then a slice
        lambda x, i: x[::-1][i],
    ],
)
@pytest.mark.parametrize("x_axis", [0, 1, None])
def test_batched_integer_index(index_fun, x_axis, fallbacks) -> None:
    if x_axis is None:  # ndarray[traced] is numpy's own indexing: go through tnp.asarray
        plain_fun = index_fun
        index_fun = lambda x, i: plain_fun(tnp.asarray(x) if tp.is_traced(x) else _Wrap(x), i)  # noqa: E731
    rng = np.random.default_rng(8)
    xs = rng.standard_normal((4, 3, 3))
    idx = np.array([0, 2, 1, 1])
    x_in = xs[0] if x_axis is None else np.moveaxis(xs, 0, x_axis)
    x_ex = (lambda k: xs[0]) if x_axis is None else (lambda k: xs[k])
    want = np.stack([index_fun(x_ex(k), int(idx[k])) for k in range(4)])
    got = tp.vmap(index_fun, in_axes=(x_axis, 0))(x_in, idx)
    np.testing.assert_allclose(got, want)
    if x_axis is not None:  # and the gradient scatters back per example
        g = tp.vmap(tp.grad(lambda x, i: tnp.sum(index_fun(x, i) ** 2)), in_axes=(x_axis, 0))
        g1 = tp.grad(lambda x, i: tnp.sum(index_fun(x, i) ** 2))
        gw = np.stack([g1(xs[k], int(idx[k])) for k in range(4)])
        np.testing.assert_allclose(g(x_in, idx), gw)
    assert not {"getitem_traced", "scatter_add_traced"} & set(fallbacks)


class _Wrap:
    """Routes ``plain_array[traced_index]`` through tnp.getitem."""

    def __init__(self, x):
        self.x = x

    def __getitem__(self, index):
        out = tnp.getitem(self.x, index)
        return out if tp.is_traced(out) else _Wrap(out)

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.x, dtype=dtype)


def test_batched_array_index() -> None:
    xs = np.arange(24.0).reshape(4, 6)
    idx = np.array([[0, 5], [1, 1], [2, 0], [5, 3]])
    got = tp.vmap(lambda x, i: x[i])(xs, idx)
    np.testing.assert_array_equal(got, np.take_along_axis(xs, idx, axis=1))


def test_per_example_gradients_with_integer_labels() -> None:
    """The recipe of docs/vmap.md: -log_softmax(logits)[label] with a batched label."""
    rng = np.random.default_rng(9)
    w = rng.standard_normal((5, 3)).astype(np.float32)
    xs = rng.standard_normal((6, 5)).astype(np.float32)
    ys = rng.integers(0, 3, 6)
    loss = lambda w, x, y: -_log_softmax(x @ w)[y]  # noqa: E731
    got = tp.vmap(tp.grad(loss), in_axes=(None, 0, 0))(w, xs, ys)
    want = np.stack([tp.grad(loss)(w, x, y) for x, y in zip(xs, ys, strict=False)])
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_softmax_cross_entropy_rule_with_shared_labels() -> None:
    from tapeflow.nn import functional as F

    rng = np.random.default_rng(10)
    logits = rng.standard_normal((5, 4, 3))  # 5 examples of 4 rows
    labels = np.array([0, 2, 1, 1])
    got = tp.vmap(F.softmax_cross_entropy, in_axes=(0, None))(logits, labels)
    want = np.stack([F.softmax_cross_entropy(z, labels) for z in logits])
    np.testing.assert_allclose(got, want, rtol=1e-12)
    g = tp.vmap(tp.grad(F.softmax_cross_entropy), in_axes=(0, None))(logits, labels)
    gw = np.stack([tp.grad(F.softmax_cross_entropy)(z, labels) for z in logits])
    np.testing.assert_allclose(g, gw, rtol=1e-10)


@pytest.mark.parametrize("pool", [False, True])
def test_per_example_gradients_of_a_conv_net(pool) -> None:
    from tapeflow.nn import functional as F

    conv = importlib.import_module("tapeflow.nn.conv")
    rng = np.random.default_rng(11)
    w = rng.standard_normal((2, 1, 3, 3)) * 0.3
    xs = rng.standard_normal((3, 1, 1, 6, 6))  # 3 examples, each a batch of one image

    def loss(w, x):
        h = conv.conv2d(x, w, padding="SAME")
        h = F.relu(h)
        if pool:
            h = conv.max_pool2d(h)
        return tnp.sum(h**2)

    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingFallbackWarning)  # every step has a rule
        got = tp.vmap(tp.grad(loss), in_axes=(None, 0))(w, xs)
    want = np.stack([tp.grad(loss)(w, x) for x in xs])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_vmap_of_custom_vjp_checkpoint_and_jacobians() -> None:
    @tp.custom_vjp
    def log1pexp(x):
        return tnp.log(1 + tnp.exp(x))

    log1pexp.defvjp(lambda x: (log1pexp(x), x), lambda x, g: (g / (1 + tnp.exp(-x)),))
    xs = np.linspace(-3, 3, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingFallbackWarning)
        np.testing.assert_allclose(tp.vmap(tp.grad(log1pexp))(xs), 1 / (1 + np.exp(-xs)))
        f = tp.checkpoint(lambda x: tnp.sin(x) * x)
        np.testing.assert_allclose(tp.vmap(tp.grad(f))(xs), np.cos(xs) * xs + np.sin(xs))
        cubes = np.arange(6.0).reshape(2, 3)
        hess = tp.vmap(tp.hessian(lambda x: tnp.sum(x**3)))(cubes)
        np.testing.assert_allclose(hess, np.stack([np.diag(6 * c) for c in cubes]))
        jf = tp.vmap(tp.jacfwd(lambda x: x**2))(cubes)
        jr = tp.vmap(tp.jacrev(lambda x: x**2))(cubes)
        np.testing.assert_allclose(jf, np.stack([np.diag(2 * c) for c in cubes]))
        np.testing.assert_allclose(jr, jf)


def test_jit_of_per_example_gradients_with_integer_labels() -> None:
    rng = np.random.default_rng(12)
    w = rng.standard_normal((5, 3))
    xs = rng.standard_normal((6, 5))
    loss = lambda w, x, y: -_log_softmax(x @ w)[y]  # noqa: E731
    f = tp.vmap(tp.grad(loss), in_axes=(None, 0, 0))
    jf = tp.jit(f)
    for _ in range(3):  # new labels each call: they stay inputs of the compiled program
        ys = rng.integers(0, 3, 6)
        np.testing.assert_allclose(jf(w, xs, ys), f(w, xs, ys), rtol=1e-12)


def test_empty_batch() -> None:
    out = tp.vmap(lambda x: tnp.sum(tnp.exp(x) * 2.0))(np.zeros((0, 3)))
    assert out.shape == (0,)
    lonely = tp.primitive(lambda x: x + 1.0, name="test_vmap.lonely")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BatchingFallbackWarning)
        with pytest.raises(ValueError, match="empty batch.*test_vmap.lonely"):
            tp.vmap(lonely)(np.zeros((0, 3)))


# Builtin primitives that run through the loop fallback on purpose, with the reason.
LOOPED = {
    "allclose": "one bool per example; numpy has no batched form",
    "array_equal": "one bool per example; numpy has no batched form",
    "convolve": "numpy.convolve is 1-d only",
    "searchsorted": "the sorted array differs per example",
    "unique": "the result's length depends on the values",
}


def test_every_builtin_primitive_batches_or_is_listed() -> None:
    importlib.import_module("tapeflow.nn")
    importlib.import_module("tapeflow.scipy.special")
    builtin = set(registered_primitives(builtin_only=True))
    missing = sorted(
        name
        for name, prim in registered_primitives().items()
        if (name in builtin or name.startswith(("nn.", "scipy.", "linalg.")))
        and not has_batch_rule(prim)
        and name not in LOOPED
    )
    assert not missing, (
        f"primitives without a batching rule: {missing}; declare one beside the primitive "
        "(tp.defbatch), or list them in LOOPED with the reason"
    )


def test_generic_rules_only_by_name_in_tapeflow_namespaces() -> None:
    """A user's primitive called "mylib.sum" is not assumed to be a reduction."""
    from tapeflow.core.primitive import get_primitive

    odd = tp.primitive(lambda x, axis=0: x[..., :1] * 2.0, name="mylib.sum")
    assert get_primitive(odd).batch_rule is None
    xs = np.arange(12.0).reshape(3, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BatchingFallbackWarning)
        np.testing.assert_array_equal(tp.vmap(odd)(xs), xs[:, :1] * 2.0)


def test_cases_that_cannot_be_batched_fail_clearly() -> None:
    """The by-design exclusions above raise errors that say what to do."""
    by_name = {c.name: c for c in CASES}
    dot = next(c for n, c in by_name.items() if n.startswith("np.dot-method"))
    shapes = dot.shapes[0]
    examples = _examples(dot, shapes)
    in_axes = (None,) + (0,) * (len(shapes) - 1)
    with pytest.raises(TypeError, match="numpy tried to convert a traced array"):
        tp.vmap(dot.fun, in_axes=in_axes)(*_batch(examples, in_axes))
