"""Traced arrays behave like read-only ndarrays: attributes, methods, errors.

Every ndarray method users call on a traced array is checked against finite
differences in reverse and forward mode (a method that silently dropped the
gradient, autograd's most reported bug, would fail here).
"""

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp

X = np.array([[0.3, -1.2, 0.7], [1.1, 0.4, -0.6]])
W = np.array([[0.5, -1.0], [1.5, 0.75], [0.2, 0.1]])


def _seen(fun, x=X):
    """Run ``fun`` on the traced version of ``x`` and return what it saw."""
    box = {}

    def f(x):
        box["value"] = fun(x)
        return tnp.sum(x)

    tp.grad(f)(x)
    return box["value"]


# ----- static attributes -------------------------------------------------------------
def test_static_attributes_are_plain_values():
    assert _seen(lambda x: x.shape) == (2, 3)
    assert _seen(lambda x: x.ndim) == 2
    assert _seen(lambda x: x.size) == 6
    assert _seen(lambda x: x.dtype) == np.float64
    assert _seen(lambda x: x.dtype, X.astype(np.float32)) == np.float32
    assert _seen(lambda x: len(x)) == 2
    assert _seen(lambda x: x.T.shape) == (3, 2)
    assert type(_seen(lambda x: x.size)) is int


def test_len_of_0d_raises():
    with pytest.raises(TypeError, match="len"):
        _seen(len, np.float64(1.0))


def test_tracer_is_traced_and_repr_names_the_transform():
    assert _seen(tp.is_traced) is True
    assert "Traced" in _seen(repr)


# ----- methods, each checked against finite differences -------------------------------
METHODS = [
    ("T", lambda x: x.T * np.arange(1.0, 7.0).reshape(3, 2)),
    (
        "iteration",
        lambda x: (
            tnp.stack([row * (i + 1.0) for i, row in enumerate(x)])
            if hasattr(tnp, "stack")
            else sum(row * (i + 1.0) for i, row in enumerate(x))
        ),
    ),
    ("reshape-tuple", lambda x: x.reshape((3, 2)) @ np.ones(2)),
    ("reshape-args", lambda x: x.reshape(3, -1) ** 2),
    ("sum", lambda x: x.sum()),
    ("sum-axis", lambda x: x.sum(axis=0, keepdims=True) * x),
    ("mean", lambda x: x.mean(1)),
    ("max", lambda x: x.max(axis=1)),
    ("min", lambda x: x.min()),
    ("astype", lambda x: x.astype(np.float64) * 2.0),
    ("getitem", lambda x: x[1, ::2] + x[:, 0].sum() + x[np.array([0, 0])][..., None, 1]),
    ("dot", lambda x: x.dot(W)),
    ("T.dot", lambda x: x.T.dot(x)),
    ("clip", lambda x: x.clip(-1.0, 1.0)),
    ("prod", lambda x: x.prod(axis=1)),
    ("var", lambda x: x.var(axis=0)),
    ("std", lambda x: x.std(ddof=1)),
    ("cumsum", lambda x: x.cumsum(axis=1)),
    ("flatten", lambda x: x.flatten() * np.arange(6.0)),
    ("ravel", lambda x: x.ravel() ** 3),
    ("squeeze", lambda x: x[None, :, :1].squeeze()),
    ("transpose", lambda x: x.transpose() @ W.T),
    ("transpose-axes", lambda x: x[None].transpose(2, 0, 1) * 2.0),
    ("swapaxes", lambda x: x.swapaxes(0, 1) ** 2),
    ("take", lambda x: x.take(np.array([2, 0, 2]), axis=1)),
    ("repeat", lambda x: x.repeat(2, axis=0) * np.arange(4.0)[:, None]),
    ("conj", lambda x: x.conj() * x),
]


@pytest.mark.parametrize("name,fun", METHODS, ids=[n for n, _ in METHODS])
def test_method_gradient_against_finite_differences(name, fun):
    tp.check_grads(fun, (X,), order=2, modes=("rev", "fwd"))


@pytest.mark.parametrize("name,fun", METHODS, ids=[n for n, _ in METHODS])
def test_method_value_matches_ndarray(name, fun):
    np.testing.assert_allclose(tp.vjp(fun, X)[0], fun(X), rtol=1e-12)


def test_method_gradient_is_never_silently_zero():
    for name, fun in METHODS:
        g = tp.grad(lambda x, fun=fun: tnp.sum(fun(x) ** 2))(X)
        assert np.any(g != 0), f"{name} gave a zero gradient"


