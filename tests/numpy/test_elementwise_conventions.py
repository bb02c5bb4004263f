"""Conventions of tapeflow/numpy/elementwise.py that finite differences alone cannot pin down:
the complex cotangent convention, ties, kinks, clip's boundaries, NaN handling
and zero-gradient functions."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp


# ----- complex numbers: JAX's convention ----------------------------------------------
def _fd_complex_grad(f, z, h=1e-6):  # noqa: ANN001, ANN202
    """dL/dx - i dL/dy for a real-valued L of a complex array, by central differences."""
    z = np.asarray(z, np.complex128)
    out = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        e = np.zeros_like(z)
        e[idx] = 1.0
        dx = (f(z + h * e) - f(z - h * e)) / (2 * h)
        dy = (f(z + 1j * h * e) - f(z - 1j * h * e)) / (2 * h)
        out[idx] = dx - 1j * dy
    return out


_Z = np.array([0.7 - 1.2j, -0.4 + 0.9j, 1.5 + 0.2j])
_REAL_LOSSES = {
    "abs2": lambda z: tnp.sum(tnp.abs(z) ** 2),
    "abs": lambda z: tnp.sum(tnp.abs(z)),
    "real": lambda z: tnp.sum(tnp.real(z) * np.array([1.0, 2.0, 3.0])),
    "imag": lambda z: tnp.sum(tnp.imag(z) * np.array([1.0, -2.0, 0.5])),
    "conj": lambda z: tnp.sum(tnp.imag(tnp.conj(z) * (2 + 1j))),
    "angle": lambda z: tnp.sum(tnp.angle(z) * np.array([1.0, 2.0, -1.0])),
    "angle_deg": lambda z: tnp.sum(tnp.angle(z, deg=True)),
    "holomorphic": lambda z: tnp.sum(
        tnp.real(tnp.exp(z) * tnp.sin(z) / (1 + z * z) + tnp.log(z) * tnp.sqrt(z))
    ),
    "properties": lambda z: tnp.sum(z.real * z.imag + tnp.real(z.conj() * z)),
}


@pytest.mark.parametrize("name", sorted(_REAL_LOSSES))
def test_gradient_of_real_loss_of_complex_input(name):
    f = _REAL_LOSSES[name]
    g = tp.grad(f)(_Z)
    assert g.dtype == np.complex128 and g.shape == _Z.shape
    np.testing.assert_allclose(g, _fd_complex_grad(f, _Z), rtol=1e-6, atol=1e-8)


_HOLOMORPHIC = [
    "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh",
    "arctanh", "exp", "expm1", "exp2", "log", "log1p", "log2", "log10", "sqrt", "square",
    "reciprocal", "sin", "cos", "negative", "positive", "sinc",
]  # fmt: skip


@pytest.mark.parametrize("name", _HOLOMORPHIC)
def test_holomorphic_rules_with_complex_inputs(name):
    fun = getattr(tnp, name)
    w = np.array([0.4 + 1.1j, -0.8 + 0.3j, 1.2 - 0.5j])

    def loss(z):  # noqa: ANN001, ANN202
        return tnp.sum(tnp.real(fun(z) * w))

    np.testing.assert_allclose(tp.grad(loss)(_Z * 0.5), _fd_complex_grad(loss, _Z * 0.5), rtol=1e-6)
    # Forward mode: the JVP of a holomorphic function is f'(z) t.
    t = np.array([1.0 - 0.5j, 0.3 + 0.2j, -1.0 + 0.0j])
    h = 1e-6
    fd = (np.asarray(fun(_Z * 0.5 + h * t)) - np.asarray(fun(_Z * 0.5 - h * t))) / (2 * h)
    np.testing.assert_allclose(tp.jvp(fun, (_Z * 0.5,), (t,))[1], fd, rtol=1e-6, atol=1e-9)


def test_complex_convention_examples():
    # grad |z|^2 = 2 conj(z), as in JAX.
    assert tp.grad(lambda z: tnp.abs(z) ** 2)(3 + 4j) == pytest.approx(6 - 8j)
    z = np.array([1 + 2j, -0.5 + 0.1j])
    g = np.array([0.3 - 0.7j, 1.0 + 0.0j])
    # VJPs: holomorphic f -> g f'(z); conj -> conj(g); real -> g; imag -> -1j g.
    np.testing.assert_allclose(tp.vjp(tnp.exp, z)[1](g)[0], g * np.exp(z))
    np.testing.assert_allclose(tp.vjp(tnp.conj, z)[1](g)[0], np.conj(g))
    np.testing.assert_allclose(tp.vjp(tnp.real, z)[1](np.array([1.0, 2.0]))[0], [1.0, 2.0])
    np.testing.assert_allclose(tp.vjp(tnp.imag, z)[1](np.array([1.0, 2.0]))[0], [-1j, -2j])


def test_complex64_gradients_stay_complex64():
    z = _Z.astype(np.complex64)
    for f in _REAL_LOSSES.values():
        assert tp.grad(f)(z).dtype == np.complex64


def test_second_derivative_through_complex_intermediates():
    # f(a, b) = Re(z^2) Im(z) = (a^2 - b^2) b with z = a + ib: d2f/da2 = 2b, d2f/dadb = 2a.
    def f(a, b):
        z = a + 1j * b
        return tnp.real(z * z) * tnp.imag(z)

    a, b = np.array(0.7), np.array(-1.3)
    hess_row = tp.grad(lambda a, b: tp.grad(f)(a, b), argnums=(0, 1))(a, b)
    np.testing.assert_allclose(hess_row, (2 * b, 2 * a))


def test_angle_and_imag_of_real_input_have_zero_gradient():
    x = np.array([-1.0, 2.0])
    np.testing.assert_array_equal(
        tp.grad(lambda v: tnp.sum(tnp.angle(v) + tnp.imag(v)))(x), [0.0, 0.0]
    )


# ----- ties, kinks, boundaries ----------------------------------------------------------
@pytest.mark.parametrize("fun", [tnp.maximum, tnp.minimum, tnp.fmax, tnp.fmin])
def test_ties_split_the_gradient_equally(fun):
    gx, gy = tp.grad(lambda x, y: tnp.sum(fun(x, y)), argnums=(0, 1))(
        np.array([1.0, 2.0]), np.array([1.0, 0.0])
    )
    winner = 1.0 if fun in (tnp.maximum, tnp.fmax) else 0.0
    np.testing.assert_array_equal(gx, [0.5, winner])
    np.testing.assert_array_equal(gy, [0.5, 1.0 - winner])


def test_fmax_fmin_send_the_gradient_to_the_non_nan_argument():
    x, y = np.array([1.0, np.nan]), np.array([np.nan, 2.0])
    for fun in (tnp.fmax, tnp.fmin):
        gx, gy = tp.grad(lambda x, y, fun=fun: tnp.sum(fun(x, y)), argnums=(0, 1))(x, y)
        np.testing.assert_array_equal(gx, [1.0, 0.0])
        np.testing.assert_array_equal(gy, [0.0, 1.0])


def test_clip_boundaries_and_bound_gradients():
    a = np.array([-2.0, -1.0, 0.0, 1.0, 3.0])
    ga, glo, ghi = tp.grad(lambda a, lo, hi: tnp.sum(tnp.clip(a, lo, hi)), argnums=(0, 1, 2))(
        a, -1.0, 1.0
    )
    # Closed interval: a == a_min and a == a_max pass the gradient to a.
    np.testing.assert_array_equal(ga, [0.0, 1.0, 1.0, 1.0, 0.0])
    assert glo == 1.0 and ghi == 1.0
    # a_min > a_max: numpy returns a_max everywhere, so a_max gets every gradient.
    ga, glo, ghi = tp.grad(lambda a, lo, hi: tnp.sum(tnp.clip(a, lo, hi)), argnums=(0, 1, 2))(
        a, 1.0, -1.0
    )
    np.testing.assert_array_equal(ga, np.zeros(5))
    assert glo == 0.0 and ghi == 5.0
    # Array bounds broadcast; keyword and method forms.
    lo = np.array([-1.0, 0.5, -5.0, 2.0, 0.0])
    glo = tp.grad(lambda lo: tnp.sum(tnp.clip(a, lo, None)))(lo)
    np.testing.assert_array_equal(glo, [1.0, 1.0, 0.0, 1.0, 0.0])
    np.testing.assert_array_equal(tp.grad(lambda a: tnp.sum(a.clip(0.0, 1.0)))(a), [0, 0, 1, 1, 0])
    np.testing.assert_array_equal(
        tp.grad(lambda a: tnp.sum(np.clip(a, min=0.0)))(a), [0, 0, 1, 1, 1]
    )


def test_kink_conventions_at_zero():
    zero = np.array([0.0, 0.0])
    np.testing.assert_array_equal(tp.grad(lambda x: tnp.sum(tnp.abs(x)))(zero), [0.0, 0.0])
    np.testing.assert_array_equal(tp.grad(lambda x: tnp.sum(tnp.fabs(x)))(zero), [0.0, 0.0])
    assert tp.grad(lambda z: tnp.abs(z))(0j) == 0
    np.testing.assert_array_equal(tp.grad(lambda x: tnp.sum(tnp.sinc(x)))(zero), [0.0, 0.0])
    np.testing.assert_array_equal(
        tp.grad(lambda x: tnp.sum(tnp.copysign(x, -1.0)))(zero), [0.0, 0.0]
    )
    gx, gy = tp.grad(lambda x, y: tnp.hypot(x, y), argnums=(0, 1))(0.0, 0.0)
    assert gx == 0.0 and gy == 0.0
    with np.errstate(divide="ignore"):
        assert tp.grad(tnp.sqrt)(0.0) == np.inf
    # power is safe at x = 0 (no division by x).
    assert tp.grad(lambda x: x**3)(0.0) == 0.0
    assert tp.grad(lambda x: tnp.power(x, 1.0))(0.0) == 1.0


def test_zero_gradient_functions_return_plain_arrays():
    seen = {}

    def f(x):
        for name in (
            "floor",
            "ceil",
            "trunc",
            "rint",
            "fix",
            "sign",
            "isnan",
            "isinf",
            "isfinite",
            "signbit",
        ):
            seen[name] = getattr(tnp, name)(x)
        seen["round"] = tnp.round(x, decimals=1)
        seen["less"] = x < 1.0
        seen["logical_and"] = tnp.logical_and(x > 0, x < 2)
        seen["heaviside"] = tnp.heaviside(x, 0.5)
        return tnp.sum(x * seen["floor"])

    x = np.array([0.4, 1.6, -2.3])
    np.testing.assert_array_equal(tp.grad(f)(x), np.floor(x))
    for name, value in seen.items():
        assert not tp.is_traced(value), name
    np.testing.assert_array_equal(seen["round"], np.round(x, 1))


def test_plain_numpy_calls_dispatch_to_the_rules():
    def f(x):
        y = np.clip(x, -1.0, 1.0) + np.round(x) + np.fmax(x, 0.5) + np.logaddexp(x, 0.0)
        y = y + np.arctan2(x, 1.0) + np.hypot(x, 2.0) + np.cbrt(x) + np.exp2(x) + np.log1p(x * x)
        y = y + np.radians(x) + np.degrees(x) / 100 + np.expm1(x) + np.angle(x + 2j) + np.sinc(x)
        return np.sum(y + np.fix(x) + np.float_power(x * x, 1.5))

    tp.check_grads(f, (np.array([0.3, -0.7, 1.9]),), order=2, modes=("rev", "fwd"))


def test_float_power_keeps_numpys_float64_but_gradients_match_inputs():
    x = np.array([1.5, 2.0], np.float32)
    assert tnp.float_power(x, 2.0).dtype == np.float64
    g = tp.grad(lambda x: tnp.sum(tnp.float_power(x, 3.0)))(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, 3 * x.astype(np.float64) ** 2, rtol=1e-6)


# ----- property-based broadcasting of the binary primitives ----------------------------
_BINARY = {
    "maximum": (tnp.maximum, None),
    "minimum": (tnp.minimum, None),
    "fmax": (tnp.fmax, None),
    "fmin": (tnp.fmin, None),
    "arctan2": (tnp.arctan2, None),
    "hypot": (tnp.hypot, None),
    "logaddexp": (tnp.logaddexp, None),
    "logaddexp2": (tnp.logaddexp2, None),
    "copysign": (tnp.copysign, None),
    "power": (tnp.power, "positive base"),
    "float_power": (tnp.float_power, "positive base"),
    "fmod": (tnp.fmod, "divisor away from 0"),
    "where": (lambda x, y: tnp.where(x > y, x * y, y - x), None),
    "clip": (lambda x, y: tnp.clip(x, y - 0.5, y + 0.5), None),
}


def _binary_cases():  # noqa: ANN202
    from hypothesis import strategies as st
    from hypothesis.extra.numpy import mutually_broadcastable_shapes

    return st.tuples(
        st.sampled_from(sorted(_BINARY)),
        mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
        st.integers(0, 2**16),
    )


def test_binary_primitives_broadcast_in_both_modes():
    from hypothesis import given, settings

    @settings(deadline=None)
    @given(_binary_cases())
    def check(case):  # noqa: ANN001, ANN202
        name, shapes, seed = case
        fun, domain = _BINARY[name]
        rng = np.random.default_rng(seed)
        x, y = (rng.standard_normal(s) for s in shapes.input_shapes)
        # Keep inputs away from kinks (ties, zeros, clip bounds) and domain edges.
        x = x + np.sign(x) * 0.3
        y = y + np.sign(y) * 0.3 + 0.05
        if domain == "positive base":
            x = np.abs(x) + 0.5
        elif domain == "divisor away from 0":
            y = np.abs(y) + 1.0
        tp.check_grads(fun, (x, y), order=1, modes=("rev", "fwd"))
        gx, gy = tp.grad(lambda a, b: tnp.sum(fun(a, b)), argnums=(0, 1))(x, y)
        assert np.shape(gx) == np.shape(x) and np.shape(gy) == np.shape(y)

    check()
