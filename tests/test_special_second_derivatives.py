"""Second derivatives of every tapeflow.scipy.special function over its whole domain.

One row per function: its continuous arguments, the points that span its documented
domain (typical values, and the asymptotic regions: large ``|x|``, tiny ``x``, next to
poles and boundaries), and the function written with mpmath. The Hessian that tapeflow
computes, reverse over reverse and forward over reverse, must be finite and match the
Hessian of the mpmath function (differentiated at 50 digits, with a step relative to each
argument) to the row's tolerance. A second derivative too large or too small for a
float64 is not asked for: the points stay where it is representable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
import tapeflow.scipy.special as tsp

mp = pytest.importorskip("mpmath", reason="mpmath is the high-precision reference")

# Results below this are zero for float64 purposes (they underflow or nearly do).
_TINY = 1e-280


@dataclass
class Row:
    name: str
    ours: Callable[..., Any]
    ref: Callable[..., Any]
    points: Sequence[tuple[float, ...]]
    rtol: float = 1e-8
    atol: float = 0.0
    # Where the reference is oscillatory or cancels, an absolute floor: this fraction of
    # the largest entry of the point's Hessian (the second derivative's own scale).
    scale_atol: float = 0.0
    # For an inverse function, a closed-form second derivative (mpmath cannot step
    # across the ends of a tiny domain): ``ref2(x)`` with ``x`` an mpf.
    ref2: Callable[..., Any] | None = None
    # The Bessel functions' values come from SciPy's kernels (the tapeflow[scipy] extra).
    scipy: bool = False


def _inverse_second(forward: Callable[..., Any], guess: Callable[[float], float]) -> Any:
    """y'' for y = forward^-1(p): -F''(y) / F'(y)^3, y solved at high precision."""

    def ref2(p: Any) -> Any:
        y = mp.findroot(lambda y: forward(y) - p, mp.mpf(guess(float(p))))
        return -mp.diff(forward, y, 2) / mp.diff(forward, y, 1) ** 3

    return ref2


def _ncdf_inv_start(p: float) -> float:
    return float(tsp.ndtri(p))


def _points(*values: float) -> list[tuple[float, ...]]:
    return [(v,) for v in values]


def _grid(*axes: Sequence[float]) -> list[tuple[float, ...]]:
    return [tuple(map(float, p)) for p in np.array(np.meshgrid(*axes)).reshape(len(axes), -1).T]


def _bessel(*args: Any, **kwargs: Any) -> Row:
    return Row(*args, scipy=True, **kwargs)


def _spence(x: Any) -> Any:
    return mp.polylog(2, 1 - x)


def _log_ndtr(x: Any) -> Any:
    return mp.log(mp.ncdf(x)) if x < 0 else mp.log1p(-mp.ncdf(-x))


def _gammasgn(x: Any) -> Any:
    return mp.sign(mp.gamma(x))


# The Hessian of logsumexp (and the Jacobian of softmax) is diag(p) - p p^T: computed to
# an absolute accuracy of eps (as in JAX), so where one probability rounds to 1 its
# curvature p (1 - p) is 0 rather than the true e^-40. Those three rows have that floor.
_SOFTMAX_FLOOR = 1e-16

