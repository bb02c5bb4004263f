"""Values of append, rollaxis, row_stack, r_, c_, select, nan_to_num, real_if_close,
iscomplex, isreal and polyval against numpy, and their conventions.

The matrix (spec_shape.py, spec_selection.py) checks their derivatives; here each is
called as ``tnp.<name>`` on plain arrays and as ``np.<name>`` on traced ones (dispatch),
and both must give numpy's values and dtypes exactly.
"""

import warnings

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow.jit import ConcretizationError

RNG = np.random.default_rng(5)
X = RNG.standard_normal((2, 3, 4))
M = RNG.standard_normal((2, 3))
V = RNG.standard_normal(3)
Z = RNG.standard_normal(4) + 1j * RNG.standard_normal(4)
F32 = V.astype(np.float32)
NONFINITE = np.array([np.nan, np.inf, -np.inf, 1.5, -0.0])
NONFINITE_Z = np.array([complex(np.nan, 1.0), complex(2.0, np.inf), complex(-np.inf, np.nan), 3j])


def _numpy_row_stack(tup):
    with warnings.catch_warnings():  # numpy 2 deprecates the name
        warnings.simplefilter("ignore", DeprecationWarning)
        return np.row_stack(tup)


# (id, tapeflow function, numpy function, arguments); the first argument is traced in the
# dispatch check.
VALUES = [
    ("append-flat", tnp.append, np.append, (M, V)),
    ("append-axis", lambda a, b: tnp.append(a, b, axis=0), lambda a, b: np.append(a, b, 0), (M, M)),
    ("append-promotes", tnp.append, np.append, (F32, [1.0, 2.0])),
    ("append-complex", tnp.append, np.append, (Z, V)),
    ("rollaxis", lambda a: tnp.rollaxis(a, 2), lambda a: np.rollaxis(a, 2), (X,)),
    ("rollaxis-start", lambda a: tnp.rollaxis(a, 0, 3), lambda a: np.rollaxis(a, 0, 3), (X,)),
    ("rollaxis-back", lambda a: tnp.rollaxis(a, -1, -2), lambda a: np.rollaxis(a, -1, -2), (X,)),
    ("row_stack", lambda a: tnp.row_stack([a, a]), lambda a: _numpy_row_stack([a, a]), (V,)),
    (
        "select",
        lambda a: tnp.select([a > 0, a < -0.5], [a, -2 * a], 9.0),
        lambda a: np.select([a > 0, a < -0.5], [a, -2 * a], 9.0),
        (M,),
    ),
    (
        "select-float32",
        lambda a: tnp.select([a > 0], [a]),
        lambda a: np.select([a > 0], [a]),
        (F32,),
    ),
    (
        "select-broadcast",
        lambda a: tnp.select([a > 0, V > 0], [a, V], default=np.ones((2, 1))),
        lambda a: np.select([a > 0, V > 0], [a, V], default=np.ones((2, 1))),
        (M,),
    ),
    (
        "select-complex",
        lambda z: tnp.select([z.real > 0], [z], 1.0),
        lambda z: np.select([z.real > 0], [z], 1.0),
        (Z,),
    ),
    ("nan_to_num", tnp.nan_to_num, np.nan_to_num, (NONFINITE,)),
    ("nan_to_num-float32", tnp.nan_to_num, np.nan_to_num, (NONFINITE.astype(np.float32),)),
    (
        "nan_to_num-values",
        lambda a: tnp.nan_to_num(a, nan=-1.0, posinf=1e3, neginf=-1e3),
        lambda a: np.nan_to_num(a, nan=-1.0, posinf=1e3, neginf=-1e3),
        (NONFINITE,),
    ),
    ("nan_to_num-complex", tnp.nan_to_num, np.nan_to_num, (NONFINITE_Z,)),
    ("real_if_close-close", tnp.real_if_close, np.real_if_close, (V + 1e-15j,)),
    ("real_if_close-far", tnp.real_if_close, np.real_if_close, (Z,)),
    (
        "real_if_close-tol",
        lambda a: tnp.real_if_close(a, tol=1e-3),
        lambda a: np.real_if_close(a, tol=1e-3),
        (V + 1e-4j,),
    ),
    ("real_if_close-real", tnp.real_if_close, np.real_if_close, (V,)),
    ("iscomplex", tnp.iscomplex, np.iscomplex, (np.array([1.0, 1j, 2 + 0j]),)),
    ("isreal", tnp.isreal, np.isreal, (np.array([1.0, 1j, 2 + 0j]),)),
    ("polyval", tnp.polyval, np.polyval, (V, M)),
    ("polyval-scalar", tnp.polyval, np.polyval, (V, 0.7)),
    ("polyval-float32", tnp.polyval, np.polyval, (F32, F32)),
    ("polyval-complex", tnp.polyval, np.polyval, (Z, V)),
]


def _same(got, want):
    got = np.asarray(got)
    assert got.shape == np.shape(want) and got.dtype == np.asarray(want).dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name,ours,theirs,args", VALUES, ids=[v[0] for v in VALUES])
def test_values_match_numpy(name, ours, theirs, args):
    want = theirs(*args)
    _same(ours(*args), want)
    if np.issubdtype(np.asarray(args[0]).dtype, np.inexact):  # traced: numpy dispatches
        traced = tp.vjp(lambda a: theirs(a, *args[1:]), args[0])[0]
        _same(traced, want)


