"""Functional index updates (x.at[idx].set/add/multiply/min/max/get) and immutability.

The finite-difference rows for every update live in ``spec_at.py`` (run by
``test_matrix.py``); these tests pin the semantics: values, repeats, ties,
dtypes, and that nothing is ever modified in place.
"""

import sys

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp

METHODS = ["set", "add", "multiply", "min", "max"]


def _numpy_reference(method, x, index, v):
    out = x.copy()
    if method == "set":
        out[index] = v
    else:
        ufunc = {"add": np.add, "multiply": np.multiply, "min": np.minimum, "max": np.maximum}
        ufunc[method].at(out, index, v)
    return out


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "index,vshape",
    [
        ((slice(1, 3),), (2, 3)),
        ((np.array([0, 3, 0]),), (3, 3)),
        ((slice(None), 1), (4,)),
        ((np.array([True, False, True, False]),), (3,)),
        ((Ellipsis, None, 2), (4, 1)),
    ],
)
def test_plain_arrays_match_numpy_and_are_not_modified(method, index, vshape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3))
    v = rng.standard_normal(vshape)
    before = x.copy()
    out = getattr(tnp.at(x)[index], method)(v)
    np.testing.assert_allclose(out, _numpy_reference(method, x, index, v))
    np.testing.assert_array_equal(x, before)
    assert type(out) is np.ndarray and out is not x


def test_get_is_indexing():
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(tnp.at(x)[:, 1].get(), x[:, 1])
    g = tp.grad(lambda x: x.at[1, ::2].get().sum())(x)
    np.testing.assert_array_equal(g, [[0, 0, 0], [1, 0, 1]])


def test_traced_at_inside_grad_both_arguments():
    def loss(x, v):
        y = x.at[np.array([0, 2])].set(v * 2.0)
        return (y * y).sum()

    x, v = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0])
    gx, gv = tp.grad(loss, argnums=(0, 1))(x, v)
    np.testing.assert_allclose(gx, [0.0, 4.0, 0.0])  # overwritten entries get nothing
    np.testing.assert_allclose(gv, 8.0 * v)  # d/dv (2v)^2 = 8v


def test_set_with_repeated_index_last_write_wins_and_gets_the_gradient():
    x = np.zeros(3)
    v = np.array([1.0, 2.0, 3.0])
    index = np.array([1, 1, 0])
    np.testing.assert_array_equal(tnp.at(x)[index].set(v), [3.0, 2.0, 0.0])
    weights = np.array([10.0, 100.0, 1000.0])
    gv = tp.grad(lambda v: (tnp.at(x)[index].set(v) * weights).sum())(v)
    np.testing.assert_array_equal(gv, [0.0, 100.0, 10.0])


def test_add_with_repeated_index_accumulates_value_and_gradient():
    x = np.zeros(3)
    v = np.array([1.0, 2.0, 3.0])
    index = np.array([2, 2, 2])
    np.testing.assert_array_equal(tnp.at(x)[index].add(v), [0.0, 0.0, 6.0])
    gv = tp.grad(lambda v: (tnp.at(x)[index].add(v) ** 2).sum())(v)
    np.testing.assert_array_equal(gv, [12.0, 12.0, 12.0])


def test_scalar_value_broadcasts_and_collects_the_gradient():
    x = np.ones((2, 3))
    g = tp.grad(lambda s: tnp.at(x)[:, :2].multiply(s).sum())(3.0)
    assert float(g) == 4.0


def test_multiply_is_zero_safe_in_x():
    x = np.array([0.0, 2.0, 0.0])
    v = np.array([2.0, 3.0, 4.0])
    gx = tp.grad(lambda x: tnp.at(x)[np.array([0, 0, 1])].multiply(v).sum())(x)
    np.testing.assert_array_equal(gx, [6.0, 4.0, 1.0])


def test_multiply_gradient_in_values_with_repeats_raises():
    x = np.ones(3)
    with pytest.raises(NotImplementedError, match="without repeats"):
        tp.grad(lambda v: tnp.at(x)[np.array([0, 0])].multiply(v).sum())(np.ones(2))


