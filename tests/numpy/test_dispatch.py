"""Plain ``import numpy as np`` code under tapeflow transforms (NEP 13 / NEP 18).

The gradients here are compared with the same function written with
``tapeflow.numpy`` and with finite differences: one registry serves both.
"""

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow.numpy.declare import NUMPY_DISPATCH

RNG = np.random.default_rng(0)


def _data(*shape):
    return RNG.standard_normal(shape)


# ----- numpy functions and operators dispatch to tapeflow ---------------------
def test_one_registry_for_np_and_tnp():
    assert NUMPY_DISPATCH[np.exp] is tnp.exp
    assert NUMPY_DISPATCH[np.sum] is tnp.sum
    assert NUMPY_DISPATCH[np.matmul] is tnp.matmul


@pytest.mark.parametrize(
    "name,np_fun,tnp_fun",
    [
        ("exp", lambda x: np.sum(np.exp(x)), lambda x: tnp.sum(tnp.exp(x))),
        ("tanh", lambda x: np.tanh(x).sum(), lambda x: tnp.tanh(x).sum()),
        (
            "sum-axis",
            lambda x: np.sum(np.sin(x), axis=0) @ np.arange(3.0),
            lambda x: tnp.sum(tnp.sin(x), axis=0) @ np.arange(3.0),
        ),
        (
            "mean-keepdims",
            lambda x: (np.mean(x, axis=1, keepdims=True) * x).sum(),
            lambda x: (tnp.mean(x, axis=1, keepdims=True) * x).sum(),
        ),
        ("max", lambda x: np.max(x, axis=-1).sum(), lambda x: tnp.max(x, axis=-1).sum()),
        (
            "concatenate",
            lambda x: (np.concatenate([x, x**2], axis=1) ** 2).sum(),
            lambda x: (tnp.concatenate([x, x**2], axis=1) ** 2).sum(),
        ),
        (
            "transpose-reshape",
            lambda x: np.reshape(np.transpose(x), (-1,)) @ np.arange(6.0),
            lambda x: tnp.reshape(tnp.transpose(x), (-1,)) @ np.arange(6.0),
        ),
        (
            "where",
            lambda x: np.where(x > 0, x, 0.1 * x).sum(),
            lambda x: tnp.where(x > 0, x, 0.1 * x).sum(),
        ),
        (
            "sqrt-abs",
            lambda x: np.sqrt(np.abs(x) + 1.0).sum(),
            lambda x: tnp.sqrt(tnp.abs(x) + 1.0).sum(),
        ),
    ],
)
def test_numpy_function_gradient_equals_tnp_gradient(name, np_fun, tnp_fun):
    x = _data(2, 3)
    np.testing.assert_allclose(tp.grad(np_fun)(x), tp.grad(tnp_fun)(x), rtol=1e-12)
    tp.check_grads(np_fun, (x,), order=2, modes=("rev", "fwd"))


def test_matmul_both_sides_and_ndarray_on_the_left():
    W = _data(3, 4)
    A = _data(5, 3)

    def f(x, W):
        return np.sum((A @ x) @ W)  # ndarray @ tracer, then tracer @ tracer

    x = _data(3, 3)
    tp.check_grads(f, (x, W), order=2, modes=("rev", "fwd"))
    gx = tp.grad(f)(x, W)
    np.testing.assert_allclose(gx, A.T @ np.ones((5, 4)) @ W.T)


@pytest.mark.parametrize(
    "op",
    [
        lambda a, x: a + x,
        lambda a, x: a - x,
        lambda a, x: a * x,
        lambda a, x: a / (x * x + 1.0),
        lambda a, x: np.float64(2.0) * x + np.float32(3.0) - a,
        lambda a, x: a**2 * x,
    ],
)
def test_ndarray_and_numpy_scalar_operands_on_the_left(op):
    a = _data(3)
    tp.check_grads(lambda x: op(a, x).sum(), (_data(3),), modes=("rev", "fwd"))
    assert type(tp.grad(lambda x: op(a, x).sum())(_data(3))) is np.ndarray


