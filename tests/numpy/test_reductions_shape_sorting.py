"""Values and conventions of the reductions, shape and sorting families.

The matrix (test_matrix.py) checks derivatives; these tests check that each
function returns what numpy returns (plain arrays in, under a transform, and
through ``np.<name>`` dispatch), and the documented conventions: exact
gradients of prod/cumprod at zeros, tie splitting, zero gradient at NaN,
plain values from index-valued functions.
"""

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp

RNG = np.random.default_rng(1)
X = RNG.standard_normal((2, 3, 4))
M = RNG.standard_normal((3, 4))
V = RNG.standard_normal(4)
Z = RNG.standard_normal((2, 3)) + 1j * RNG.standard_normal((2, 3))
REPEATS = np.array([3.0, -1.0, 3.0, 2.0, -1.0, np.nan, np.nan])
ROWS = np.array([[1.0, 2.0], [0.0, 1.0], [1.0, 2.0], [0.0, 1.0], [5.0, 0.0]])


def _same(a, b):
    if isinstance(b, (list, tuple)):
        assert isinstance(a, (list, tuple)) and len(a) == len(b)
        for p, q in zip(a, b, strict=False):
            _same(p, q)
        return
    a = np.asarray(a)
    assert a.shape == np.shape(b)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def _traced_value(f, *args):
    """f evaluated on traced arguments (the value of a vjp) must equal f on plain ones."""
    out, _ = tp.vjp(f, *args)
    return out


# name, args, kwargs: each is called as tnp.<name>, np.<name> on plain arrays, and
# np.<name> on traced arrays (dispatch); all three must agree.
CALLS = [
    ("prod", (X,), {"axis": (0, 2), "keepdims": True}),
    ("var", (X,), {"axis": 1, "ddof": 1}),
    ("std", (X,), {"axis": None}),
    ("cumsum", (X,), {"axis": 1}),
    ("cumsum", (X,), {}),
    ("cumprod", (X,), {"axis": -1}),
    ("ptp", (X,), {"axis": 0}),
    ("average", (X,), {"axis": 1, "weights": np.arange(1.0, 4.0)}),
    ("median", (X,), {"axis": (0, 2), "keepdims": True}),
    ("quantile", (X, [0.2, 0.9]), {"axis": -1}),
    ("percentile", (X, 40.0), {}),
    ("moveaxis", (X, (0, 1), (2, 0)), {}),
    ("stack", ([M, M],), {"axis": 2}),
    ("hstack", ([M, M],), {}),
    ("vstack", ([V, V],), {}),
    ("dstack", ([M, M],), {}),
    ("column_stack", ([V, V],), {}),
    ("split", (X, [1, 3]), {"axis": 2}),
    ("array_split", (X, 3), {"axis": 1}),
    ("hsplit", (M, 2), {}),
    ("vsplit", (M, [1]), {}),
    ("tile", (M, (2, 1, 2)), {}),
    ("repeat", (M, [1, 0, 2]), {"axis": 0}),
    ("repeat", (M, 2), {}),
    ("flip", (X,), {"axis": (0, 2)}),
    ("fliplr", (M,), {}),
    ("flipud", (M,), {}),
    ("roll", (X, (1, -2)), {"axis": (0, 2)}),
    ("roll", (X, 5), {}),
    ("rot90", (X, 3), {"axes": (1, 2)}),
    ("pad", (X, ((1, 0), (0, 2), (1, 1))), {"constant_values": 2.5}),
    ("pad", (M, 2), {"mode": "reflect"}),
    ("pad", (X, ((3, 1), (0, 5), (2, 2))), {"mode": "symmetric", "reflect_type": "odd"}),
    ("pad", (X, ((0, 4), (3, 0), (1, 7))), {"mode": "reflect", "reflect_type": "odd"}),
    ("pad", (M, ((7, 2), (1, 9))), {"mode": "wrap"}),
    ("pad", (X, 2), {"mode": "linear_ramp", "end_values": ((1, 2), (3, 4), (5, 6))}),
    ("pad", (M, (2, 3)), {"mode": "mean", "stat_length": (1, 3)}),
    ("pad", (X, 1), {"mode": "maximum"}),
    ("pad", (X, ((2, 0), (0, 1), (1, 1))), {"mode": "minimum", "stat_length": 2}),
    ("pad", (M, 3), {"mode": "median", "stat_length": ((2, 3), (4, 1))}),
    ("diag", (V, -1), {}),
    ("diag", (M, 1), {}),
    ("diagonal", (X, 1, 2, 0), {}),
    ("trace", (X, 0, 0, 2), {}),
    ("tril", (X, -1), {}),
    ("triu", (M, 1), {}),
    ("atleast_3d", (V,), {}),
    ("meshgrid", (V, V[:3]), {"indexing": "xy"}),
    ("diff", (X, 2), {"axis": 1, "prepend": 0.0}),
    ("gradient", (M, 0.5), {"edge_order": 2}),
    ("gradient", (X, [0.0, 0.5], [0.0, 1.0, 3.0], 2.0), {}),
    ("gradient", (X, [0.0, 1.0, 3.0], 0.5), {"axis": (1, 2), "edge_order": 2}),
    ("convolve", (V, V[:3]), {"mode": "same"}),
    ("correlate", (V[:3], V), {"mode": "same"}),
    ("sort", (X,), {"axis": 1}),
    ("partition", (V, 2), {}),
    ("interp", (np.linspace(-1, 4, 9), np.arange(4.0), V), {}),
    ("nansum", (np.where(X > 1, np.nan, X),), {"axis": 1}),
    ("nanmean", (np.where(X > 1, np.nan, X),), {"axis": (0, 1)}),
    ("nanmax", (np.where(X > 1, np.nan, X),), {"axis": -1, "keepdims": True}),
    ("nanmin", (np.where(X > 1, np.nan, X),), {}),
    ("var", (Z,), {"axis": 1}),
    ("var", (Z,), {"ddof": 1, "keepdims": True}),
    ("std", (Z,), {"axis": 0}),
    ("unique", (REPEATS,), {}),
    (
        "unique",
        (REPEATS,),
        {"return_index": True, "return_inverse": True, "return_counts": True},
    ),
    ("unique", (REPEATS,), {"return_counts": True, "equal_nan": False}),
    ("unique", (ROWS,), {"axis": 0, "return_inverse": True}),
    ("unique", (ROWS.T,), {"axis": 1, "return_index": True}),
]


