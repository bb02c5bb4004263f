"""tapeflow.scipy.special against SciPy's own values, function by function.

One row per public function: its value on a real grid (and on a complex grid wherever
SciPy takes complex input) must match SciPy's to the row's tolerance, float32 input
must give float32 (complex64 complex64), and complex input to a function SciPy defines
for real input only must raise instead of losing its imaginary part. SciPy is the
reference, so these tests skip (with the reason shown) only where SciPy is not installed.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.scipy.special as tsp

ss = pytest.importorskip("scipy.special", reason="SciPy is the reference for these values")

_REAL = np.concatenate([np.linspace(-7.5, 7.5, 31), [-30.0, -1e-8, 1e-8, 0.0, 25.0]])
_POSITIVE = np.concatenate([np.geomspace(1e-6, 1e3, 37), [0.5, 1.0, 1.5, 2.0, 2.5]])
_UNIT = np.concatenate([np.linspace(0.0, 1.0, 21), [1e-12, 1e-300, 1 - 1e-12]])
_OPEN_UNIT = _UNIT[(_UNIT > 0) & (_UNIT < 1)]
_NEGATIVE = -np.linspace(0.05, 6.95, 24)  # through the poles' neighbourhoods
_COMPLEX = np.array([0.5 + 0.5j, -1.5 + 0.3j, 2.0 - 1.0j, -0.2 - 2.5j, 3.5 + 0.01j, 1e-3j])


def _pairs(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.meshgrid(first, second, indexing="ij")
    return a.ravel(), b.ravel()


_A, _X = _pairs(np.array([0.01, 0.3, 1.0, 2.5, 7.0, 30.0, 250.0]), np.geomspace(1e-3, 400, 23))
_BA, _BB = _pairs(np.array([0.02, 0.5, 1.0, 3.0, 12.0, 80.0]), np.array([0.05, 1.0, 4.0, 40.0]))
_BX = np.resize(np.linspace(0.01, 0.99, 17), _BA.shape)


@dataclass
class Row:
    name: str
    ours: Any
    theirs: Any
    args: tuple[Any, ...]
    complex_args: tuple[Any, ...] | None = None
    rtol: float = 1e-13
    atol: float = 0.0


ROWS = [
    Row("logsumexp", lambda x: tsp.logsumexp(x), ss.logsumexp, (_REAL,), (_COMPLEX,)),
    Row("softmax", tsp.softmax, ss.softmax, (_REAL,), (_COMPLEX,), atol=1e-300),
    Row("log_softmax", tsp.log_softmax, ss.log_softmax, (_REAL,), (_COMPLEX,)),
    Row("expit", tsp.expit, ss.expit, (_REAL * 10,)),
    Row("logit", tsp.logit, ss.logit, (_UNIT,)),
    Row("log_expit", tsp.log_expit, ss.log_expit, (_REAL * 10,)),
    Row("erf", tsp.erf, ss.erf, (_REAL,), (_COMPLEX,), atol=1e-300),
    Row("erfc", tsp.erfc, ss.erfc, (_REAL,), (_COMPLEX,), rtol=1e-12),
    Row("erfcx", tsp.erfcx, ss.erfcx, (_REAL,), (_COMPLEX,), rtol=1e-12),
    Row("erfinv", tsp.erfinv, ss.erfinv, (_UNIT * 2 - 1,), rtol=1e-12),
    Row("erfcinv", tsp.erfcinv, ss.erfcinv, (_UNIT * 2,), rtol=1e-12, atol=1e-300),
    Row("ndtr", tsp.ndtr, ss.ndtr, (_REAL * 5,), (_COMPLEX,), rtol=1e-12),
    Row("log_ndtr", tsp.log_ndtr, ss.log_ndtr, (_REAL * 5,), (_COMPLEX,), rtol=1e-12),
    Row("ndtri", tsp.ndtri, ss.ndtri, (_UNIT,), rtol=1e-12),
    Row("gamma", tsp.gamma, ss.gamma, (np.r_[_POSITIVE[:-8], _NEGATIVE],), (_COMPLEX,), 1e-12),
    Row("gammaln", tsp.gammaln, ss.gammaln, (np.r_[_POSITIVE, _NEGATIVE],), rtol=1e-12),
    Row(
        "rgamma",
        tsp.rgamma,
        ss.rgamma,
        (np.r_[_POSITIVE[:-8], _NEGATIVE, 0.0, -3.0],),
        (_COMPLEX,),
        rtol=1e-12,
        atol=1e-300,
    ),  # fmt: skip
    Row("gammasgn", tsp.gammasgn, ss.gammasgn, (np.r_[_POSITIVE, _NEGATIVE, -0.0],)),
    Row("digamma", tsp.digamma, ss.psi, (np.r_[_POSITIVE, _NEGATIVE],), (_COMPLEX,), 1e-12),
    Row("psi", tsp.psi, ss.psi, (np.r_[_POSITIVE, _NEGATIVE],), (_COMPLEX,), 1e-12),
    Row(
        "polygamma",
        lambda x: tsp.polygamma(2, x),
        lambda x: ss.polygamma(2, x),
        (np.r_[_POSITIVE[4:], _NEGATIVE],),
        rtol=1e-11,
    ),  # fmt: skip
    Row("betaln", tsp.betaln, ss.betaln, _pairs(_POSITIVE[::3], _POSITIVE[1::3]), rtol=1e-12),
    Row(
        "beta",
        tsp.beta,
        ss.beta,
        _pairs(np.r_[_POSITIVE[10::3], -0.5, -2.5], _POSITIVE[::4]),
        # SciPy's own beta(0.056, 1000) is 1.6e-12 off (mpmath); tapeflow's is exact there.
        rtol=5e-12,
        atol=1e-300,
    ),  # fmt: skip
    Row(
        "multigammaln",
        lambda a: tsp.multigammaln(a, 3),
        lambda a: ss.multigammaln(a, 3),
        (1.0 + _POSITIVE,),
        rtol=1e-12,
    ),  # fmt: skip
    # SciPy's own error near the medians of large shapes is about 1e-11 (mpmath decides;
    # tests/test_special_extremes.py holds tapeflow to 1e-13 there).
    Row("gammainc", tsp.gammainc, ss.gammainc, (_A, _X), rtol=1e-11, atol=1e-300),
    Row("gammaincc", tsp.gammaincc, ss.gammaincc, (_A, _X), rtol=1e-11, atol=1e-300),
    Row("betainc", tsp.betainc, ss.betainc, (_BA, _BB, _BX), rtol=1e-11, atol=1e-300),
    Row(
        "xlogy",
        tsp.xlogy,
        ss.xlogy,
        _pairs(_REAL[::4], np.abs(_REAL[::3])),
        (_COMPLEX, _COMPLEX[::-1]),
        1e-13,
    ),  # fmt: skip
    Row(
        "xlog1py",
        tsp.xlog1py,
        ss.xlog1py,
        _pairs(_REAL[::4], np.abs(_REAL[::3]) - 1),
        (_COMPLEX, _COMPLEX[::-1]),
        1e-13,
    ),  # fmt: skip
    Row("entr", tsp.entr, ss.entr, (_REAL,)),
    Row("rel_entr", tsp.rel_entr, ss.rel_entr, _pairs(_REAL[::3], _REAL[::4])),
    Row("kl_div", tsp.kl_div, ss.kl_div, _pairs(_REAL[::3], _REAL[::4])),
    *[
        Row(name, getattr(tsp, name), getattr(ss, name), (np.r_[_REAL * 4, -_POSITIVE],))
        for name in ("j0", "j1", "i0", "i0e", "i1", "i1e")
    ],
    *[Row(name, getattr(tsp, name), getattr(ss, name), (_POSITIVE,)) for name in ("y0", "y1")],
    Row(
        "jn",
        tsp.jn,
        ss.jn,
        _pairs(np.array([0, 1, 2, 5, -1.5]), _REAL * 4),
        (np.array([1.5, 0, 2, -1, 3, 0.5]), _COMPLEX),
    ),  # fmt: skip
    Row("yn", tsp.yn, ss.yn, _pairs(np.array([0, 1, 2, 5, -1]), _POSITIVE)),
    Row(
        "iv",
        tsp.iv,
        ss.iv,
        _pairs(np.array([0, 1, 2.5, -1.5]), _REAL * 4),
        (np.array([1.5, 0, 2, -1, 3, 0.5]), _COMPLEX),
    ),  # fmt: skip
    Row(
        "ive",
        tsp.ive,
        ss.ive,
        _pairs(np.array([0, 1, 2.5, -1.5]), _REAL * 40),
        (np.array([1.5, 0, 2, -1, 3, 0.5]), _COMPLEX),
    ),  # fmt: skip
    Row(
        "zeta",
        tsp.zeta,
        ss.zeta,
        (np.r_[_REAL * 5, 0.5, 0.999, 1.001, 60.0, -171.3],),
        (np.r_[_COMPLEX, 0.5 + 14.134725j],),
        rtol=1e-12,
    ),  # fmt: skip
    Row(
        "spence",
        tsp.spence,
        ss.spence,
        (np.r_[_POSITIVE, 0.0, 1.0, 1e300, -1.0],),
        (_COMPLEX,),
        rtol=1e-13,
    ),  # fmt: skip
]


_HURWITZ = _pairs(np.array([1.001, 1.5, 2.0, 3.7, 12.0, 40.0]), np.array([1e-3, 0.3, 1, 7.5, 800]))


def test_hurwitz_zeta_matches_scipy() -> None:
    np.testing.assert_allclose(tsp.zeta(*_HURWITZ), ss.zeta(*_HURWITZ), rtol=1e-13)
    # q <= 0, as SciPy: poles at the integers, a finite value for integer x.
    x, q = np.array([2.0, 3.0, 2.5, 0.5]), np.array([-1.5, -2.0, -1.5, 2.0])
    np.testing.assert_allclose(tsp.zeta(x, q), ss.zeta(x, q), rtol=1e-13)


@pytest.mark.parametrize("name", ["jn", "yn", "iv", "ive"])
def test_a_traced_bessel_order_raises(name: str) -> None:
    f = getattr(tsp, name)
    with pytest.raises(TypeError, match="order .* has no derivative"):
        tp.grad(lambda v: f(v, 2.0))(1.0)
    assert np.isfinite(tp.grad(lambda x: f(1.0, x))(2.0))  # the argument's slope exists


def test_every_public_function_has_a_row() -> None:
    assert sorted(r.name for r in ROWS) == sorted(tsp.__all__)


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_real_values_match_scipy(row: Row) -> None:
    with np.errstate(all="ignore"):
        expected = row.theirs(*row.args)
    got = row.ours(*row.args)
    np.testing.assert_allclose(got, expected, rtol=row.rtol, atol=row.atol)


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_float32_in_float32_out(row: Row) -> None:
    args = tuple(np.asarray(a)[:5].astype(np.float32) for a in row.args)
    with np.errstate(all="ignore"):
        got = row.ours(*args)
    assert np.result_type(got) == np.float32, f"{row.name}: {np.result_type(got)}"


_COMPLEX_ROWS = [r for r in ROWS if r.complex_args is not None]


@pytest.mark.parametrize("row", _COMPLEX_ROWS, ids=[r.name for r in _COMPLEX_ROWS])
def test_complex_values_match_scipy(row: Row) -> None:
    args = row.complex_args
    assert args is not None
    expected = row.theirs(*args)
    got = row.ours(*args)
    assert np.result_type(got) == np.complex128
    np.testing.assert_allclose(got, expected, rtol=row.rtol, atol=row.atol)
    # complex64 in, complex64 out; a Python complex scalar is accepted.
    small = tuple(np.asarray(a, np.complex64 if np.iscomplexobj(a) else np.float32) for a in args)
    assert np.result_type(row.ours(*small)) == np.complex64
    scalar = tuple(np.ravel(a)[0].item() for a in args)
    np.testing.assert_allclose(row.ours(*scalar), row.theirs(*scalar), rtol=row.rtol)


_REAL_ONLY = [r for r in ROWS if r.complex_args is None and r.name != "polygamma"]


@pytest.mark.parametrize("row", _REAL_ONLY, ids=[r.name for r in _REAL_ONLY])
def test_complex_input_to_a_real_function_raises(row: Row) -> None:
    args = tuple(np.asarray(a, np.complex128)[:3] + 0.5j for a in row.args)
    with pytest.raises(TypeError, match="real input only"):
        row.ours(*args)


def test_complex_polygamma_matches_mpmath() -> None:
    mpmath = pytest.importorskip("mpmath", reason="mpmath is the reference for complex polygamma")
    for n in range(4):
        got = tsp.polygamma(n, _COMPLEX)
        expected = np.array([complex(mpmath.polygamma(n, complex(z))) for z in _COMPLEX])
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_complex_input_without_scipy_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "scipy.special", None)  # import scipy.special fails
    with pytest.raises(ImportError, match=r"tapeflow\[scipy\]"):
        tsp.erf(np.array([1 + 1j]))
    # Real input never needs SciPy.
    assert tsp.erf(0.5) == pytest.approx(0.5204998778130465, rel=1e-15)
    assert tsp.gammainc(2.0, 1.0) == pytest.approx(0.26424111765711533, rel=1e-14)