def test_linalg_solve_dispatches():
    A = _data(3, 3) + 3 * np.eye(3)
    b = _data(3)
    tp.check_grads(lambda A, b: np.linalg.solve(A, b).sum(), (A, b), modes=("rev", "fwd"))


def test_training_loop_written_only_with_numpy():
    """A logistic regression written with ``import numpy as np`` trains under tp.grad."""
    X = _data(64, 3)
    y = (X @ np.array([1.5, -2.0, 0.5]) > 0).astype(float)

    def loss(w):
        logits = X @ w[:3] + w[3]
        p = 1.0 / (1.0 + np.exp(-logits))
        return -np.mean(y * np.log(p + 1e-9) + (1 - y) * np.log(1 - p + 1e-9))

    w = np.zeros(4)
    first = loss(w)
    for _ in range(100):
        w = w - 1.0 * tp.grad(loss)(w)
    assert loss(w) < 0.5 * first
    assert np.mean((X @ w[:3] + w[3] > 0) == (y > 0)) > 0.9


# ----- keyword arguments ----------------------------------------------------------
def test_keyword_arguments_with_numpy_defaults_are_accepted():
    f = lambda x: np.sum(x, axis=0, out=None, keepdims=False).sum()  # noqa: E731
    np.testing.assert_allclose(tp.grad(f)(_data(2, 3)), np.ones((2, 3)))


def test_ufunc_dtype_casts_inputs_and_gradient_keeps_input_dtype():
    x = _data(3)
    out = tp.vjp(lambda x: np.exp(x, dtype=np.float32), x)[0]
    assert out.dtype == np.float32
    g = tp.grad(lambda x: np.exp(x, dtype=np.float32).sum())(x)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, np.exp(x), rtol=1e-6)


def test_reduction_dtype_keyword():
    x = _data(2, 3).astype(np.float32)
    g = tp.grad(lambda x: np.sum(x, dtype=np.float64))(x)
    assert g.dtype == np.float32


def test_ufunc_where_keyword_raises_clearly():
    with pytest.raises(TypeError, match=r"numpy\.exp\(\.\.\., where=\.\.\.\).*np\.where"):
        tp.grad(lambda x: np.exp(x, where=np.array([True, False, True])).sum())(_data(3))


def test_unsupported_keyword_raises_naming_it():
    with pytest.raises(TypeError, match=r"numpy\.quantile but not its keyword argument weights="):
        tp.grad(lambda x: np.quantile(x, 0.5, weights=np.ones(3), method="inverted_cdf"))(_data(3))


@pytest.mark.parametrize(
    "fun",
    [
        lambda x: np.exp(x, out=np.empty(3)).sum(),
        lambda x: np.sum(x, out=np.empty(())),
        lambda x: np.add(x, 1.0, out=(np.empty(3),)).sum(),
    ],
)
def test_out_keyword_raises_in_place_error(fun):
    with pytest.raises(TypeError, match=r"out=.*in place"):
        tp.grad(fun)(_data(3))