@pytest.mark.parametrize("name,args,kwargs", CALLS, ids=[c[0] for c in CALLS])
def test_values_match_numpy(name, args, kwargs):
    expected = getattr(np, name)(*args, **kwargs)
    _same(getattr(tnp, name)(*args, **kwargs), expected)
    # np.<name> on a traced first argument dispatches to tapeflow and gives the same value.
    traced = _traced_value(lambda a: getattr(np, name)(a, *args[1:], **kwargs), args[0])
    _same(traced, expected)
    wanted = list(expected) if isinstance(expected, (list, tuple)) else [expected]
    for got, want in zip(tp.tree_util.tree_leaves(traced), wanted, strict=True):
        assert np.result_type(got) == np.result_type(want)  # var of complex input is real


def _weighted_unique(x):
    return np.sum(np.unique(x) * np.arange(1.0, 4.0))


# Answers that were silently wrong, each against a value worked out by hand:
# (name, what is computed, expected).
SILENT_ERRORS = [
    # each distinct value passes its cotangent to its first occurrence
    (
        "grad-unique",
        lambda: tp.grad(_weighted_unique)(np.array([3.0, 1.0, 3.0, 2.0])),
        [3, 1, 0, 2],
    ),
    (
        "grad-unique-rows",
        lambda: tp.grad(lambda m: np.sum(np.unique(m, axis=0) ** 2))(ROWS[:3]),
        [[2.0, 4.0], [0.0, 2.0], [0.0, 0.0]],
    ),
    ("jvp-unique", lambda: tp.jvp(tnp.unique, (REPEATS[:5],), (np.arange(5.0),))[1], [1, 3, 0]),
    # mean(|d|^2), a real number, for complex input (numpy's definition)
    ("tnp.var-complex", lambda: tnp.var(np.array([1j, -1j])), 1.0),
    ("np.var-traced-complex", lambda: tp.vjp(np.var, np.array([1j, -1j]))[0], 1.0),
    ("np.std-traced-complex", lambda: tp.vjp(np.std, np.array([2 + 1j, -2 - 1j]))[0], 5**0.5),
    # the standard deviation of one value is always 0: so is its derivative
    ("grad-std-one-value", lambda: tp.grad(np.std)(np.array([3.0])), [0.0]),
    (
        "grad-std-axis-of-length-1",
        lambda: tp.grad(lambda x: np.sum(np.std(x, axis=1)))(np.ones((2, 1))),
        [[0.0], [0.0]],
    ),
    ("hessian-std-one-value", lambda: tp.hessian(tnp.std)(np.array([3.0])), [[0.0]]),
    ("jvp-std-one-value", lambda: tp.jvp(tnp.std, (np.ones(1),), (np.ones(1),))[1], 0.0),
]