# numpy's r_ and c_ expressions, all evaluated with tnp.r_/tnp.c_ as well.
INDEX_EXPRESSIONS = [
    ("r_-pieces", lambda m: m.r_[V, 0:3, 5.0, np.float32(2), V[0]]),
    ("r_-linspace", lambda m: m.r_[0:1:5j, V]),
    ("r_-axis-directive", lambda m: m.r_["1", M, M]),
    ("r_-ndmin-directive", lambda m: m.r_["0,2,0", V, V]),
    ("r_-trans1d-directive", lambda m: m.r_["-1,2,0", V, V]),
    ("r_-3d", lambda m: m.r_["0,3,-1", M]),
    ("r_-3d-trans", lambda m: m.r_["0,3,1", V]),
    ("r_-weak-scalar", lambda m: m.r_[F32, 2.0]),
    ("r_-numpy-scalar", lambda m: m.r_[F32, np.float64(2.0)]),
    ("r_-complex", lambda m: m.r_[Z, 1.0]),
    ("c_-vectors", lambda m: m.c_[V, V * 2]),
    ("c_-matrices", lambda m: m.c_[M, M]),
    ("c_-range", lambda m: m.c_[V, 0:3]),
]


@pytest.mark.parametrize("name,expr", INDEX_EXPRESSIONS, ids=[e[0] for e in INDEX_EXPRESSIONS])
def test_r_and_c_match_numpy(name, expr):
    _same(expr(tnp), expr(np))


def test_r_and_c_on_traced_pieces_and_numpy_s_own_objects():
    g = tp.grad(lambda x: tnp.sum(tnp.r_[x, 0:2, 3 * x] ** 2))(V)
    np.testing.assert_allclose(g, 2 * V + 18 * V)
    g = tp.grad(lambda s: tnp.sum(tnp.r_[0:s:5j]))(2.0)  # linspace's traced stop
    assert float(g) == 2.5
    for index in (np.r_, np.c_):
        name = "r_" if index is np.r_ else "c_"
        with pytest.raises(TypeError, match=rf"numpy\.{name}\[\.\.\.\] converts every piece"):
            tp.grad(lambda x, index=index: tnp.sum(index[x, x]))(V)
    with pytest.raises(NotImplementedError, match="np.matrix"):
        tnp.r_["r", V, V]
    with pytest.raises(ValueError, match="unknown special directive"):
        tnp.r_["1,x", V]
    with pytest.raises(ValueError, match="first entry"):
        tnp.r_[V, "1"]


def test_select_and_polyval_refuse_what_numpy_refuses():
    with pytest.raises(ValueError, match="same length"):
        tnp.select([V > 0], [V, V])
    with pytest.raises(ValueError, match="empty condition list"):
        tnp.select([], [])
    with pytest.raises(TypeError, match="invalid entry 0 in condlist"):
        tnp.select([V], [V])
    with pytest.raises(TypeError, match="sequence of coefficients"):
        tnp.polyval(2.0, V)


def test_gradients_go_where_the_values_come_from():
    x = np.array([-2.0, 0.5, 3.0])
    # select: the first true condition's choice, else the default (here x * 10)
    g = tp.grad(lambda x: tnp.sum(tnp.select([x < 0, x > 1], [x**2, 3 * x], 10 * x)))(x)
    np.testing.assert_array_equal(g, [-4.0, 10.0, 3.0])
    # nan_to_num: replaced entries get none
    g = tp.grad(lambda x: np.sum(np.nan_to_num(x) * 0.5))(NONFINITE)
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.0, 0.5, 0.5])
    # polyval: d/dx (x^2 - 2) = 2x, d/dp = powers of x
    gp, gx = tp.grad(lambda p, x: np.polyval(p, x), argnums=(0, 1))(np.array([1.0, 0.0, -2.0]), 3.0)
    np.testing.assert_array_equal(gp, [9.0, 3.0, 1.0])
    assert float(gx) == 6.0
    # real_if_close: the real part's gradient when the imaginary parts vanish
    g = tp.grad(lambda z: tnp.sum(tnp.real_if_close(z) ** 2))(np.array([1.0 + 0j, 2.0 + 0j]))
    np.testing.assert_array_equal(g, [2.0, 4.0])


def test_predicates_are_plain_and_real_if_close_decides_on_values():
    seen = {}

    def f(z):
        seen["iscomplex"] = np.iscomplex(z)
        seen["isreal"] = tnp.isreal(z)
        return tnp.sum(tnp.abs(z))

    tp.grad(f)(np.array([1.0 + 0j, 1j]))
    for key, value in seen.items():
        assert type(value) is np.ndarray and value.dtype == np.bool_, key
    np.testing.assert_array_equal(seen["iscomplex"], [False, True])
    # The decision needs values: jit refuses it; vmap decides once for the whole batch.
    with pytest.raises(ConcretizationError):
        tp.jit(tnp.real_if_close)(Z)
    both_close = np.array([[1 + 1e-17j, 2 + 0j], [3 + 0j, 1 + 1e-18j]])
    np.testing.assert_array_equal(tp.vmap(tnp.real_if_close)(both_close), both_close.real)
    np.testing.assert_array_equal(tp.vmap(tnp.real_if_close)(both_close + 1j), both_close + 1j)
    with pytest.raises(ValueError, match="different dtypes"):
        tp.vmap(tnp.real_if_close)(np.array([[1 + 1e-17j], [1 + 1j]]))


def test_long_double_dtype_names():
    assert tnp.longdouble is np.longdouble and tnp.clongdouble is np.clongdouble
    assert tnp.zeros(2, tnp.longdouble).dtype == np.longdouble
