"""tnp.fft against numpy.fft: values and dtypes, vmap without a loop, errors.

Derivatives are checked in the matrix (tests/numpy/spec_fft.py); here the values of
every function are compared with numpy's over lengths, norms and axes, and the
batching rules with a loop over examples.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow.vmap import BatchingFallbackWarning

F = tnp.fft
RNG = np.random.default_rng(0)
REAL = RNG.standard_normal((3, 4, 5))
COMPLEX = REAL + 1j * RNG.standard_normal((3, 4, 5))

# (name, input, keyword arguments): each is called on tnp.fft and numpy.fft alike.
ONE_AXIS = [
    (name, x, kw)
    for name, inputs in (
        ("fft", (REAL, COMPLEX)),
        ("ifft", (REAL, COMPLEX)),
        ("rfft", (REAL,)),
        ("irfft", (REAL, COMPLEX)),
        ("hfft", (REAL, COMPLEX)),
        ("ihfft", (REAL,)),
    )
    for x in inputs
    for kw in (
        {},
        {"n": 3},
        {"n": 8},
        {"n": 7, "axis": 0},
        {"axis": 1, "norm": "ortho"},
        {"norm": "forward"},
        {"norm": "backward", "n": 6},
    )
]
N_AXES = [
    (name, x, kw)
    for name, inputs in (
        ("fftn", (REAL, COMPLEX)),
        ("ifftn", (REAL, COMPLEX)),
        ("rfftn", (REAL,)),
        ("irfftn", (REAL, COMPLEX)),
    )
    for x in inputs
    for kw in (
        {},
        {"axes": (0, 2)},
        {"axes": (2, 0), "norm": "ortho"},
        {"s": (2, 6), "axes": (1, 2)},
        {"s": (5, 3, 7), "axes": (0, 1, 2), "norm": "forward"},
        {"s": (-1, 4), "axes": (0, -1)},
        {"axes": (1,)},
    )
] + [
    (name, x, kw)
    for name, inputs in (
        ("fft2", (REAL, COMPLEX)),
        ("ifft2", (REAL, COMPLEX)),
        ("rfft2", (REAL,)),
        ("irfft2", (REAL, COMPLEX)),
    )
    for x in inputs
    for kw in ({}, {"s": (3, 5)}, {"axes": (0, 2), "norm": "ortho"})
]


def _id(param: tuple) -> str:
    name, x, kw = param
    kind = "complex" if np.iscomplexobj(x) else "real"
    return f"{name}-{kind}-" + "-".join(f"{k}{v}" for k, v in kw.items())


@pytest.mark.parametrize("name,x,kw", ONE_AXIS + N_AXES, ids=map(_id, ONE_AXIS + N_AXES))
@pytest.mark.parametrize("single", [False, True], ids=["double", "single"])
def test_values_and_dtypes_match_numpy(name: str, x: np.ndarray, kw: dict, single: bool) -> None:
    if single:
        x = x.astype(np.complex64 if np.iscomplexobj(x) else np.float32)
    expected = getattr(np.fft, name)(x, **kw)
    got = getattr(F, name)(x, **kw)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    tol = 1e-5 if single else 1e-12
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * np.abs(expected).max())
    # numpy's own function on a traced array reaches tapeflow's, with the same value
    traced = tp.jvp(lambda x: getattr(np.fft, name)(x, **kw), (x,), (np.zeros_like(x),))[0]
    np.testing.assert_array_equal(traced, got)


@pytest.mark.parametrize(
    "name,kw",
    [
        ("fftshift", {}),
        ("ifftshift", {}),
        ("fftshift", {"axes": 1}),
        ("ifftshift", {"axes": (0, 2)}),
    ],
)
def test_shifts_match_numpy(name: str, kw: dict) -> None:
    np.testing.assert_array_equal(getattr(F, name)(REAL, **kw), getattr(np.fft, name)(REAL, **kw))
    np.testing.assert_array_equal(getattr(F, name)(np.float64(2.0)), np.float64(2.0))


@pytest.mark.parametrize("name", ["fftfreq", "rfftfreq"])
@pytest.mark.parametrize("n", [1, 2, 5, 8])
def test_frequencies_match_numpy_bit_for_bit(name: str, n: int) -> None:
    for d in (1.0, 0.1, 3):
        np.testing.assert_array_equal(getattr(F, name)(n, d), getattr(np.fft, name)(n, d))
    assert getattr(F, name)(n, np.float32(0.5)).dtype == np.float32
    # the derivative in d: -k / (n d^2)
    w = np.arange(1.0, 1 + len(getattr(np.fft, name)(n)))
    grad = tp.grad(lambda d: tnp.sum(w * getattr(F, name)(n, d)))(0.5)
    np.testing.assert_allclose(grad, -np.sum(w * getattr(np.fft, name)(n, 0.5)) / 0.5)


def test_odd_and_even_rfftn_gradients_are_the_dft_transpose() -> None:
    # grad of <w, Re rfftn(x)> is Re(W^T w padded), computed here from the DFT matrix.
    for n in (4, 5):
        x = RNG.standard_normal(n)
        w = RNG.standard_normal(n // 2 + 1)
        dft = np.exp(-2j * np.pi * np.outer(np.arange(n), np.arange(n)) / n)
        expected = np.real(dft[: n // 2 + 1].T @ w)
        got = tp.grad(lambda x, w=w: tnp.sum(w * tnp.real(F.rfftn(x))))(x)
        np.testing.assert_allclose(got, expected, atol=1e-12)


BATCHED = [
    ("fft", lambda x: F.fft(x, n=6)),
    ("ifft", lambda x: F.ifft(x, axis=0, norm="ortho")),
    ("fftn", lambda x: F.fftn(x, s=(3, 3))),
    ("rfft", lambda x: F.rfft(tnp.real(x), axis=0)),
    ("irfft", lambda x: F.irfft(x, n=7)),
    ("rfftn", lambda x: F.rfftn(tnp.real(x))),
    ("irfftn", lambda x: F.irfftn(x, s=(4, 5))),
    ("hfft", lambda x: F.hfft(x, axis=0)),
    ("fftshift", lambda x: F.fftshift(x, axes=0)),
]


@pytest.mark.parametrize("in_axis", [0, 1])
@pytest.mark.parametrize("name,fun", BATCHED, ids=[b[0] for b in BATCHED])
def test_vmap_is_batched_and_matches_a_loop(name: str, fun, in_axis: int) -> None:
    xs = COMPLEX[:, :3, :4]
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingFallbackWarning)
        got = tp.vmap(fun, in_axes=in_axis)(xs)
        grads = tp.vmap(tp.grad(lambda x: tnp.sum(tnp.abs(fun(x)) ** 2)), in_axes=in_axis)(xs)
    examples = np.moveaxis(xs, in_axis, 0)
    np.testing.assert_allclose(got, np.stack([fun(x) for x in examples]), atol=1e-12)
    loop = np.stack([tp.grad(lambda x: tnp.sum(tnp.abs(fun(x)) ** 2))(x) for x in examples])
    np.testing.assert_allclose(grads, loop, atol=1e-10)


def test_jit_compiles_the_transforms() -> None:
    f = tp.jit(lambda x: tnp.sum(tnp.abs(F.irfftn(F.rfftn(x) * 2.0, s=x.shape)) ** 2))
    x = REAL[0]
    np.testing.assert_allclose(f(x), np.sum(np.abs(2 * x) ** 2))
    g = tp.jit(tp.grad(lambda x: tnp.sum(F.irfft(F.rfft(x), n=5) ** 2)))
    np.testing.assert_allclose(g(x), 2 * x, atol=1e-12)


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: F.fft(REAL, norm="unitary"), ValueError, "Invalid norm value 'unitary'"),
        (lambda: F.fft(REAL, n=0), ValueError, r"Invalid number of FFT data points \(0\)"),
        (lambda: F.irfft(np.ones(1)), ValueError, r"Invalid number of FFT data points \(0\)"),
        (lambda: F.fft(REAL, n=2.5), TypeError, "n must be an int"),
        (
            lambda: F.fftn(REAL, s=(2, 3), axes=(0,)),
            ValueError,
            "Shape and axes have different lengths",
        ),
        (lambda: F.rfft(COMPLEX), TypeError, "numpy.fft.rfft takes real input"),
        (lambda: F.rfftn(REAL, axes=()), ValueError, "at least one axis"),
        (lambda: F.fft(REAL, out=np.empty(5)), TypeError, "in place"),
        (lambda: F.fft(REAL, axis=3), np.exceptions.AxisError, "axis 3 is out of bounds"),
        (lambda: F.fftfreq(4, device="gpu"), ValueError, "Only 'cpu' is allowed"),
    ],
)
def test_errors_name_the_problem(call, error, match: str) -> None:
    with pytest.raises(error, match=match):
        call()


def test_traced_out_argument_is_refused_by_numpy_dispatch() -> None:
    with pytest.raises(TypeError, match="in place"):
        tp.grad(lambda x: np.sum(np.real(np.fft.fft(x, out=np.empty(5, complex)))))(REAL[0, 0])