@pytest.mark.parametrize("name,compute,expected", SILENT_ERRORS, ids=[c[0] for c in SILENT_ERRORS])
def test_formerly_silent_errors(name, compute, expected):
    got = compute()
    expected = np.asarray(expected)
    assert np.result_type(got).kind == expected.dtype.kind or expected.dtype.kind in "iu"
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_gradient_of_std_at_equal_values_is_zero_and_var_of_complex_is_real():
    # Equal values: std is 0 there and not differentiable; 0 is its smallest subgradient.
    np.testing.assert_array_equal(tp.grad(tnp.std)(np.full(3, 2.0)), np.zeros(3))
    z = np.array([1 + 2j, 3 - 1j, 0.5j])
    g = tp.grad(np.var)(z)  # d/dx - i d/dy of mean|z - mean(z)|^2 is 2 conj(d) / n
    np.testing.assert_allclose(g, 2 * np.conj(z - z.mean()) / 3)


def test_prod_gradient_with_zeros_first_and_second_order():
    x = np.array([0.0, 2.0, 0.0, 3.0])
    np.testing.assert_array_equal(tp.grad(tnp.prod)(x), [0.0, 0.0, 0.0, 0.0])
    y = np.array([0.0, 2.0, 5.0, 3.0])
    np.testing.assert_array_equal(tp.grad(tnp.prod)(y), [30.0, 0.0, 0.0, 0.0])
    hessian_row0 = tp.grad(lambda z: tp.grad(tnp.prod)(z)[0])(y)
    np.testing.assert_array_equal(hessian_row0, [0.0, 15.0, 6.0, 10.0])
    # two zeros: the mixed second derivative at the two zero positions is the rest's product.
    hessian_row0 = tp.grad(lambda z: tp.grad(tnp.prod)(z)[0])(x)
    np.testing.assert_array_equal(hessian_row0, [0.0, 0.0, 6.0, 0.0])
    assert np.isfinite(tp.grad(lambda z: tnp.sum(tnp.cumprod(z)))(x)).all()


def test_max_ties_share_and_nan_entries_get_zero():
    g = tp.grad(lambda x: tnp.max(x))(np.array([1.0, 3.0, 3.0, 3.0]))
    np.testing.assert_allclose(g, [0.0, 1 / 3, 1 / 3, 1 / 3])
    g = tp.grad(lambda x: tnp.ptp(x))(np.array([1.0, 1.0, 2.0]))
    np.testing.assert_allclose(g, [-0.5, -0.5, 1.0])
    x = np.array([1.0, np.nan, 2.0])
    np.testing.assert_array_equal(tp.grad(tnp.nanmean)(x), [0.5, 0.0, 0.5])
    np.testing.assert_array_equal(tp.grad(np.nanmax)(x), [0.0, 0.0, 1.0])


def test_index_valued_functions_return_plain_values_under_grad():
    seen = {}

    def f(x):
        seen["argmax"] = np.argmax(x)
        seen["argmin"] = x.argmin()
        seen["argsort"] = np.argsort(x)
        seen["searchsorted"] = np.searchsorted(np.sort(x), 0.0)
        _, seen["unique_index"], seen["unique_inverse"], seen["unique_counts"] = np.unique(
            x, return_index=True, return_inverse=True, return_counts=True
        )
        seen["all"] = np.all(x > -10)
        seen["any"] = x.any()
        seen["count_nonzero"] = np.count_nonzero(x)
        return np.sum(x)

    x = np.array([0.3, -1.2, 2.5, 0.3])
    tp.grad(f)(x)
    for name, value in seen.items():
        assert isinstance(value, (np.ndarray, np.generic)), name
    assert seen["argmax"] == 2 and seen["argmin"] == 1 and seen["count_nonzero"] == 4
    np.testing.assert_array_equal(seen["unique_index"], [1, 0, 2])
    np.testing.assert_array_equal(seen["unique_inverse"], [1, 0, 2, 1])
    np.testing.assert_array_equal(seen["unique_counts"], [1, 2, 1])
    assert seen["all"] and seen["any"]