ROWS = [
    Row("logsumexp", lambda x: tsp.logsumexp(tnp.stack([x, 0.0 * x])),
        lambda x: mp.log(1 + mp.exp(x)), _points(-740, -40, -1e-8, 0.0, 3.0, 40, 740),
        atol=_SOFTMAX_FLOOR),
    Row("softmax", lambda x: tsp.softmax(tnp.stack([x, 0.0 * x]))[0],
        lambda x: 1 / (1 + mp.exp(-x)), _points(-700, -40, 0.0, 3.0, 40, 700),
        atol=_SOFTMAX_FLOOR),
    Row("log_softmax", lambda x: tsp.log_softmax(tnp.stack([x, 0.0 * x]))[0],
        lambda x: -mp.log(1 + mp.exp(-x)), _points(-740, -40, 0.0, 3.0, 40, 740),
        atol=_SOFTMAX_FLOOR),
    Row("expit", tsp.expit, lambda x: 1 / (1 + mp.exp(-x)), _points(-700, -40, 0.0, 3.0, 40, 700)),
    Row("logit", tsp.logit, lambda p: mp.log(p / (1 - p)),
        _points(1e-100, 1e-10, 0.3, 0.5, 0.9, 1 - 1e-10)),
    Row("log_expit", tsp.log_expit, lambda x: -mp.log(1 + mp.exp(-x)),
        _points(-740, -40, 0.0, 3.0, 40, 740)),
    Row("erf", tsp.erf, mp.erf, _points(-26, -6, -1e-8, 0.0, 1e-8, 0.7, 6, 26)),
    Row("erfc", tsp.erfc, mp.erfc, _points(-26, -6, 0.0, 1e-8, 0.7, 6, 26)),
    Row("erfcx", tsp.erfcx, lambda x: mp.exp(x**2) * mp.erfc(x),
        _points(-26, -5, -1e-8, 0.0, 0.7, 5, 30, 1e3, 1e8, 1e50)),
    Row("erfinv", tsp.erfinv, mp.erfinv, _points(-1 + 1e-15, -0.999, 0.0, 1e-10, 0.5, 1 - 1e-15),
        ref2=_inverse_second(mp.erf, lambda p: float(tsp.erfinv(p)))),
    Row("erfcinv", tsp.erfcinv, None, _points(1e-140, 1e-10, 0.5, 1.0, 1.9, 2 - 1e-15),
        ref2=_inverse_second(mp.erfc, lambda p: float(tsp.erfcinv(p)))),
    Row("ndtr", tsp.ndtr, mp.ncdf, _points(-37, -10, -1e-8, 0.0, 1.5, 10, 37)),
    Row("log_ndtr", tsp.log_ndtr, _log_ndtr,
        _points(-1e5, -40, -5, 0.0, 5, 20, 37, 38, 40, 100, 1e3)),
    Row("ndtri", tsp.ndtri, None, _points(1e-140, 1e-20, 0.02, 0.5, 0.9, 1 - 1e-12),
        ref2=_inverse_second(mp.ncdf, _ncdf_inv_start)),
    Row("gamma", tsp.gamma, mp.gamma, _points(-10.5, -0.5, 1e-8, 0.5, 5, 100, 165)),
    Row("gammaln", tsp.gammaln, lambda x: mp.log(abs(mp.gamma(x))),
        _points(-2.5, 1e-150, 1e-8, 0.5, 3, 1e5, 1e300)),
    Row("rgamma", tsp.rgamma, mp.rgamma, _points(-10.5, -0.5, 1e-8, 0.5, 5, 100, 170)),
    Row("gammasgn", tsp.gammasgn, _gammasgn, _points(-10.5, -0.5, 0.5, 5)),
    Row("betaln", tsp.betaln, lambda a, b: mp.log(mp.beta(a, b)),
        [(1e-8, 2.0), (0.5, 0.5), (1e5, 3.0), (1e10, 1e10), (300.0, 1e-3)]),
    # beta's mixed derivative beta (psi(a) - psi(a+b)) (psi(b) - psi(a+b)) - beta psi1(a+b)
    # cancels to O(a) as a -> 0: its relative accuracy is about eps / a (2e-8 at a = 1e-8).
    Row("beta", tsp.beta, mp.beta, [(1e-8, 2.0), (0.5, 0.5), (30.0, 3.0), (300.0, 1e-3)],
        rtol=1e-7),
    Row("multigammaln", lambda a: tsp.multigammaln(a, 3),
        lambda a: 3 * mp.log(mp.pi) / 2 + sum(mp.loggamma(a - mp.mpf(j) / 2) for j in range(3)),
        _points(1.1, 5, 1e5)),
    Row("gammainc", tsp.gammainc, lambda a, x: mp.gammainc(a, 0, x, regularized=True),
        [(0.5, 1e-10), (2.0, 1e-3), (5.0, 5.0), (30.0, 25.0), (100.0, 100.0), (0.3, 30.0),
         (1e3, 1.1e3)], rtol=1e-6),
    Row("gammaincc", tsp.gammaincc, lambda a, x: mp.gammainc(a, x, mp.inf, regularized=True),
        [(0.5, 1e-10), (2.0, 1e-3), (5.0, 5.0), (30.0, 25.0), (100.0, 100.0), (0.3, 30.0),
         (1e3, 1.1e3)], rtol=1e-6),
    Row("betainc", tsp.betainc, lambda a, b, x: mp.betainc(a, b, 0, x, regularized=True),
        [(0.5, 0.5, 1e-8), (2.0, 3.0, 0.4), (20.0, 30.0, 0.4), (1.5, 5.0, 0.999),
         (0.2, 0.3, 0.5)], rtol=1e-6),
    Row("digamma", tsp.digamma, mp.digamma, _points(-2.5, -1e-3, 1e-8, 0.5, 10, 1e8, 1e100)),
    Row("psi", tsp.psi, mp.digamma, _points(-2.5, 1e-8, 0.5, 10, 1e8)),
    *[
        Row(f"polygamma{n}", lambda x, n=n: tsp.polygamma(n, x),
            lambda x, n=n: mp.polygamma(n, x), _points(-2.5, 1e-5, 1, 30, 1e5))
        for n in (1, 2)
    ],
    Row("xlogy", tsp.xlogy, lambda x, y: x * mp.log(y),
        [(0.0, 0.5), (2.0, 1e-100), (1e-100, 3.0), (5.0, 1e100), (-1.5, 2.0)]),
    Row("xlog1py", tsp.xlog1py, lambda x, y: x * mp.log1p(y),
        [(0.0, 0.5), (2.0, 1e-10), (2.0, -1 + 1e-10), (3.0, 1e100), (1e-100, 0.3)]),
    Row("entr", tsp.entr, lambda x: -x * mp.log(x), _points(1e-100, 1e-8, 0.5, 1e100)),
    Row("rel_entr", tsp.rel_entr, lambda x, y: x * mp.log(x / y),
        [(1e-100, 1.0), (1.0, 1e-100), (3.0, 2.0), (1e50, 1e50)]),
    Row("kl_div", tsp.kl_div, lambda x, y: x * mp.log(x / y) - x + y,
        [(1e-100, 1.0), (1.0, 1e-100), (3.0, 2.0), (1e50, 1e50)]),
    _bessel("j0", tsp.j0, mp.j0, _points(1e-8, 0.0, 1.0, 10, 1e3, 1e8), scale_atol=1e-10),
    _bessel("j1", tsp.j1, mp.j1, _points(1e-8, 0.0, 1.0, -10, 1e3, 1e8), scale_atol=1e-10),
    _bessel("jn", lambda x: tsp.jn(3, x), lambda x: mp.besselj(3, x),
            _points(1e-8, 1.0, 10, 1e3), scale_atol=1e-10),
    _bessel("y0", tsp.y0, lambda x: mp.bessely(0, x), _points(1e-8, 1.0, 10, 1e3, 1e8),
            scale_atol=1e-10),
    _bessel("y1", tsp.y1, lambda x: mp.bessely(1, x), _points(1e-5, 1.0, 10, 1e3),
            scale_atol=1e-10),
    _bessel("yn", lambda x: tsp.yn(3, x), lambda x: mp.bessely(3, x),
            _points(1e-3, 1.0, 10, 1e3), scale_atol=1e-10),
    _bessel("i0", tsp.i0, lambda x: mp.besseli(0, x), _points(-700, 1e-8, 0.0, 1.0, 10, 700)),
    _bessel("i1", tsp.i1, lambda x: mp.besseli(1, x), _points(-700, 1e-8, 0.0, 1.0, 10, 700)),
    # The scaled ones switch to the asymptotic series at |x| = 30 + 2 v^2: both sides.
    _bessel("i0e", tsp.i0e, lambda x: mp.exp(-abs(x)) * mp.besseli(0, x),
            _points(-1e3, -30.5, 1e-8, 1.0, 10, 29.5, 30.5, 1e3, 1e8, 1e100)),
    _bessel("i1e", tsp.i1e, lambda x: mp.exp(-abs(x)) * mp.besseli(1, x),
            _points(-1e3, -32.5, 1e-8, 1.0, 10, 31.5, 32.5, 1e3, 1e8, 1e100)),
    *[
        _bessel(f"iv{v}", lambda x, v=v: tsp.iv(v, x), lambda x, v=v: mp.besseli(v, x),
                _points(1e-8, 1.0, 10, 600))
        for v in (0.5, 2.5)
    ],
    _bessel("ive", lambda x: tsp.ive(1.5, x), lambda x: mp.exp(-x) * mp.besseli(1.5, x),
            _points(1e-8, 1.0, 10, 34, 35, 1e3, 1e8, 1e100)),
    _bessel("ive2", lambda x: tsp.ive(2, x), lambda x: mp.exp(-abs(x)) * mp.besseli(2, x),
            _points(-1e8, -40, -1.0, 37.5, 38.5, 1e5)),
    Row("zeta", tsp.zeta, mp.zeta, _points(-3.5, 0.5, 1 + 1e-8, 2.0, 10, 60)),
    Row("zeta-hurwitz", tsp.zeta, mp.zeta,
        [(2.0, 0.5), (1 + 1e-6, 3.0), (5.0, 1e-3), (3.0, 1e3), (60.0, 2.0)]),
    Row("spence", tsp.spence, _spence, _points(1e-10, 0.5, 1.0, 2.0, 1e10)),
]  # fmt: skip

