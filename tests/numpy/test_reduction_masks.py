"""numpy's ``where=`` and ``initial=`` on the reductions: values equal numpy's,
derivatives agree with finite differences in both modes and at second order, and the
same holds under ``tp.jit`` and ``tp.vmap`` (the mask shared, or batched with the data).

Each row is ``(numpy function, keyword arguments, data)``; the function runs through
numpy's dispatch on traced arrays and as ``tapeflow.numpy``'s own function.
"""

import warnings

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp

MASK = np.array([[True, False, True, True], [False, True, True, False], [True, True, False, True]])
ROW = np.array([True, False, True, True])  # broadcasts over the rows
X = np.array([[0.7, -1.3, 2.1, 0.4], [1.9, -0.6, 1.1, -2.2], [-0.9, 0.3, 1.6, 2.7]])
WITH_NAN = np.where(np.array([[0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], bool), np.nan, X)

ROWS = [
    (np.sum, {"where": MASK}, X),
    (np.sum, {"where": MASK, "axis": 1, "initial": 2.0}, X),
    (np.sum, {"where": ROW, "axis": 0, "keepdims": True}, X),
    (np.sum, {"initial": -1.5, "axis": (0, 1)}, X),
    (np.mean, {"where": MASK}, X),
    (np.mean, {"where": MASK, "axis": 0, "keepdims": True}, X),
    (np.prod, {"where": MASK, "axis": 1, "initial": 0.5}, X),
    (np.prod, {"where": ROW}, X),
    (np.max, {"where": MASK, "axis": 1, "initial": -5.0}, X),
    (np.max, {"initial": 1.0, "axis": 0}, X),  # the initial value wins in two columns
    (np.min, {"where": MASK, "initial": 5.0}, X),
    (np.min, {"where": ROW, "axis": 1, "initial": 0.0, "keepdims": True}, X),
    (np.var, {"where": MASK, "axis": 1}, X),
    (np.var, {"where": MASK, "axis": 0, "ddof": 1}, X),
    (np.std, {"where": MASK}, X),
    (np.std, {"where": ROW, "axis": 1, "keepdims": True}, X),
    (np.nansum, {"where": MASK, "axis": 0, "initial": 1.0}, WITH_NAN),
    (np.nanmean, {"where": MASK, "axis": 1}, WITH_NAN),
    (np.nanmax, {"where": MASK, "axis": 1, "initial": -5.0}, WITH_NAN),
    (np.nanmax, {"initial": 1.0, "axis": 0}, WITH_NAN),
    (np.nanmin, {"where": ROW, "initial": 5.0}, WITH_NAN),
]
IDS = [f"{f.__name__}-{'-'.join(sorted(kw))}-{i}" for i, (f, kw, _) in enumerate(ROWS)]
VIAS = ["numpy", "tnp"]


def _function(np_fun, kwargs, via):
    impl = np_fun if via == "numpy" else getattr(tnp, np_fun.__name__)
    return lambda x: impl(x, **kwargs)


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("np_fun,kwargs,x", ROWS, ids=IDS)
def test_values_match_numpy_eager_and_under_jit(np_fun, kwargs, x, via):
    fun = _function(np_fun, kwargs, via)
    want = np_fun(x, **kwargs)
    np.testing.assert_allclose(fun(x), want, rtol=1e-13)
    np.testing.assert_allclose(tp.jit(fun)(x), want, rtol=1e-13)
    out32 = tp.jit(fun)(x.astype(np.float32))
    assert out32.dtype == np.float32


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("np_fun,kwargs,x", ROWS, ids=IDS)
def test_derivatives_against_finite_differences(np_fun, kwargs, x, via):
    fun = _function(np_fun, kwargs, via)
    tp.check_grads(fun, (x,), order=2, modes=("rev", "fwd"))
    g32 = tp.grad(lambda x: tnp.sum(fun(x)))(x.astype(np.float32))
    assert g32.dtype == np.float32
    g = tp.grad(lambda x: tnp.sum(fun(x)))(x)
    assert np.all(g[~np.broadcast_to(kwargs.get("where", True), x.shape)] == 0)
    np.testing.assert_allclose(tp.jit(tp.grad(lambda x: tnp.sum(fun(x))))(x), g, rtol=1e-13)


@pytest.mark.parametrize("np_fun,kwargs,x", ROWS, ids=IDS)
def test_vmap_matches_a_loop_with_a_shared_and_a_batched_mask(np_fun, kwargs, x):
    xs = np.stack([x, x[::-1] * 0.5, x + 0.25])
    fun = _function(np_fun, kwargs, "tnp")
    loop = np.stack([np_fun(e, **kwargs) for e in xs])
    np.testing.assert_allclose(tp.vmap(fun)(xs), loop, rtol=1e-13)
    grads = tp.vmap(tp.grad(lambda x: tnp.sum(fun(x))))(xs)
    np.testing.assert_allclose(grads, np.stack([tp.grad(lambda x: tnp.sum(fun(x)))(e) for e in xs]))
    if "where" not in kwargs:
        return
    masks = np.stack([kwargs["where"], ~np.asarray(kwargs["where"]), kwargs["where"]])
    rest = {k: v for k, v in kwargs.items() if k != "where"}

    def masked(x, m):
        return getattr(tnp, np_fun.__name__)(x, where=m, **rest)

    with warnings.catch_warnings():  # the inverted mask leaves one entry, and ddof=1
        warnings.simplefilter("ignore", RuntimeWarning)
        loop = np.stack([np_fun(e, where=m, **rest) for e, m in zip(xs, masks, strict=True)])
        np.testing.assert_allclose(tp.vmap(masked)(xs, masks), loop, rtol=1e-13)


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda x: tnp.max(x, where=MASK), ValueError, "'maximum' does not have an identity"),
        (lambda x: np.min(x, where=MASK), ValueError, "'minimum' does not have an identity"),
        (lambda x: tnp.sum(x, where=MASK[:, :2]), ValueError, "does not broadcast"),
        (lambda x: tnp.mean(x, where=MASK.astype(int)), TypeError, "boolean mask"),
        # numpy's own functions read None as a mask that selects nothing: refused
        (lambda x: np.sum(x, where=None), TypeError, r"where=None\): numpy reads None"),
        (lambda x: np.add.reduce(x, where=None), TypeError, r"where=None\): numpy reads None"),
    ],
)
def test_bad_masks_raise_like_numpy(call, error, match):
    with pytest.raises(error, match=match):
        tp.grad(lambda x: tnp.sum(call(x)))(X)