def test_comparisons_return_plain_boolean_arrays():
    mask = _seen(lambda x: x > 0)
    assert type(mask) is np.ndarray and mask.dtype == bool
    np.testing.assert_array_equal(mask, X > 0)
    for op in (
        lambda x: x < 0,
        lambda x: x <= 0,
        lambda x: x >= 0,
        lambda x: x == x,
        lambda x: x != 0,
    ):
        assert type(_seen(op)) is np.ndarray


# ----- errors -------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["tofile", "byteswap", "view", "nonzero_inplace", "foo"])
def test_unsupported_attribute_raises_attribute_error_naming_it(name):
    with pytest.raises(AttributeError, match=repr(name)):
        _seen(lambda x: getattr(x, name))


def test_hasattr_is_false_for_unsupported_attributes():
    assert _seen(lambda x: hasattr(x, "tofile")) is False
    assert _seen(lambda x: hasattr(x, "sum")) is True


def test_item_assignment_points_to_the_functional_form():
    with pytest.raises(TypeError, match=r"immutable.*tnp\.at\(x\)\[idx\]\.set\(v\)"):
        _seen(lambda x: x.__setitem__(0, 1.0))


def test_asarray_raises_explaining_the_lost_gradient():
    with pytest.raises(TypeError, match="drop its gradient"):
        _seen(np.asarray)


def test_unhashable():
    with pytest.raises(TypeError):
        _seen(hash)


def test_scalar_conversions():
    assert _seen(lambda x: float(x[0, 0])) == 0.3
    assert _seen(lambda x: int(x[1, 0])) == 1
    assert _seen(lambda x: bool(x[0, 0] > 0)) is True
    assert _seen(lambda x: x[0, 1].item()) == -1.2
    assert _seen(lambda x: x.tolist()) == X.tolist()
    assert _seen(lambda x: complex(x[0, 0])) == 0.3 + 0j


def test_method_without_a_tapeflow_function_raises_attribute_error():
    # ndarray.nonzero has no tapeflow function: the attribute explains, naming it.
    with pytest.raises(AttributeError, match="'nonzero'"):
        _seen(lambda x: x.nonzero())


def test_every_public_ndarray_attribute_is_supported_or_explained():
    # Tracer has no __getattr__ hook (it would slow every attribute read), so each
    # ndarray attribute tapeflow lacks must be a property raising a helpful error.
    for name in dir(np.ndarray):
        if name.startswith("_"):
            continue
        try:
            _seen(lambda x, name=name: getattr(x, name))
        except AttributeError as e:
            assert "tapeflow" in str(e) or "in place" in str(e), (name, str(e))


def test_format_and_round_give_plain_values_for_logging():
    assert _seen(lambda x: f"{x[0, 0]:.2f}") == "0.30"
    assert _seen(lambda x: f"{x.sum():+.1e}") == f"{X.sum():+.1e}"
    assert _seen(lambda x: round(x[1, 0], 1)) == 1.1
    assert _seen(lambda x: round(x[1, 0])) == 1
    assert _seen(lambda x: f"{x[0, 0]}").startswith("Traced<")


@pytest.mark.parametrize("name", ["sort", "partition", "fill", "put", "resize"])
def test_in_place_ndarray_methods_point_to_the_functional_form(name):
    with pytest.raises(AttributeError, match=rf"ndarray\.{name} changes the array in place"):
        _seen(lambda x: getattr(x, name))


def test_mask_operators_on_traced_boolean_arrays():
    # Under grad comparisons give plain arrays; under jit they are traced masks.
    def masks(x):
        pos, small = x > 0, x < 2
        return pos & small, pos | small, pos ^ small, ~pos, np.array([True, False]) & pos

    x = np.array([[-1.0, 1.0], [3.0, 0.5]])
    for got, want in zip(tp.jit(masks)(x), masks(x), strict=True):
        assert got.dtype == bool
        np.testing.assert_array_equal(got, want)


def test_remaining_operators_and_array_properties_inside_a_transform():
    def f(x):
        z = x * (1 + 2j)
        parts = +x + abs(x) + x // 2 + 7.0 // x + x % 2 + 5.0 % x
        return tnp.sum(parts) + tnp.sum(x.mT * x.T) + tnp.sum(z.real) + tnp.sum(z.imag)

    x = np.array([[1.5, 2.5], [-3.0, 0.5]])
    g = tp.grad(f)(x)
    # +x, |x|, x % 2 and 5 % x have slopes 1, sign(x), 1 and -floor(5 / x); floor division 0
    want = 1 + np.sign(x) + 1 - np.floor(5.0 / x) + 2 * x + 3.0
    np.testing.assert_allclose(g, want)


def test_a_traced_integer_scalar_can_index_a_python_list():
    table = [10.0, 20.0, 30.0]
    assert tp.grad(lambda x: x * table[tnp.argmax(x * np.ones(2)) + 1])(2.0) == 20.0