def test_split_pieces_are_differentiable():
    def f(x):
        a, b, c = np.split(x, [1, 3])
        return np.sum(a) + 2 * np.sum(b) + 3 * np.sum(c)

    np.testing.assert_array_equal(tp.grad(f)(np.ones(5)), [1.0, 2.0, 2.0, 3.0, 3.0])


def test_sort_gradient_follows_the_permutation():
    g = tp.grad(lambda x: np.sort(x) @ np.array([1.0, 10.0, 100.0]))(np.array([3.0, 1.0, 2.0]))
    np.testing.assert_array_equal(g, [100.0, 1.0, 10.0])
    g = tp.grad(lambda x: tnp.median(x))(np.array([5.0, 1.0, 3.0, 4.0]))
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.5, 0.5])


def test_float32_stays_float32():
    x = X.astype(np.float32)
    for f in (
        lambda x: tnp.prod(x, axis=1),
        lambda x: tnp.cumprod(x, axis=0),
        lambda x: tnp.var(x, ddof=1),
        lambda x: tnp.nanmean(x, axis=0),
        lambda x: tnp.quantile(x, [0.3, 0.6], axis=1),
        lambda x: tnp.diff(x, prepend=1.0),
        lambda x: tnp.gradient(x, 0.5),
        lambda x: tnp.convolve(x[0, 0], x[1, 0]),
        lambda x: tnp.interp(x[0], np.arange(3, dtype=np.float32), x[1, :, 0]),
    ):
        leaves = tp.tree_util.tree_leaves(f(x))
        assert all(np.asarray(o).dtype == np.float32 for o in leaves)
        g = tp.grad(lambda x, f=f: sum(tnp.sum(o) for o in tp.tree_util.tree_leaves(f(x))))(x)
        assert g.dtype == np.float32 and np.any(g != 0)


def test_clear_errors():
    with pytest.raises(NotImplementedError, match="method='linear'"):
        tnp.quantile(V, 0.5, method="nearest")
    with pytest.raises(ValueError, match="equal division"):
        tnp.split(V, 3)
    with pytest.raises(ValueError, match="distances must match"):
        tnp.gradient(V, np.arange(3.0))
    with pytest.raises(TypeError, match="out="):
        tnp.prod(V, out=np.empty(()))


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda x: tnp.pad(x, 1, mode="nearest"), ValueError, "mode 'nearest' is not supported"),
        (lambda x: tnp.pad(x, 1, mode="edge", stat_length=2), TypeError, r"\['stat_length'\]"),
        (lambda x: tnp.pad(x, 1, "reflect", reflect_type="up"), ValueError, "'even' or 'odd'"),
        (lambda x: tnp.pad(x, -1, mode="wrap"), ValueError, "can't contain negative values"),
        (lambda x: tnp.pad(x, ((1, 2, 3),), mode="edge"), ValueError, "not a \\(before, after\\)"),
        (lambda x: tnp.pad(x[:0], 1, mode="mean"), ValueError, "can't extend empty axis 0"),
        (lambda x: tnp.pad(x, 1, "maximum", stat_length=0), ValueError, "stat_length of 0"),
        (lambda x: tnp.pad(x, 1, "linear_ramp", end_values=x[0]), TypeError, "must be a constant"),
        (lambda x: tnp.pad(x, 1, mode=np.pad), NotImplementedError, "a function as mode"),
    ],
)
def test_pad_errors_say_what_is_wrong(call, error, match):
    with pytest.raises(error, match=match):
        tp.grad(lambda x: tnp.sum(call(x)))(V)


JIT_FUNS = {
    "prod-grad": lambda x: tp.grad(lambda z: tnp.sum(tnp.prod(z, axis=0)))(x),
    "cumprod-grad": lambda x: tp.grad(lambda z: tnp.sum(tnp.cumprod(z, axis=1) ** 2))(x),
    "sort-grad": lambda x: tp.grad(lambda z: tnp.sum(tnp.sort(z, axis=0)[0] ** 3))(x),
    "median": lambda x: tnp.median(x, axis=1),
    "quantile-grad": lambda x: tp.grad(lambda z: tnp.sum(tnp.quantile(z, [0.2, 0.7]) ** 2))(x),
    "nanmean": lambda x: tnp.nanmean(x, axis=0),
    "nanmax-grad": lambda x: tp.grad(lambda z: tnp.sum(tnp.nanmax(z, axis=1)))(x),
    "interp-x": lambda x: tnp.interp(x, np.arange(4.0), np.arange(4.0) ** 2),
    "interp-fp-grad": lambda x: tp.grad(
        lambda z: tnp.sum(tnp.interp(X[0, 0], np.arange(4.0), z[0]))
    )(x),
}