_PARAMS = [
    pytest.param(row, point, id=f"{row.name}-{','.join(f'{v:g}' for v in point)}")
    for row in ROWS
    for point in row.points
]


def _hessian_at(row: Row, point: tuple[float, ...], dps: int, step: int) -> np.ndarray:
    """The mpmath Hessian at ``dps`` digits, by central differences of step ``10**-step``
    in ``u`` for each argument written ``x (1 + u)`` (``x + u`` at 0): a step relative to
    the argument, so a tiny argument is never stepped across its domain's boundary."""
    with mp.workdps(dps):
        xs = [mp.mpf(v) for v in point]
        if row.ref2 is not None:
            return np.array([[float(row.ref2(xs[0]))]])
        scales = [abs(x) if x != 0 else mp.mpf(1) for x in xs]

        def scaled(*us: Any) -> Any:
            return row.ref(*(x + s * u for x, s, u in zip(xs, scales, us, strict=True)))

        n, h = len(xs), mp.mpf(10) ** -step
        hess = np.empty((n, n))
        for i in range(n):
            for j in range(i, n):
                orders = [0] * n
                orders[i] += 1
                orders[j] += 1
                d = mp.diff(scaled, [mp.mpf(0)] * n, orders, h=h) / (scales[i] * scales[j])
                hess[i, j] = hess[j, i] = float(d)
        return hess


