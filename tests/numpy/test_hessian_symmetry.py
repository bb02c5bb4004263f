"""Second derivatives of the binary elementwise primitives are symmetric.

For each primitive ``f`` the Hessian of ``sum(f(x, y))`` over a batch of points is
computed forward-over-reverse (``tp.hessian``) and reverse-over-reverse
(``tp.jacrev(tp.grad)``); both must agree, equal their transpose, and be finite. At
interior points they must also agree with central differences of the gradient. At the
documented special points (ties of maximum/minimum, bounds of clip, zeros of power,
the origin of hypot...) only symmetry, agreement and finiteness are checked: the
second derivative there is a convention, and finite differences straddle a kink.
``test_every_binary_elementwise_primitive_has_a_row`` keeps the table complete.
"""

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
import tapeflow.scipy.special as tsp
from tapeflow.core.primitive import registered_primitives
from tests.numpy.spec import positive, real


def _points(domains, n=4, seed=0):
    rng = np.random.default_rng(seed)
    return [dom(rng.standard_normal(n)) for dom in domains]


def _between(lo, hi):
    return lambda z: lo + (hi - lo) * (0.5 + 0.45 * np.tanh(z))


# name -> (function, domain per argument at interior points, special points as tuples)
ROWS = {
    "add": (tnp.add, (real, real), [(0.0, 0.0)]),
    "subtract": (tnp.subtract, (real, real), [(0.0, 0.0)]),
    "multiply": (tnp.multiply, (real, real), [(0.0, 0.0), (0.0, 1.5)]),
    "divide": (tnp.divide, (real, positive), [(0.0, 1.0)]),
    # x == 0 with y >= 2 (d/dy is 0 there by convention, and so are both mixed partials).
    # At x == 0 with y < 2 x**y has no finite second derivative (y(y-1)x**(y-2) is
    # infinite, and at y == 1 the slope jumps in y): outside the documented domain.
    "power": (tnp.power, (positive, real), [(0.0, 2.0), (0.0, 3.0), (1.0, 0.0)]),
    "float_power": (tnp.float_power, (positive, real), [(0.0, 2.0), (0.0, 2.5), (1.0, 0.0)]),
    "arctan2": (tnp.arctan2, (real, real), [(0.0, 1.0), (1.0, 0.0), (-1.0, 0.0)]),
    "hypot": (tnp.hypot, (real, real), [(0.0, 0.0), (0.0, 1.0)]),
    "logaddexp": (tnp.logaddexp, (real, real), [(2.0, 2.0), (-np.inf, 1.0)]),
    "logaddexp2": (tnp.logaddexp2, (real, real), [(2.0, 2.0), (-np.inf, 1.0)]),
    "maximum": (tnp.maximum, (real, real), [(1.5, 1.5), (0.0, 0.0)]),
    "minimum": (tnp.minimum, (real, real), [(1.5, 1.5), (-2.0, -2.0)]),
    "fmax": (tnp.fmax, (real, real), [(1.5, 1.5), (np.nan, 1.0), (1.0, np.nan)]),
    "fmin": (tnp.fmin, (real, real), [(1.5, 1.5), (np.nan, 1.0), (1.0, np.nan)]),
    "fmod": (tnp.fmod, (_between(0.2, 0.9), _between(1.1, 2.0)), []),
    "remainder": (tnp.remainder, (_between(0.2, 0.9), _between(1.1, 2.0)), []),
    "where": (lambda x, y: tnp.where(x > 0, x * y, y * y), (real, real), [(0.0, 1.0)]),
    "clip": (
        lambda a, lo, hi: tnp.clip(a, lo, hi),
        (real, _between(-3.0, -2.0), _between(2.0, 3.0)),
        [(-0.5, -0.5, 0.5), (0.5, -0.5, 0.5), (1.0, 0.0, 0.0)],
    ),
    # x == 0: x log y is 0 whatever y, so d2/dx2 is 0 and the mixed partial is 1/y; at
    # y == 0 too (y == -1 for xlog1py) every second derivative is 0 by convention.
    "scipy.special.xlogy": (tsp.xlogy, (positive, positive), [(0.0, 0.5), (0.0, 0.0)]),
    "scipy.special.xlog1py": (tsp.xlog1py, (positive, positive), [(0.0, 0.5), (0.0, -1.0)]),
    # (at x == 0, d2/dx2 of x log(x / y) is 1/x: no finite Hessian, interior points only)
    "scipy.special.kl_div": (tsp.kl_div, (positive, positive), []),
    "scipy.special.rel_entr": (tsp.rel_entr, (positive, positive), []),
    "scipy.special.beta": (tsp.beta, (_between(0.5, 3.0), _between(0.5, 3.0)), []),
    "scipy.special.betaln": (tsp.betaln, (_between(0.5, 3.0), _between(0.5, 3.0)), []),
    "scipy.special.gammainc": (tsp.gammainc, (_between(0.5, 3.0), _between(0.2, 4.0)), []),
    "scipy.special.gammaincc": (tsp.gammaincc, (_between(0.5, 3.0), _between(0.2, 4.0)), []),
    "scipy.special.zeta": (tsp.zeta, (_between(1.5, 4.0), _between(0.5, 3.0)), []),
    # (betaln with b far above a: psi(b) - psi(a + b) from its series in a)
    "scipy.special.psi_gap": (
        tsp.betaln,
        (_between(0.5, 2.0), _between(4000.0, 5000.0)),
        [],
    ),
    "scipy.special.betainc": (
        tsp.betainc,
        (_between(0.5, 3.0), _between(0.5, 3.0), _between(0.1, 0.9)),
        [],
    ),
}


