"""jax.numpy's keyword arguments that tapeflow.numpy accepts with JAX's meaning: values
against numpy (or the value the keyword promises), derivatives against finite
differences in both modes, the same under ``tp.jit``, and loud errors for the values
JAX refuses too.

Each row is ``(id, function of x, reference function of x)``.
"""

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow.nn import initializers

X = np.array([[0.7, -1.3, 2.1, 0.4], [1.9, -0.6, 1.1, -2.2], [-0.9, 0.3, 1.6, 2.7]])
X32 = X.astype(np.float32)
INTS = np.array([[3, 1, 2], [4, 5, 6]], dtype=np.int32)

ROWS = [
    ("sum-out-None", lambda x: tnp.sum(x, axis=0, out=None), lambda x: np.sum(x, axis=0)),
    (
        "mean-out-None",
        lambda x: tnp.mean(x, 1, None, None, True),
        lambda x: np.mean(x, 1, keepdims=True),
    ),
    ("max-out-None", lambda x: tnp.max(x, 1, None, True), lambda x: np.max(x, 1, keepdims=True)),
    ("min-out-None", lambda x: tnp.min(x, out=None, axis=0), lambda x: np.min(x, axis=0)),
    (
        "sum-positional-numpy-order",
        lambda x: tnp.sum(x, 1, None, None, True, 2.0),
        lambda x: np.sum(x, 1, None, None, True, 2.0),
    ),
    # numpy's positional order of the ndarray method, on traced arrays (under jit, grad)
    (
        "method-sum-positional",
        lambda x: x.sum(0, None, None, True),
        lambda x: x.sum(0, None, None, True),
    ),
    (
        "var-mean",
        lambda x: tnp.var(x, axis=1, mean=tnp.mean(x, axis=1, keepdims=True)),
        lambda x: np.var(x, axis=1),
    ),
    (
        "var-given-mean",
        lambda x: tnp.var(x, axis=0, mean=np.full((1, 4), 0.5)),
        lambda x: np.var(x, axis=0, mean=np.full((1, 4), 0.5)),
    ),
    (
        "std-correction",
        lambda x: tnp.std(x, axis=1, correction=1),
        lambda x: np.std(x, axis=1, ddof=1),
    ),
    (
        "std-mean-correction",
        lambda x: tnp.std(x, mean=tnp.mean(x), correction=1),
        lambda x: np.std(x, ddof=1),
    ),
    (
        "concatenate-dtype",
        lambda x: tnp.concatenate([x, 2 * x], axis=1, dtype=np.float32),
        lambda x: np.concatenate([x, 2 * x], axis=1, dtype=np.float32),
    ),
    (
        "stack-dtype",
        lambda x: tnp.stack([x, x], axis=-1, out=None, dtype=np.float32),
        lambda x: np.stack([x, x], axis=-1, dtype=np.float32),
    ),
    (
        "hstack-dtype",
        lambda x: tnp.hstack([x, x], dtype=np.float32),
        lambda x: np.hstack([x, x], dtype=np.float32),
    ),
    (
        "vstack-dtype",
        lambda x: tnp.vstack([x, x], dtype=np.float32),
        lambda x: np.vstack([x, x], dtype=np.float32),
    ),
    (
        "dstack-dtype",
        lambda x: tnp.dstack([x, x], dtype=np.float32),
        lambda x: np.dstack([x, x]).astype(np.float32),
    ),
    (
        "polyval-unroll",
        lambda x: tnp.polyval(np.array([1.0, -2.0, 0.5]), x, unroll=4),
        lambda x: np.polyval([1.0, -2.0, 0.5], x),
    ),
]
# precision: numpy's full precision; preferred_element_type: the operands cast first
ROWS += [
    ("dot-precision", lambda x: tnp.dot(x, x.T, precision="highest"), lambda x: np.dot(x, x.T)),
    (
        "dot-preferred-dtype",
        lambda x: tnp.dot(x, x.T, preferred_element_type=np.float32),
        lambda x: np.dot(x.astype(np.float32), x.T.astype(np.float32)),
    ),
    (
        "einsum-preferred-dtype",
        lambda x: tnp.einsum("ij,kj->ik", x, x, precision=None, preferred_element_type=np.float32),
        lambda x: np.einsum("ij,kj->ik", x, x).astype(np.float32),
    ),
    (
        "tensordot-preferred-dtype",
        lambda x: tnp.tensordot(x, x, axes=([1], [1]), preferred_element_type=np.float32),
        lambda x: np.tensordot(x, x, axes=([1], [1])).astype(np.float32),
    ),
    (
        "inner-preferred-dtype",
        lambda x: tnp.inner(x, x, preferred_element_type=np.float32),
        lambda x: np.inner(x, x).astype(np.float32),
    ),
    (
        "vdot-precision",
        lambda x: tnp.vdot(x, 2 * x, precision="default"),
        lambda x: np.vdot(x, 2 * x),
    ),
    (
        "convolve-preferred-dtype",
        lambda x: tnp.convolve(x[0], x[1], preferred_element_type=np.float32),
        lambda x: np.convolve(x[0], x[1]).astype(np.float32),
    ),
    (
        "correlate-precision",
        lambda x: tnp.correlate(x[0], x[2], "full", precision="highest"),
        lambda x: np.correlate(x[0], x[2], "full"),
    ),
    (
        "linalg-matmul-preferred-dtype",
        lambda x: tnp.linalg.matmul(x, x.T, preferred_element_type=np.float32),
        lambda x: np.linalg.matmul(x, x.T).astype(np.float32),
    ),
    (
        "linalg-vecdot-precision",
        lambda x: tnp.linalg.vecdot(x, x, precision="highest"),
        lambda x: np.linalg.vecdot(x, x),
    ),
    (
        "linalg-tensordot-preferred-dtype",
        lambda x: tnp.linalg.tensordot(x, x.T, axes=1, preferred_element_type=np.float32),
        lambda x: np.linalg.tensordot(x, x.T, axes=1).astype(np.float32),
    ),
    (
        "linalg-multi-dot-precision",
        lambda x: tnp.linalg.multi_dot([x, x.T, x], precision="highest"),
        lambda x: np.linalg.multi_dot([x, x.T, x]),
    ),
]
ROWS += [
    (
        "sort-descending",
        lambda x: tnp.sort(x, axis=1, descending=True),
        lambda x: np.flip(np.sort(x, axis=1), 1),
    ),
    (
        "sort-descending-flat",
        lambda x: tnp.sort(x, axis=None, descending=True),
        lambda x: np.sort(x, axis=None)[::-1],
    ),
]
ROWS += [
    (
        "take-hints",
        lambda x: tnp.take(x, [0, 2], axis=1, unique_indices=True, indices_are_sorted=True),
        lambda x: np.take(x, [0, 2], axis=1),
    ),
]
IDS = [r[0] for r in ROWS]