def test_max_ties_split_the_gradient_equally():
    x = np.array([1.0, 5.0, 0.0])
    v = np.array([1.0, 7.0])
    gx, gv = tp.grad(lambda x, v: tnp.at(x)[np.array([0, 1])].max(v).sum(), argnums=(0, 1))(x, v)
    # entry 0: x and v tie at 1.0 -> half each; entry 1: v wins; entry 2 untouched.
    np.testing.assert_array_equal(gx, [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(gv, [0.5, 1.0])


def test_min_with_repeats_three_way_tie():
    x = np.array([2.0])
    v = np.array([2.0, 2.0, 3.0])
    gx, gv = tp.grad(lambda x, v: tnp.at(x)[np.array([0, 0, 0])].min(v).sum(), argnums=(0, 1))(x, v)
    np.testing.assert_allclose(gx, [1 / 3])
    np.testing.assert_allclose(gv, [1 / 3, 1 / 3, 0.0])


@pytest.mark.parametrize("method", METHODS)
def test_float32_stays_float32(method):
    x = np.linspace(-1, 1, 5).astype(np.float32)
    v = np.float32(0.25)
    out = getattr(tnp.at(x)[1:3], method)(v)
    assert out.dtype == np.float32
    gx, gv = tp.grad(lambda x, v: getattr(x.at[1:3], method)(v).sum(), argnums=(0, 1))(x, v)
    assert gx.dtype == np.float32 and gv.dtype == np.float32


# A float32 x and a value that float32 cannot hold exactly (a Python float, or a
# float64 array); the update stores v rounded to float32, and the tie rule must compare
# that rounding, or no entry wins and the gradient is 0/0.
_INEXACT_IN_FLOAT32 = [
    (slice(None, 1), -1.97, [0.0, 1.0]),
    (np.array([0]), -1.97, [0.0, 1.0]),
    (Ellipsis, -1.97, [0.0, 1.0]),
    (0, -1.97, [0.0, 1.0]),
    (slice(None, 1), np.array([-1.97]), [0.0, 1.0]),
]


@pytest.mark.parametrize("method", ["max", "min"])
@pytest.mark.parametrize(
    "index,v,want_max", _INEXACT_IN_FLOAT32, ids=["slice", "array", "ellipsis", "int", "f64-array"]
)
def test_extremum_of_float32_with_a_value_float32_cannot_hold(method, index, v, want_max):
    x = np.array([-2.0, 1.0], np.float32)
    gx = tp.grad(lambda x: tnp.sum(getattr(x.at[index], method)(v)))(x)
    assert gx.dtype == np.float32
    v32 = np.float32(np.ravel(v)[0])
    wins = (x < v32) if method == "max" else (x > v32)  # where v replaced x, x gets nothing
    hit = np.ones(2, bool) if index is Ellipsis else np.array([True, False])
    np.testing.assert_array_equal(gx, np.where(hit & wins, 0.0, 1.0))
    if method == "max":
        np.testing.assert_array_equal(gx, want_max)
    if not np.isscalar(v):  # and v gets the gradient of every place it won
        gv = tp.grad(lambda v: tnp.sum(getattr(tnp.at(x)[index], method)(v)))(v)
        np.testing.assert_array_equal(gv, [float(np.sum(hit & wins))])


def test_traced_index_is_static():
    x = np.arange(4.0)

    def f(x):
        i = tnp.argmax(x) if hasattr(tnp, "argmax") else 3
        return x.at[i].set(0.0).sum()

    np.testing.assert_array_equal(tp.grad(f)(x), [1.0, 1.0, 1.0, 0.0])


def test_second_derivative_through_update():
    f = lambda x: (tnp.at(x)[np.array([0, 1])].add(x[1:] ** 2) ** 2).sum()  # noqa: E731
    tp.check_grads(f, (np.array([0.3, -0.7, 1.1]),), order=2, modes=("rev", "fwd"))


# ----- in-place operations on traced arrays fail, pointing to the functional form ---
@pytest.mark.parametrize(
    "statement",
    ["x[0] = 1.0", "x += 1.0", "x -= 1.0", "x *= 2.0", "x /= 2.0", "x **= 2.0"],
)
def test_in_place_on_traced_array_raises(statement):
    def f(x):
        exec(statement, {}, {"x": x})
        return x.sum()

    # The message shows the spelling that works on numpy arrays and traced ones alike.
    with pytest.raises(TypeError, match=r"immutable.*tnp\.at\(x\)\[idx\]\.set"):
        tp.grad(f)(np.ones(3))


def test_ndarray_in_place_with_traced_operand_raises():
    def f(x):
        buf = np.zeros(3)
        buf += x
        return buf.sum()

    with pytest.raises(TypeError, match="in place"):
        tp.grad(f)(np.ones(3))


def test_ufunc_at_raises_in_place_error():
    def f(x):
        np.add.at(x, [0], 1.0)
        return x.sum()

    with pytest.raises(TypeError, match=r"numpy\.add\.at.*tnp\.at\(x\)\[idx\]"):
        tp.grad(f)(np.ones(3))


def _update_first(w, x):
    return tnp.sum(w * x.at[0].set(1.0))


@pytest.mark.parametrize(
    "call",
    [
        lambda: tp.grad(_update_first)(np.ones(2), np.zeros(2)),  # x not differentiated
        lambda: tp.jvp(lambda w: _update_first(w, np.zeros(2)), (np.ones(2),), (np.ones(2),)),
        lambda: tp.vmap(_update_first, in_axes=(0, None))(np.ones((3, 2)), np.zeros(2)),
    ],
    ids=["grad", "jvp", "vmap"],
)
@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception notes are Python 3.11+")
def test_at_on_a_plain_array_gets_a_note_naming_tnp_at(call):
    # numpy's ndarray has no .at and cannot be given one: under a transform, numpy's own
    # AttributeError gets a note with the spelling that works on both kinds of array.
    with pytest.raises(AttributeError, match="has no attribute 'at'") as info:
        call()
    notes = getattr(info.value, "__notes__", [])
    assert len(notes) == 1 and "tnp.at(x)[idx].set(v)" in notes[0]


def test_tnp_at_works_on_plain_and_traced_arrays_alike():
    def f(w, x):
        return tnp.sum(w * tnp.at(x)[0].set(1.0))

    x = np.zeros(2)
    assert float(f(np.ones(2), x)) == 1.0  # no transform
    np.testing.assert_array_equal(tp.grad(f)(np.ones(2), x), [1.0, 0.0])  # x not traced
    np.testing.assert_array_equal(tp.grad(f, argnums=1)(np.ones(2), x), [0.0, 1.0])
    assert x.tolist() == [0.0, 0.0]


# ----- vmap: batching rules, checked against a loop over examples ------------------------
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "index,vshape,in_axes",
    [
        ((slice(1, 3),), (2, 3), (0, 0)),
        ((np.array([0, 3, 0]),), (3,), (0, 0)),
        ((slice(None), 1), (4,), (None, 0)),
        ((np.array([2]), slice(0, 2)), (2,), (1, None)),
    ],
)
def test_vmap_matches_a_loop(method, index, vshape, in_axes):
    import warnings

    rng = np.random.default_rng(1)
    n = 3
    x_shapes = {0: (n, 4, 3), 1: (4, n, 3), None: (4, 3)}
    x = rng.standard_normal(x_shapes[in_axes[0]])
    v = rng.standard_normal((n,) + vshape) if in_axes[1] == 0 else rng.standard_normal(vshape)
    fun = lambda x, v: getattr(tnp.at(x)[index], method)(v)  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback to the loop: the batching rule ran
        out = tp.vmap(fun, in_axes=in_axes)(x, v)
    xs = [x if in_axes[0] is None else np.take(x, i, axis=in_axes[0]) for i in range(n)]
    vs = [v if in_axes[1] is None else v[i] for i in range(n)]
    np.testing.assert_allclose(out, np.stack([fun(a, b) for a, b in zip(xs, vs, strict=True)]))


def test_grad_of_vmap_of_update():
    x, v = np.arange(6.0).reshape(2, 3), np.array([1.0, -2.0])
    f = lambda x, v: (tp.vmap(lambda a, b: a.at[1].multiply(b))(x, v) ** 2).sum()  # noqa: E731
    tp.check_grads(f, (x, v), order=1, modes=("rev", "fwd"))


def test_mask_computed_from_the_traced_array():
    x = np.array([-1.0, 2.0, -3.0, 4.0])
    relu_sq = lambda x: (x.at[x < 0].set(0.0) ** 2).sum()  # noqa: E731
    np.testing.assert_array_equal(tp.grad(relu_sq)(x), [0.0, 4.0, 0.0, 8.0])


@pytest.mark.parametrize("method", ["set", "add", "multiply"])
def test_forward_mode_of_a_real_update_into_a_complex_array(method):
    # The tangent of v was scattered into zeros of v's (real) dtype: x.at[i].multiply(v)
    # then lost the imaginary part of x * dv (found by the mixed matrix rows).
    x = np.array([0.5 + 1j, -1 + 0.3j, 2 - 1j])
    v = np.array([0.7, -0.4])
    fun = lambda v: getattr(tnp.at(x)[1:], method)(v)  # noqa: E731
    _, tangent = tp.jvp(fun, (v,), (np.ones(2),))
    assert tangent.dtype == np.complex128
    h = 1e-6
    np.testing.assert_allclose(tangent, (fun(v + h) - fun(v - h)) / (2 * h), rtol=1e-6)
    tp.check_grads(lambda v: tnp.real(fun(v) * (0.6 + 0.8j)), (v,), order=2, modes=("rev", "fwd"))
