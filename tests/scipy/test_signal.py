"""tapeflow.scipy.signal against SciPy: values and dtypes, vmap without a loop, errors.

Derivatives are checked in the matrix (tests/numpy/spec_signal.py). The value checks
need SciPy as the reference and skip, saying so, when it is not installed (CI
installs it).
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow.scipy import signal
from tapeflow.vmap import BatchingFallbackWarning

RNG = np.random.default_rng(0)
SHAPES = [
    ((6,), (3,)),
    ((3,), (6,)),
    ((4, 5), (2, 3)),
    ((2, 3), (4, 5)),
    ((4, 2), (2, 3)),
    ((3, 4, 2), (2, 2, 2)),
    ((9, 10), (9, 9)),
]
KINDS = {
    "float64": lambda s: RNG.standard_normal(s),
    "float32": lambda s: RNG.standard_normal(s).astype(np.float32),
    "complex": lambda s: RNG.standard_normal(s) + 1j * RNG.standard_normal(s),
    "int": lambda s: RNG.integers(-5, 5, s),
}
PARAMS = [
    pytest.param(name, s1, s2, kind, mode, method, id=f"{name}-{s1}-{s2}-{kind}-{mode}-{method}")
    for name, (s1, s2), kind, mode, method in itertools.product(
        ("convolve", "correlate"),
        SHAPES,
        KINDS,
        ("full", "same", "valid"),
        ("auto", "direct", "fft"),
    )
]


@pytest.mark.parametrize("name,s1,s2,kind,mode,method", PARAMS)
def test_values_and_dtypes_match_scipy(name, s1, s2, kind, mode, method) -> None:
    scipy_signal = pytest.importorskip("scipy.signal", reason="SciPy is the reference")
    a, b = KINDS[kind](s1), KINDS[kind](s2)
    try:
        expected = getattr(scipy_signal, name)(a, b, mode=mode, method=method)
    except ValueError as error:  # 'valid' without one input larger on every axis
        with pytest.raises(ValueError, match="For 'valid' mode, one must be at least"):
            getattr(signal, name)(a, b, mode=mode, method=method)
        assert "For 'valid' mode" in str(error)
        return
    got = getattr(signal, name)(a, b, mode=mode, method=method)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    tol = 1e-5 if kind == "float32" else 1e-12
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * np.abs(expected).max())


def test_zero_dimensional_inputs_multiply() -> None:
    assert signal.convolve(np.float64(2.0), np.float64(3.0)) == 6.0
    assert signal.correlate(np.complex128(2.0), np.complex128(1j)) == -2j


@pytest.mark.parametrize("method", ["direct", "fft"])
@pytest.mark.parametrize("in_axes", [(0, 0), (0, None), (None, 1), (2, 0)])
def test_vmap_is_batched_and_matches_a_loop(method: str, in_axes) -> None:
    xs = RNG.standard_normal((4, 6, 5))
    ks = RNG.standard_normal((3, 4, 3))

    def f(x, k):  # noqa: ANN001, ANN202
        return signal.correlate(x, k, mode="same", method=method)

    def loss_grads(x, k):  # noqa: ANN001, ANN202
        return tp.grad(lambda x, k: tnp.sum(f(x, k) ** 2), argnums=(0, 1))(x, k)

    x_axis, k_axis = in_axes
    xs_b = np.moveaxis(xs, 0, x_axis) if x_axis is not None else xs[0]
    ks_b = np.moveaxis(ks[:, :, :2], 1, k_axis) if k_axis is not None else ks[:, 0, :2]
    examples = [
        (
            xs[i] if x_axis is not None else xs[0],
            ks[:, i, :2] if k_axis is not None else ks[:, 0, :2],
        )
        for i in range(4)
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingFallbackWarning)
        got = tp.vmap(f, in_axes=in_axes)(xs_b, ks_b)
        grads = tp.vmap(loss_grads, in_axes=in_axes)(xs_b, ks_b)
    np.testing.assert_allclose(got, np.stack([f(x, k) for x, k in examples]), atol=1e-12)
    for i, g in enumerate(grads):
        loop = np.stack([loss_grads(x, k)[i] for x, k in examples])
        np.testing.assert_allclose(g, loop, atol=1e-10)


def test_jit_compiles_the_convolution() -> None:
    x, k = RNG.standard_normal((5, 4)), RNG.standard_normal((2, 3))
    f = tp.jit(tp.grad(lambda x, k: tnp.sum(signal.convolve(x, k, mode="valid") ** 2)))
    eager = tp.grad(lambda x, k: tnp.sum(signal.convolve(x, k, mode="valid") ** 2))
    np.testing.assert_array_equal(f(x, k), eager(x, k))


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: signal.convolve(np.ones(3), np.ones(2), mode="circular"), "mode flags"),
        (lambda: signal.correlate(np.ones(3), np.ones(2), method="fast"), "method flags"),
        (lambda: signal.convolve(np.ones(3), np.ones((2, 2))), "same dimensionality"),
        (lambda: signal.convolve(np.ones((3, 1)), np.ones((1, 3)), "valid"), "'valid' mode"),
        (lambda: signal.convolve(np.ones(0), np.ones(2)), "cannot be empty"),
    ],
)
def test_errors_name_the_problem(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()