def _reference(row: Row, point: tuple[float, ...]) -> tuple[np.ndarray, float]:
    """The reference Hessian and a bound on its own error (two precisions compared)."""
    first = _hessian_at(row, point, 50, 12)
    second = _hessian_at(row, point, 70, 18)
    return second, 10 * float(np.max(np.abs(first - second)))


def _ours(row: Row, point: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    def f(v: Any) -> Any:
        return row.ours(*(v[i] for i in range(len(point))))

    v = np.array(point, np.float64)
    return tp.jacrev(tp.grad(f))(v), tp.jacfwd(tp.grad(f))(v)


def test_every_special_function_has_a_row() -> None:
    names = {row.name.split("-")[0] for row in ROWS}
    names |= {name.rstrip("0123456789.") for name in names}  # polygamma1, iv0.5, ...
    assert set(tsp.__all__) - names == set()


@pytest.mark.parametrize("row,point", _PARAMS)
def test_second_derivative_matches_mpmath(row: Row, point: tuple[float, ...]) -> None:
    if row.scipy:
        pytest.importorskip("scipy.special", reason="the Bessel functions call SciPy's kernels")
    expected, error = _reference(row, point)
    scale = np.max(np.abs(expected))
    atol = max(_TINY, error, row.atol, row.scale_atol * scale)
    for label, got in zip(("rev-over-rev", "fwd-over-rev"), _ours(row, point), strict=True):
        assert np.all(np.isfinite(got)), f"{row.name} at {point}: {label} Hessian {got}"
        np.testing.assert_allclose(
            got, expected, rtol=row.rtol, atol=atol, err_msg=f"{row.name} at {point}, {label}"
        )