# ----- ufunc methods ----------------------------------------------------------------
@pytest.mark.parametrize(
    "name,fun,expected",
    [
        ("add.reduce", lambda x: np.add.reduce(x), lambda x: x.sum(axis=0)),
        (
            "add.reduce-axis1",
            lambda x: np.add.reduce(x, axis=1, keepdims=True),
            lambda x: x.sum(axis=1, keepdims=True),
        ),
        (
            "add.reduce-None-initial",
            lambda x: np.add.reduce(x, axis=None, initial=2.0),
            lambda x: x.sum() + 2.0,
        ),
        ("maximum.reduce", lambda x: np.maximum.reduce(x, axis=1), lambda x: x.max(axis=1)),
        ("minimum.reduce", lambda x: np.minimum.reduce(x), lambda x: x.min(axis=0)),
        (
            "maximum.reduce-initial",
            lambda x: np.maximum.reduce(x, axis=1, initial=0.5),
            lambda x: np.maximum(x.max(axis=1), 0.5),
        ),
        ("multiply.reduce", lambda x: np.multiply.reduce(x, axis=1), lambda x: x.prod(axis=1)),
        ("add.accumulate", lambda x: np.add.accumulate(x, axis=1), lambda x: np.cumsum(x, axis=1)),
        (
            "multiply.accumulate",
            lambda x: np.multiply.accumulate(x, axis=1),
            lambda x: np.cumprod(x, axis=1),
        ),
        (
            "logaddexp.reduce",
            lambda x: np.logaddexp.reduce(x, axis=1),
            lambda x: np.log(np.exp(x).sum(axis=1)),
        ),
        ("fmax.reduce", lambda x: np.fmax.reduce(x), lambda x: x.max(axis=0)),
        ("multiply.outer", lambda x: np.multiply.outer(x[0], x[1]), lambda x: np.outer(x[0], x[1])),
        (
            "subtract.outer",
            lambda x: np.subtract.outer(x, x[0]),
            lambda x: x[:, :, None] - x[0][None, None, :],
        ),
        (
            "power.outer",
            lambda x: np.power.outer(np.abs(x[0]) + 1, x[1]),
            lambda x: (np.abs(x[0]) + 1)[:, None] ** x[1][None, :],
        ),
    ],
)
def test_ufunc_methods(name, fun, expected):
    x = np.array([[0.3, -1.2, 0.7], [1.1, 0.4, -0.6]])
    np.testing.assert_allclose(fun(x), expected(x))
    tp.check_grads(fun, (x,), order=2, modes=("rev", "fwd"))


def test_ufunc_reduce_with_dtype_computes_in_that_dtype():
    x = np.array([[0.3, -1.2, 0.7], [1.1, 0.4, -0.6]])
    out = tp.vjp(lambda x: np.add.reduce(x, dtype=np.float32), x)[0]
    assert out.dtype == np.float32
    g = tp.grad(lambda x: np.add.reduce(x, dtype=np.float32).sum())(x)
    assert g.dtype == np.float64
    np.testing.assert_array_equal(g, np.ones_like(x))


def test_ufunc_reduce_ties_split_equally():
    g = tp.grad(lambda x: np.maximum.reduce(x))(np.array([2.0, 2.0, 1.0]))
    np.testing.assert_allclose(g, [0.5, 0.5, 0.0])


def test_ufunc_method_without_rule_names_it():
    with pytest.raises(TypeError, match=r"tapeflow cannot differentiate numpy\.add\.reduceat yet"):
        tp.grad(lambda x: np.add.reduceat(x, [0, 2]).sum())(_data(4))
    with pytest.raises(TypeError, match=r"cannot differentiate numpy\.maximum\.accumulate"):
        tp.grad(lambda x: np.maximum.accumulate(x).sum())(_data(4))


# ----- functions without a rule fail loudly, naming the function -----------------------
@pytest.mark.parametrize(
    "fun,name",
    [
        (lambda x: np.trapezoid(x), "numpy.trapezoid"),
        (lambda x: np.corrcoef(x.reshape(2, 2)).sum(), "numpy.corrcoef"),
        (lambda x: np.polyfit(np.arange(4.0), x, 1).sum(), "numpy.polyfit"),
        (lambda x: np.unwrap(x).sum(), "numpy.unwrap"),
        (lambda x: np.spacing(x).sum(), "numpy.spacing"),
    ],
)
def test_unsupported_numpy_function_raises_type_error_naming_it(fun, name):
    message = f"tapeflow cannot differentiate {name} yet; see docs/coverage.md"
    with pytest.raises(TypeError, match=message.replace(".", r"\.")):
        tp.grad(fun)(_data(4))


# ----- conversions to plain values ----------------------------------------------------
@pytest.mark.parametrize("convert", [np.asarray, np.array, lambda x: np.asarray(x, dtype=float)])
def test_asarray_of_traced_array_raises_clear_error(convert):
    with pytest.raises(TypeError, match="silently drop its gradient") as info:
        tp.grad(lambda x: convert(x).sum())(_data(3))
    assert "tapeflow" in str(info.value) or "traced array" in str(info.value)