def test_initial_alone_on_an_empty_axis():
    empty = np.zeros((0, 3))
    np.testing.assert_array_equal(tnp.max(empty, axis=0, initial=2.0), np.full(3, 2.0))
    g = tp.grad(lambda x: tnp.sum(tnp.max(x, axis=0, initial=2.0)))(empty)
    assert g.shape == (0, 3)


def test_ufunc_reduce_takes_where_and_initial():
    f = lambda x: np.maximum.reduce(x, axis=1, where=MASK, initial=-5.0)  # noqa: E731
    np.testing.assert_allclose(tp.jit(f)(X), f(X))
    tp.check_grads(lambda x: np.add.reduce(x, axis=0, where=MASK), (X,), modes=("rev", "fwd"))


JAX_NO_MASK = ["sum", "mean", "prod", "max", "min", "var", "std", "nansum", "nanmean", "nanmax"]


@pytest.mark.parametrize("name", JAX_NO_MASK)
def test_jax_where_none_selects_every_entry(name):
    # jax.numpy's reductions default to where=None; tapeflow.numpy reads it the same way.
    f = getattr(tnp, name)
    np.testing.assert_allclose(f(X, axis=1, where=None), getattr(np, name)(X, axis=1))
    tp.check_grads(lambda x: f(x, axis=0, where=None), (X,), modes=("rev", "fwd"))


@pytest.mark.parametrize("name", ["all", "any"])
def test_jax_where_none_selects_every_entry_of_boolean_reductions(name):
    # numpy reads where=None as a mask that selects nothing (all() would be True).
    b = X > 0
    f = getattr(tnp, name)
    np.testing.assert_array_equal(f(b, axis=1, where=None), getattr(np, name)(b, axis=1))
    jitted = tp.jit(lambda x: f(x > 0, axis=0, where=None))
    np.testing.assert_array_equal(jitted(X), getattr(np, name)(b, axis=0))
