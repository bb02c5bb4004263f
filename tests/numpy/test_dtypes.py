"""dtype preservation: the gradient always has its input's dtype.

float16, float32, float64, complex64 and complex128 inputs go through a range
of primitives; reverse-mode gradients and forward-mode tangents must keep the
dtype (no silent promotion to float64, no complex gradient for a real input),
and their values must agree with the same computation in double precision.
"""

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp

REAL = [np.float16, np.float32, np.float64]
COMPLEX = [np.complex64, np.complex128]
RTOL = {
    np.float16: 3e-2,
    np.float32: 2e-4,
    np.float64: 1e-10,
    np.complex64: 2e-4,
    np.complex128: 1e-10,
}
W = np.array([[0.5, -1.0, 0.25], [1.5, 0.75, -0.5], [0.2, 0.1, 1.0]])

FUNCTIONS = [
    ("exp", lambda x: tnp.exp(x), True),
    ("log", lambda x: tnp.log(x), True),
    ("sin-cos", lambda x: tnp.sin(x) * tnp.cos(x), True),
    ("tanh", lambda x: tnp.tanh(x), True),
    ("sqrt", lambda x: tnp.sqrt(x), True),
    ("power", lambda x: x**3 - 2.0 * x, True),
    ("divide", lambda x: 1.0 / (x + 2.0), True),
    ("broadcast-add-mul", lambda x: (x + x[0]) * x[:, :1], True),
    ("matmul-const", lambda x: x @ W.astype(x.dtype), True),
    ("matmul-self", lambda x: x @ x.T, True),
    ("sum-mean", lambda x: tnp.sum(x, axis=0) * tnp.mean(x), True),
    (
        "reshape-transpose",
        lambda x: tnp.reshape(tnp.transpose(x), (-1,)) * tnp.arange(9).astype(x.dtype),
        True,
    ),
    ("getitem", lambda x: x[1:, ::2] * x[0, 0], True),
    ("concatenate", lambda x: tnp.concatenate([x, x * x], axis=1), True),
    ("at-set", lambda x: tnp.at(x)[0].set(x[1] * 2.0), True),
    ("numpy-dispatch", lambda x: np.exp(np.sum(x * x, axis=1)), True),
    ("python-scalars", lambda x: 0.5 * x + 3 - x / 4, True),
    ("abs", lambda x: tnp.abs(x), False),
    ("max", lambda x: tnp.max(x, axis=1), False),
    ("where", lambda x: tnp.where(x > 1.0, x, x * x), False),
]
DATA = np.array([[0.9, 1.3, 0.6], [1.7, 0.8, 1.1], [0.5, 1.4, 1.2]])


def _loss(fun):
    return lambda x: tnp.sum(tnp.real(fun(x)))


def _cases():
    for name, fun, complex_ok in FUNCTIONS:
        for dtype in REAL + (COMPLEX if complex_ok else []):
            yield pytest.param(fun, dtype, id=f"{name}-{np.dtype(dtype).name}")


def _input(dtype):
    x = DATA
    if np.issubdtype(dtype, np.complexfloating):
        x = DATA + 0.3j * DATA[::-1]
    return x.astype(dtype)


@pytest.mark.parametrize("fun,dtype", list(_cases()))
def test_gradient_dtype_equals_input_dtype(fun, dtype):
    x = _input(dtype)
    out = fun(x)
    assert np.result_type(out) == dtype, "the forward value changed dtype"
    g = tp.grad(_loss(fun))(x)
    assert g.dtype == dtype and g.shape == x.shape
    wide = np.complex128 if np.issubdtype(dtype, np.complexfloating) else np.float64
    reference = tp.grad(_loss(fun))(x.astype(wide))
    np.testing.assert_allclose(g.astype(wide), reference, rtol=RTOL[dtype], atol=RTOL[dtype])


@pytest.mark.parametrize("fun,dtype", list(_cases()))
def test_tangent_dtype_equals_output_dtype(fun, dtype):
    x = _input(dtype)
    out, t = tp.jvp(fun, (x,), (np.ones_like(x),))
    assert np.result_type(t) == np.result_type(out) == dtype


@pytest.mark.parametrize("dtype", REAL + COMPLEX)
def test_vjp_cotangent_dtypes(dtype):
    x = _input(dtype)
    out, f_vjp = tp.vjp(lambda x: tnp.tanh(x) @ x, x)
    assert out.dtype == dtype
    (ct,) = f_vjp(np.ones_like(out))
    assert ct.dtype == dtype


@pytest.mark.parametrize("dtype", REAL)
def test_second_derivative_keeps_dtype(dtype):
    x = np.asarray(0.7, dtype)
    d2 = tp.grad(tp.grad(lambda x: tnp.sin(x) * x**2))(x)
    assert np.result_type(d2) == dtype
    exact = 2 * np.sin(0.7) + 4 * 0.7 * np.cos(0.7) - 0.49 * np.sin(0.7)
    np.testing.assert_allclose(float(d2), exact, rtol=RTOL[dtype])


def test_pytree_of_mixed_dtypes():
    params = {"a": np.ones(3, np.float16), "b": np.ones(3, np.float32), "c": np.ones(3)}
    g = tp.grad(lambda p: tnp.sum(p["a"] * p["b"] * p["c"]))(params)
    assert {k: v.dtype for k, v in g.items()} == {"a": np.float16, "b": np.float32, "c": np.float64}