def test_python_scalars_and_comparisons_are_plain_values():
    seen = {}

    def f(x):
        s = x.sum()
        seen["float"] = float(s)
        seen["int"] = int(x[0])
        seen["bool"] = bool(x[0] > 0)
        seen["mask"] = x > 0
        seen["eq"] = np.equal(x, x)
        if s > 0:  # Python control flow on a traced comparison
            return (x * x).sum()
        return -s

    x = np.array([2.5, -1.0, 3.0])
    g = tp.grad(f)(x)
    np.testing.assert_allclose(g, 2 * x)
    assert type(seen["float"]) is float and seen["float"] == 4.5
    assert type(seen["int"]) is int and seen["int"] == 2
    assert seen["bool"] is True
    assert type(seen["mask"]) is np.ndarray and seen["mask"].dtype == bool
    np.testing.assert_array_equal(seen["mask"], [True, False, True])
    assert type(seen["eq"]) is np.ndarray and seen["eq"].all()


# ----- creation and introspection helpers ----------------------------------------------
def test_creation_and_introspection_helpers_accept_traced_arrays():
    seen = {}

    def f(x):
        seen["zeros"] = np.zeros_like(x)
        seen["ones32"] = np.ones_like(x, dtype=np.float32)
        seen["empty"] = np.empty_like(x, shape=(2,))
        seen["full"] = np.full_like(x, 7.0)
        seen["facts"] = (np.shape(x), np.ndim(x), np.size(x), np.size(x, 0))
        seen["kinds"] = (np.iscomplexobj(x), np.isrealobj(x), np.result_type(x, np.float32))
        seen["close"] = (np.isclose(x, 2.0), np.allclose(x, x), np.array_equal(x, x * 2))
        return x.sum()

    tp.grad(f)(np.array([1.0, 2.0, 3.0]))
    for key in ("zeros", "ones32", "empty", "full"):
        assert type(seen[key]) is np.ndarray, key
    np.testing.assert_array_equal(seen["zeros"], np.zeros(3))
    assert seen["ones32"].dtype == np.float32 and seen["empty"].shape == (2,)
    np.testing.assert_array_equal(seen["full"], [7.0, 7.0, 7.0])
    assert seen["facts"] == ((3,), 1, 3, 3)
    assert seen["kinds"] == (False, True, np.float64)
    np.testing.assert_array_equal(seen["close"][0], [False, True, False])
    assert seen["close"][1:] == (True, False)


