"""Regressions of tapeflow.scipy.special: each test failed before its fix.

* complex input lost its imaginary part (every input was cast to float64), a complex
  Python scalar raised a bare TypeError from ``float()``, and the derivative rules then
  disagreed with the values;
* the Hessian of xlogy / xlog1py at x == 0 was not symmetric;
* the second derivative of log_ndtr was nan for x >= 38;
* kl_div / rel_entr of float32 arrays with a Python float returned float64.
"""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
import tapeflow.scipy.special as tsp

Z = np.array([1 + 1j, 0.5 - 2j, -1.5 + 0.3j])
_HOLOMORPHIC = ["erf", "erfc", "erfcx", "ndtr", "log_ndtr", "digamma", "gamma", "rgamma"]


@pytest.mark.parametrize("name", _HOLOMORPHIC)
def test_complex_input_keeps_its_imaginary_part(name: str) -> None:
    ss = pytest.importorskip("scipy.special", reason="SciPy computes complex values")
    reference = getattr(ss, "psi" if name == "digamma" else name)
    np.testing.assert_allclose(getattr(tsp, name)(Z), reference(Z), rtol=1e-13)
    # A complex Python scalar is a complex number, not a float() error.
    z = complex(Z[1])
    np.testing.assert_allclose(getattr(tsp, name)(z), reference(z), rtol=1e-13)


@pytest.mark.parametrize("name", _HOLOMORPHIC)
def test_complex_derivative_is_the_derivative_of_the_values(name: str) -> None:
    pytest.importorskip("scipy.special", reason="SciPy computes complex values")
    f = getattr(tsp, name)
    z, h = complex(Z[1]), 1e-6
    slope = tp.grad(f, holomorphic=True)(z)
    # Holomorphic: the same difference quotient along the real and the imaginary axis.
    np.testing.assert_allclose(slope, (f(z + h) - f(z - h)) / (2 * h), rtol=1e-7)
    np.testing.assert_allclose(slope, (f(z + 1j * h) - f(z - 1j * h)) / (2j * h), rtol=1e-7)


@pytest.mark.parametrize(
    "f, point, expected",
    [
        (tsp.xlogy, [0.0, 0.5], [[0.0, 2.0], [2.0, 0.0]]),
        (tsp.xlog1py, [0.0, 0.5], [[0.0, 2 / 3], [2 / 3, 0.0]]),
        (tsp.xlogy, [0.0, 0.0], [[0.0, 0.0], [0.0, 0.0]]),  # the corner: 0 by convention
        (tsp.xlog1py, [0.0, -1.0], [[0.0, 0.0], [0.0, 0.0]]),
        (tsp.xlogy, [1.5, 0.5], [[0.0, 2.0], [2.0, -6.0]]),
    ],
)
def test_xlogy_hessian_is_symmetric_at_x_zero(f, point, expected) -> None:
    hess = tp.hessian(lambda v: f(v[0], v[1]))(np.array(point))
    np.testing.assert_allclose(hess, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(hess, hess.T)


@pytest.mark.parametrize("x", [38.0, 40.0, 100.0, 1e10])
def test_log_ndtr_second_derivative_in_the_upper_tail(x: float) -> None:
    second = tp.grad(tp.grad(tsp.log_ndtr))(x)
    third = tp.grad(tp.grad(tp.grad(tsp.log_ndtr)))(x)
    assert np.isfinite(second) and abs(second) < 1e-300
    assert np.isfinite(third) and abs(third) < 1e-300


@pytest.mark.parametrize("f", [tsp.kl_div, tsp.rel_entr, tsp.xlogy, tsp.xlog1py, tsp.beta,
                               tsp.betaln, tsp.gammainc, tsp.gammaincc])  # fmt: skip
def test_float32_with_a_python_float_stays_float32(f) -> None:
    x = np.array([0.5, 1.5], np.float32)
    assert f(x, 0.7).dtype == np.float32
    assert f(0.7, x).dtype == np.float32
    g = tp.grad(lambda v: tnp.sum(f(v, 0.7)))(x)
    assert g.dtype == np.float32


_BINARY = [
    ("xlogy", tsp.xlogy, [0.7, 1.3]),
    ("xlog1py", tsp.xlog1py, [0.7, 0.3]),
    ("rel_entr", tsp.rel_entr, [0.7, 1.3]),
    ("kl_div", tsp.kl_div, [0.7, 1.3]),
    ("beta", tsp.beta, [0.7, 1.3]),
    ("betaln", tsp.betaln, [0.7, 1.3]),
    ("gammainc", tsp.gammainc, [1.7, 1.3]),
    ("gammaincc", tsp.gammaincc, [31.0, 29.0]),
    ("betainc", lambda a, b: tsp.betainc(a, b, 0.4), [2.5, 1.5]),
    ("betainc-x", lambda a, x: tsp.betainc(a, 0.8, x), [2.5, 0.3]),
]


@pytest.mark.parametrize("name,f,point", _BINARY, ids=[b[0] for b in _BINARY])
def test_binary_hessians_are_symmetric(name, f, point) -> None:
    hess = tp.hessian(lambda v: f(v[0], v[1]))(np.array(point))
    np.testing.assert_allclose(hess, hess.T, rtol=1e-12, atol=1e-14)