@pytest.mark.parametrize("name", sorted(JIT_FUNS))
def test_jit_replays_with_new_values(name):
    """Permutations, NaN masks and segment indices depend on the values: tp.jit must
    record them, not bake in those of the first call."""
    f = JIT_FUNS[name]
    jf = tp.jit(f)
    rng = np.random.default_rng(5)
    for _ in range(3):
        x = rng.standard_normal((3, 4)) * 2
        x[rng.integers(3), rng.integers(4)] = np.nan if name.startswith("nan") else 0.5
        np.testing.assert_allclose(jf(x), f(x), rtol=1e-12, atol=1e-12)
    assert jf.trace_count == 1


def test_python_lists_are_accepted_like_numpy():
    data = [3.0, 1.0, np.nan, 5.0]
    np.testing.assert_allclose(tnp.nanmean(data), np.nanmean(data))
    np.testing.assert_allclose(tnp.nanmax(data), 5.0)
    np.testing.assert_array_equal(tnp.sort([3.0, 1.0, 2.0]), [1.0, 2.0, 3.0])
    _same(tnp.array_split([1.0, 2.0, 3.0], 2), np.array_split([1.0, 2.0, 3.0], 2))
    assert tnp.sum(np.ones(3, np.float32), dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize(
    "f",
    [
        lambda x: tnp.sort(x, axis=0),
        lambda x: tnp.median(x, axis=-1),
        lambda x: tnp.quantile(x, [0.3, 0.6], axis=1),
        lambda x: tnp.partition(x, (0, 2)),
    ],
    ids=["sort", "median", "quantile", "partition"],
)
def test_vmap_of_sorting_is_batched_and_matches_a_loop(f):
    import warnings

    xs = np.random.default_rng(2).standard_normal((5, 3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback to a Python loop over the batch
        out = tp.vmap(f)(xs)
        grads = tp.grad(lambda xs: tnp.sum(tp.vmap(f)(xs) ** 2))(xs)
    np.testing.assert_allclose(out, np.stack([f(x) for x in xs]))
    expected = tp.grad(lambda xs: sum(tnp.sum(f(x) ** 2) for x in xs))(xs)
    np.testing.assert_allclose(grads, expected)


# ----- property: any shape, any axes, keepdims or not --------------------------------
try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is in the test extra
    given = None

if given is not None:

    @st.composite
    def _shape_and_axis(draw):
        shape = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)))
        ndim = len(shape)
        kind = draw(st.sampled_from(["none", "int", "tuple"]))
        if kind == "none":
            axis = None
        elif kind == "int":
            axis = draw(st.integers(-ndim, ndim - 1))
        else:
            axis = tuple(draw(st.sets(st.integers(0, ndim - 1), min_size=1)))
        return shape, axis, draw(st.booleans())

    REDUCERS = {
        "sum": tnp.sum,
        "mean": tnp.mean,
        "prod": tnp.prod,
        "max": tnp.max,
        "var": tnp.var,
        "median": tnp.median,
        "nanmean": tnp.nanmean,
    }

    @settings(max_examples=40, deadline=None)
    @given(_shape_and_axis(), st.sampled_from(sorted(REDUCERS)), st.integers(0, 2**16))
    def test_reductions_any_axes_against_finite_differences(spec, name, seed):
        shape, axis, keepdims = spec
        rng = np.random.default_rng(seed)
        # distinct values (no ties for max/median), some exact zeros for prod.
        x = (rng.permutation(int(np.prod(shape))) * 0.37 - 1.0).reshape(shape)
        if name == "prod":
            x.reshape(-1)[::2] = 0.0
        f = lambda x: REDUCERS[name](x, axis=axis, keepdims=keepdims)
        np.testing.assert_allclose(f(x), getattr(np, name)(x, axis=axis, keepdims=keepdims))
        tp.check_grads(f, (x,), order=2, modes=("rev", "fwd"))