def test_full_like_with_traced_fill_value_is_differentiable():
    # numpy dispatches full_like on its first argument only: traced a, or tnp.full_like.
    g = tp.grad(lambda x: np.full_like(x, x[1]).sum())(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(g, [0.0, 2.0])
    g = tp.grad(lambda x: tnp.full_like(np.zeros((2, 3)), x[1]).sum())(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(g, [0.0, 6.0])


@pytest.mark.parametrize("endpoint", [True, False])
def test_linspace_differentiable_in_its_endpoints(endpoint):
    a, b = np.array([1.0, -2.0]), np.array([3.0, 5.0])
    fun = lambda a, b: np.linspace(a, b, 5, endpoint=endpoint, axis=-1)  # noqa: E731
    expected = np.linspace(a, b, 5, endpoint=endpoint, axis=-1)
    np.testing.assert_allclose(tp.vjp(fun, a, b)[0], expected)
    tp.check_grads(fun, (a, b), order=2, modes=("rev", "fwd"))
    g = tp.grad(lambda s: tnp.linspace(0.0, s, 5).sum())(2.0)
    assert float(g) == 2.5


# float32 and complex64 endpoints gave float64/complex128 under a transform.
_LINSPACE_ENDPOINTS = [
    (np.float32(1.0), np.float32(3.5)),
    (np.float32(1.0), 3.5),  # a Python float is weak, as in numpy
    (np.array([1.0, -2.0], np.float32), np.array([3.0, 5.0], np.float32)),
    (np.complex64(1 + 1j), np.complex64(2 - 3j)),
    (np.complex64(1 + 1j), 2.0),
]


@pytest.mark.parametrize("start,stop", _LINSPACE_ENDPOINTS)
def test_linspace_keeps_the_endpoints_dtype_under_transforms(start, stop):
    want = np.linspace(start, stop, 4)
    fun = lambda a: tnp.linspace(a, stop, 4)  # noqa: E731
    value, tangent = tp.jvp(fun, (start,), (np.ones_like(start),))
    assert value.dtype == want.dtype and tangent.dtype == want.dtype
    np.testing.assert_allclose(value, want, rtol=1e-6)
    assert tp.jit(fun)(start).dtype == want.dtype
    batch = tp.vmap(fun)(np.stack([start, start]))
    assert batch.dtype == want.dtype


def test_numpy_array_of_a_list_of_traced_scalars_raises_and_tnp_array_works():
    def bad(x):
        return np.array([x[0], x[1] * 2.0]).sum()

    with pytest.raises(TypeError, match="drop its gradient"):
        tp.grad(bad)(np.array([1.0, 2.0]))
    good = lambda x: (tnp.array([x[0], x[1] * 2.0]) ** 2).sum()  # noqa: E731
    np.testing.assert_allclose(tp.grad(good)(np.array([1.0, 2.0])), [2.0, 16.0])


def test_mlp_written_only_with_numpy_trains():
    """A two-layer classifier in plain numpy (relu, stable log-softmax, one-hot NLL)."""
    rng = np.random.default_rng(3)
    n, classes = 150, 3
    centers = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    labels = rng.integers(0, classes, n)
    X = centers[labels] + 0.6 * rng.standard_normal((n, 2))
    onehot = np.eye(classes)[labels]

    def loss(params):
        h = np.maximum(X @ params["W1"] + params["b1"], 0.0)
        logits = h @ params["W2"] + params["b2"]
        shifted = logits - np.max(logits, axis=1, keepdims=True)
        log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
        return -np.mean(np.sum(onehot * log_probs, axis=1))

    params = {
        "W1": 0.5 * rng.standard_normal((2, 16)),
        "b1": np.zeros(16),
        "W2": 0.5 * rng.standard_normal((16, classes)),
        "b2": np.zeros(classes),
    }
    start = loss(params)
    step = tp.value_and_grad(loss)
    for _ in range(60):
        _, g = step(params)
        params = {k: params[k] - 0.5 * g[k] for k in params}
    assert loss(params) < 0.3 * start
    h = np.maximum(X @ params["W1"] + params["b1"], 0.0)
    accuracy = np.mean(np.argmax(h @ params["W2"] + params["b2"], axis=1) == labels)
    assert accuracy > 0.9


def test_like_keyword_creates_plain_arrays_or_stacks_traced_pieces():
    seen = {}

    def f(x):
        seen["zeros"] = np.zeros(3, like=x)
        seen["arange"] = np.arange(3, like=x)
        seen["eye"] = np.eye(2, like=x)
        seen["asarray"] = np.asarray([1.0, 2.0], like=x)
        return (np.array([x[0], 2.0 * x[1]], like=x) ** 2).sum()

    g = tp.grad(f)(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(g, [2.0, 16.0, 0.0])
    for key, value in seen.items():
        assert type(value) is np.ndarray, key
    np.testing.assert_array_equal(seen["arange"], [0, 1, 2])


def test_tnp_array_of_traced_values_honours_dtype_and_ndmin():
    def f(x):
        a = tnp.array(x, ndmin=3, dtype=np.float32)
        assert a.shape == (1, 1, 2) and a.dtype == np.float32
        b = tnp.array([x[0], [1.0, x[1]][1]], dtype=np.float32)
        assert b.shape == (2,) and b.dtype == np.float32
        return (a**2).sum() + (b**3).sum()

    np.testing.assert_allclose(tp.grad(f)(np.array([1.0, 2.0])), [5.0, 16.0])


# Lists and tuples holding traced arrays where numpy takes an array-like: (name, the function
# written with a list, the same function written with the stacked array).
P = np.array([1.0, -2.0, 4.0])
SEQUENCE_CALLS = [
    (
        "np.dot",
        lambda x: np.dot([x[0], x[1], 1.0], x),
        lambda x: np.dot(tnp.stack([x[0], x[1], tnp.ones_like(x[2])]), x),
    ),
    (
        "np.dot-tuple",
        lambda x: np.dot(x, (x[2], 2.0 * x[0], x[1])),
        lambda x: np.dot(x, tnp.stack([x[2], 2.0 * x[0], x[1]])),
    ),
    ("np.add", lambda x: np.sum(np.add([x[0], x[1], x[2]], x)), lambda x: np.sum(np.add(x, x))),
    (
        "np.where",
        lambda x: np.sum(np.where(x > 0, [x[1], x[2], x[0]], x)),
        lambda x: np.sum(np.where(x > 0, x[[1, 2, 0]], x)),
    ),
    (
        "np.mean-with-traced-weights",
        lambda x: np.average([x[0], x[1]], weights=x[1:]),
        lambda x: np.average(x[:2], weights=x[1:]),
    ),
    ("tnp.var", lambda x: tnp.var([x[0], x[2]]), lambda x: tnp.var(x[::2])),
    ("tnp.std", lambda x: tnp.std((x[0], x[1], x[2]), ddof=1), lambda x: tnp.std(x, ddof=1)),
    ("tnp.linalg.norm", lambda x: tnp.linalg.norm([x[0], x[2]]), lambda x: tnp.linalg.norm(x[::2])),
    (
        "tnp.dot",
        lambda x: tnp.dot([x[0], x[2], 1.0], x),
        lambda x: tnp.dot(tnp.stack([x[0], x[2], tnp.ones_like(x[0])]), x),
    ),
    (
        "tnp.inner",
        lambda x: tnp.inner([x[0], x[2], 1.0], x),
        lambda x: tnp.inner(tnp.stack([x[0], x[2], tnp.ones_like(x[0])]), x),
    ),
    (
        "tnp.outer",
        lambda x: tnp.sum(tnp.outer([x[0], 1.0], x) ** 2),
        lambda x: tnp.sum(tnp.outer(tnp.stack([x[0], tnp.ones_like(x[0])]), x) ** 2),
    ),
    (
        "np.concatenate-keeps-pieces",
        lambda x: np.sum(np.concatenate([x, x[:1]]) ** 2),
        lambda x: np.sum(x**2) + x[0] ** 2,
    ),
    (
        "np.linalg.multi_dot-keeps-pieces",
        lambda x: np.linalg.multi_dot([x, np.ones((3, 2)), x[:2]]),
        lambda x: np.sum(x) * np.sum(x[:2]),
    ),
]


@pytest.mark.parametrize(
    "name,with_list,stacked", SEQUENCE_CALLS, ids=[c[0] for c in SEQUENCE_CALLS]
)
def test_lists_of_traced_arrays_are_array_likes(name, with_list, stacked):
    np.testing.assert_allclose(tp.vjp(with_list, P)[0], stacked(P), rtol=1e-12)
    np.testing.assert_allclose(tp.grad(with_list)(P), tp.grad(stacked)(P), rtol=1e-12)
    tp.check_grads(with_list, (P,), order=2, modes=("rev", "fwd"))


@pytest.mark.parametrize("fun", [np.mean, np.sum, np.linalg.norm], ids=lambda f: f.__name__)
def test_a_list_numpy_converts_itself_fails_naming_the_fix(fun):
    # Only the list holds traced arrays: numpy converts it without asking tapeflow.
    with pytest.raises(TypeError, match=r"is converted by numpy itself.*np\.stack\(\[a, b\]\)"):
        tp.grad(lambda x: fun([x[0], x[1]]))(P)
    with pytest.raises(TypeError, match=rf"numpy\.{fun.__name__} was converting its argument"):
        tp.grad(lambda x: fun([x[0], x[1]]))(P)


# tapeflow.numpy's own functions take the same lists, wherever an argument is an array:
# (name, function of a list holding traced values, the same function of the stacked array)
_Q = np.array([[2.0, 0.5], [0.25, 1.5]])
TNP_SEQUENCE_CALLS = [
    ("mean", lambda l: tnp.mean(l), None),
    ("sum-axis", lambda l: tnp.sum(l, axis=0), None),
    ("max", lambda l: tnp.max(l), None),
    ("min-tuple", lambda l: tnp.min(tuple(l)), None),
    ("prod", lambda l: tnp.prod(l), None),
    ("median", lambda l: tnp.median(l), None),
    ("average", lambda l: tnp.average(l, weights=[1.0, 3.0]), None),
    ("average-weights", lambda l: tnp.average(np.array([1.0, -2.0]), weights=l), None),
    ("cumsum", lambda l: tnp.cumsum(l), None),
    ("sort", lambda l: tnp.sort(l), None),
    ("sin", lambda l: tnp.sin(l), None),
    ("add-second", lambda l: tnp.add(np.ones(2), l), None),
    ("where", lambda l: tnp.where(np.array([True, False]), l, [l[1], 2.0]), None),
    ("clip", lambda l: tnp.clip(l, 0.0, [l[0], 1.0]), None),
    ("matmul-second", lambda l: tnp.matmul(_Q, l), None),
    ("dot-second", lambda l: tnp.dot(_Q, l), None),
    ("tensordot", lambda l: tnp.tensordot(_Q, l, 1), None),
    ("einsum", lambda l: tnp.einsum("ij,j->i", _Q, l), None),
    ("concatenate-piece", lambda l: tnp.concatenate([np.ones(1), l]), None),
    ("solve", lambda l: tnp.linalg.solve(_Q, l), None),
    ("lstsq", lambda l: tnp.linalg.lstsq(_Q, l)[0], None),
    ("logsumexp-b", lambda l: tnp.logsumexp(np.array([0.5, 1.0]), b=l), None),
    ("at-set-values", lambda l: tnp.at(np.zeros(3))[1:].set(l), None),
    ("at-add-values", lambda l: tnp.at(np.ones(3))[np.array([0, 2])].add(l), None),
    ("flip", lambda l: tnp.flip(l), None),
    ("copy", lambda l: tnp.copy(l) * 1.0, None),
    ("reshape", lambda l: tnp.reshape(l, (2, 1)), None),
    ("nested", lambda l: tnp.sum([[l[0], 1.0], [2.0, l[1]]], axis=1), "nested"),
]


@pytest.mark.parametrize(
    "name,fun,kind", TNP_SEQUENCE_CALLS, ids=[c[0] for c in TNP_SEQUENCE_CALLS]
)
def test_tnp_functions_take_lists_of_traced_values(name, fun, kind):
    def with_list(x):
        out = fun([x[0] * x[1], x[2]])
        return tnp.sum(out**2)

    def stacked(x):
        pieces = tnp.stack([x[0] * x[1], x[2]])
        out = fun(pieces) if kind is None else fun([pieces[0], pieces[1]])
        return tnp.sum(out**2)

    np.testing.assert_allclose(tp.vjp(with_list, P)[0], stacked(P), rtol=1e-12)
    np.testing.assert_allclose(tp.grad(with_list)(P), tp.grad(stacked)(P), rtol=1e-12)
    tp.check_grads(with_list, (P,), order=1, modes=("rev", "fwd"))


def test_a_users_primitive_gets_its_lists_as_given():
    # Only tapeflow's own primitives read lists as arrays; a user's primitive may take a
    # list of separate arrays.
    seen = []
    count = tp.primitive(lambda xs: seen.append(type(xs)) or float(len(xs)), name="test_count")
    tp.defvjp(count, None)
    assert tp.vjp(lambda x: count([x, x]) + tnp.sum(x), P)[0] == 2.0 + P.sum()
    assert seen == [list]