# Elementwise primitives with a rule for each argument, one of which refuses: the order
# of a Bessel function has no derivative, so their Hessians are 1 x 1.
ONE_ARGUMENT = {
    "scipy.special.iv": "the order is not differentiable",
    "scipy.special.ive": "the order is not differentiable",
    "scipy.special.ive_asymptotic": "the order is not differentiable",
    "scipy.special.jv": "the order is not differentiable",
    "scipy.special.yv": "the order is not differentiable",
    "scipy.special.yn": "the order is not differentiable",
}


def _hessians(fun, points):
    v = np.array(points, dtype=np.float64)  # (arguments, points)

    def total(v):
        return tnp.sum(fun(*v))

    k, n = v.shape
    fwd = np.asarray(tp.hessian(total)(v)).reshape(k * n, k * n)
    rev = np.asarray(tp.jacrev(tp.grad(total))(v)).reshape(k * n, k * n)
    return v, total, fwd, rev


def _check_symmetric(fwd, rev):
    assert np.all(np.isfinite(fwd)), fwd
    np.testing.assert_allclose(fwd, fwd.T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rev, fwd, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(ROWS))
def test_hessian_is_symmetric_at_interior_points(name):
    fun, domains, _ = ROWS[name]
    v, total, fwd, rev = _hessians(fun, _points(domains))
    _check_symmetric(fwd, rev)
    h = 1e-6
    grad = tp.grad(total)
    numeric = np.stack(
        [
            (grad(v + h * e.reshape(v.shape)) - grad(v - h * e.reshape(v.shape))).ravel() / (2 * h)
            for e in np.eye(v.size)
        ]
    )
    np.testing.assert_allclose(fwd, numeric, rtol=1e-5, atol=1e-6)


SPECIAL = [(name, point) for name, (_, _, points) in sorted(ROWS.items()) for point in points]


@pytest.mark.parametrize("name,point", SPECIAL, ids=[f"{n}-{p}" for n, p in SPECIAL])
def test_hessian_is_symmetric_at_special_points(name, point):
    fun = ROWS[name][0]
    with np.errstate(all="ignore"):  # (logaddexp of -inf, fmax of NaN evaluate quietly)
        _, _, fwd, rev = _hessians(fun, [[p] for p in point])
    _check_symmetric(fwd, rev)


def test_every_binary_elementwise_primitive_has_a_row():
    several = sorted(
        name
        for name, prim in registered_primitives(builtin_only=True).items()
        if prim.elementwise
        and not prim.zero_gradient
        and len([rule for rule in prim.vjps if rule is not None]) >= 2
    )
    missing = [name for name in several if name not in ROWS and name not in ONE_ARGUMENT]
    assert not missing, f"binary elementwise primitives without a Hessian-symmetry row: {missing}"
