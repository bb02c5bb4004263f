"""Indexing semantics beyond finite differences: exact gradients, traced
indices, the basic-index fast path, numpy dispatch and errors."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow.numpy.indexing import _needs_accumulation

X = np.arange(12.0).reshape(3, 4)

INDICES = [
    1,
    (slice(None), 2),
    (slice(1, None), slice(None, None, -2)),
    (None, Ellipsis, 0),
    [0, 2, 0],
    ([0, 0, 2], [1, 1, 3]),
    (slice(None), [3, 3]),
    X > 4.5,
    np.array([True, False, True]),
    (1, np.array([[0, 3], [3, 3]])),
]


@pytest.mark.parametrize("index", INDICES, ids=range(len(INDICES)))
def test_values_and_exact_gradient_match_numpy(index) -> None:
    assert np.array_equal(tnp.getitem(X, index), X[index])
    g = tp.grad(lambda x: tnp.sum(x[index] * 2.0))(X)
    expected = np.zeros_like(X)
    np.add.at(expected, index, 2.0)
    assert np.array_equal(g, expected)


def test_repeated_integer_indices_accumulate() -> None:
    g = tp.grad(lambda x: tnp.sum(x[[1, 1, 1, 0]]))(np.zeros(3))
    assert np.array_equal(g, [1.0, 3.0, 0.0])


def test_basic_indices_take_the_fast_path() -> None:
    for index in [
        1,
        np.int64(2),
        (slice(1, None), None, Ellipsis),
        X > 3,
        (np.array([True, False, True]), 1),
    ]:
        assert not _needs_accumulation(index)
    for index in [[0, 0], (slice(None), np.array([1, 1]))]:
        assert _needs_accumulation(index)
    out = tnp.scatter_add(np.ones((2, 2)), (slice(1, 3), slice(None)), (4, 2), np.float32)
    assert out.dtype == np.float32
    assert np.array_equal(out, [[0, 0], [1, 1], [1, 1], [0, 0]])


def test_traced_integer_values_work_as_indices() -> None:
    def f(x, i):
        j = tnp.astype(i * 0.0 + 2.0, np.int64)  # an integer-valued traced array
        return tnp.sum(x[j, [j, 0]]) + tnp.sum(x[(j,)]) + i

    gx, gi = tp.grad(f, argnums=(0, 1))(X, 1.0)
    expected = np.zeros_like(X)
    expected[2, [2, 0]] += 1
    expected[2] += 1
    assert np.array_equal(gx, expected)
    assert gi == 1.0


def test_integer_index_array_computed_in_the_transform() -> None:
    def f(x):
        order = tnp.astype(x[:, 0] * 0.0 + np.array([2.0, 0.0, 1.0]), np.int64)
        return tnp.sum(x[order][0])

    g = tp.grad(f)(X)
    assert np.array_equal(g, _row(2))


def _row(i: int) -> np.ndarray:
    out = np.zeros((3, 4))
    out[i] = 1.0
    return out


def test_take_and_take_along_axis_match_numpy_and_dispatch() -> None:
    idx = np.array([[1, 0, 0, 2]])
    assert np.array_equal(tnp.take(X, [5, 5, 0]), np.take(X, [5, 5, 0]))
    assert np.array_equal(tnp.take(X, [3, 0], axis=-1), np.take(X, [3, 0], axis=-1))
    assert np.array_equal(tnp.take_along_axis(X, idx, axis=0), np.take_along_axis(X, idx, axis=0))
    g = tp.grad(lambda x: np.sum(np.take_along_axis(x, idx, axis=0)))(X)
    expected = np.zeros_like(X)
    np.add.at(expected, (idx, np.arange(4)[None]), 1.0)
    assert np.array_equal(g, expected)
    g = tp.grad(lambda x: np.sum(np.take(x, [1, 1], axis=0)))(X)
    assert np.array_equal(g, 2 * _row(1))
    g = tp.grad(lambda x: x.take([0, 0]).sum())(X)
    assert g[0, 0] == 2.0 and g.sum() == 2.0


def test_float32_stays_float32() -> None:
    x = X.astype(np.float32)
    for index in INDICES:
        # the lambda is differentiated at once, inside this iteration
        assert tp.grad(lambda v: tnp.sum(v[index]))(x).dtype == np.float32  # noqa: B023


def test_bad_indices_raise() -> None:
    with pytest.raises(IndexError):
        tp.grad(lambda x: tnp.sum(x[5]))(X)
    with pytest.raises(IndexError):
        tnp.take_along_axis(X, np.array([[0.5]]), axis=0)
    with pytest.raises(ValueError):
        tnp.take_along_axis(X, np.array([0]), axis=0)
    with pytest.raises(TypeError):
        tnp.take(X, [0], out=np.zeros(1))


def test_random_indices_match_numpy_values_and_scatter_gradients() -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    shape = (3, 4, 2)
    x = np.arange(24.0).reshape(shape)

    def part(n: int):
        return st.one_of(
            st.integers(-n, n - 1),
            st.builds(
                slice,
                st.sampled_from([None, 0, 1, -1]),
                st.sampled_from([None, 2, -1]),
                st.sampled_from([None, 1, 2, -1]),
            ),
            st.lists(st.integers(-n, n - 1), min_size=1, max_size=4).map(np.array),
            st.lists(st.booleans(), min_size=n, max_size=n).map(np.array),
        )

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def check(data) -> None:
        k = data.draw(st.integers(1, 3))
        index = tuple(data.draw(part(n)) for n in shape[:k])
        if data.draw(st.booleans()):
            index = index[:1] + (None,) + index[1:]
        if data.draw(st.booleans()) and k < 3:
            index = (Ellipsis,) + index[1:]
        try:
            want = x[index]
        except IndexError:  # incompatible array shapes: numpy refuses, so do we
            with pytest.raises(IndexError):
                tnp.getitem(x, index)
            return
        np.testing.assert_array_equal(tnp.getitem(x, index), want)
        w = np.random.default_rng(0).standard_normal(np.shape(want))
        g = tp.grad(lambda v: tnp.sum(v[index] * w))(x)
        expected = np.zeros(shape)
        np.add.at(expected, index, w)
        np.testing.assert_allclose(g, expected)

    check()