@pytest.mark.parametrize("name,fun,reference", ROWS, ids=IDS)
def test_values_match_eager_and_under_jit(name, fun, reference):
    want = reference(X)
    for got in (fun(X), tp.jit(fun)(X)):
        tol = 1e-6 if np.asarray(want).dtype == np.float32 else 1e-13
        np.testing.assert_allclose(got, want, rtol=tol)
        assert np.asarray(got).dtype == np.asarray(want).dtype


@pytest.mark.parametrize("name,fun,reference", ROWS, ids=IDS)
def test_derivatives_against_finite_differences(name, fun, reference):
    if "dtype" in name:  # a float32 result: check the float64 path through the cast
        fun = (lambda f: lambda x: f(x).astype(np.float64))(fun)
        tp.check_grads(fun, (X,), modes=("rev", "fwd"), eps=1e-3, atol=1e-3, rtol=1e-3)
        return
    tp.check_grads(fun, (X,), modes=("rev", "fwd"))


@pytest.mark.parametrize("name", ["sum", "prod"])
def test_promote_integers(name):
    f = getattr(tnp, name)
    assert f(INTS).dtype == getattr(np, name)(INTS).dtype == np.int64  # numpy promotes
    kept = f(INTS, axis=1, promote_integers=False)
    assert kept.dtype == np.int32
    np.testing.assert_array_equal(kept, getattr(np, name)(INTS, axis=1))
    assert f(X32, promote_integers=False).dtype == np.float32  # floats are never promoted


def test_preferred_element_type_accumulates_in_that_dtype():
    # int8 products overflow in int8; JAX accumulates in the preferred type
    a = np.array([[100, 100], [-100, 50]], dtype=np.int8)
    wide = tnp.dot(a, a, preferred_element_type=np.int32)
    assert wide.dtype == np.int32
    np.testing.assert_array_equal(wide, a.astype(np.int32) @ a.astype(np.int32))


@pytest.mark.parametrize("axis", [0, 1, -1, None])
def test_stable_descending_argsort_keeps_ties_in_order(axis):
    x = np.array([[2.0, 1.0, 2.0, 3.0], [1.0, 1.0, 0.0, 1.0], [2.0, 3.0, 2.0, 0.0]])
    got = tnp.argsort(x, axis=axis, stable=True, descending=True)
    # the reference: sort by (-value, position), which is what "stable, descending" means
    flat = x.ravel() if axis is None else np.moveaxis(x, axis, -1)
    want = np.stack(
        [
            sorted(range(len(r)), key=lambda i, r=r: (-r[i], i))
            for r in flat.reshape(-1, flat.shape[-1])
        ]
    ).reshape(flat.shape)
    want = want if axis is None else np.moveaxis(want, -1, axis)
    np.testing.assert_array_equal(got, want)
    assert (
        tp.jit(lambda v: tnp.argsort(v, axis=axis, stable=True, descending=True))(x).tolist()
        == got.tolist()
    )


def test_normal_initializer_dtype():
    rng = np.random.default_rng(0)
    assert initializers.normal(0.1, np.float64)(rng, (2, 3)).dtype == np.float64
    assert initializers.normal(0.1)(rng, (2, 3)).dtype == np.float32
    assert initializers.normal(0.1, np.float64)(rng, (2,), np.float16).dtype == np.float16


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: tnp.sum(X, out=np.zeros(4)), TypeError, r"sum\(\.\.\., out=\.\.\.\) would write"),
        (lambda: tnp.max(X, 0, np.zeros(4)), TypeError, r"max\(\.\.\., out=\.\.\.\) would write"),
        (lambda: tnp.var(X, ddof=1, correction=1), ValueError, "give ddof or correction"),
        (lambda: tnp.concatenate([X, X], dtype=np.int64), TypeError, "casting='same_kind'"),
        (lambda: tnp.stack([X], out=X), TypeError, r"stack\(\.\.\., out=\.\.\.\) would write"),
    ],
)
def test_refused_values_raise(call, error, match):
    with pytest.raises(error, match=match):
        call()
    np.testing.assert_array_equal(
        tnp.concatenate([X, X], dtype=np.int64, casting="unsafe"),
        np.concatenate([X, X], dtype=np.int64, casting="unsafe"),
    )
