"""Matrix rows for tapeflow/scipy/integrate.py (SciPy's LSODA)."""

import numpy as np

import tapeflow.numpy as tnp
import tapeflow.scipy.integrate as sint
from tests.numpy.needs_scipy import needs_scipy
from tests.numpy.spec import Case, positive, real

# Tolerances far below the finite differences' step, so that the integration error does
# not show in the comparison.
_TIGHT = dict(rtol=1e-12, atol=1e-12)
# vmap integrates the batch as one system (shared step control): equal to a loop of
# single integrations to the integrator's accuracy, not bit for bit.
_VMAP_TOL = 1e-8


def _oscillator(y, t, k, damping):  # noqa: ANN001, ANN202
    return tnp.stack([y[1], -k * y[0] - damping * y[1] * tnp.cos(t)])


def _times(z):  # noqa: ANN001, ANN202
    return np.cumsum(0.2 + 0.1 * np.abs(z))


def _growth(y, t, rates):  # noqa: ANN001, ANN202
    return rates * y * (1 - tnp.sum(y) / 4.0)


CASES = [
    Case(
        "scipy.integrate.odeint",
        needs_scipy(lambda y0, t, k, c: sint.odeint(_oscillator, y0, t, args=(k, c), **_TIGHT)),
        (((2,), (3,), (), ()),),
        domains=[real, _times, positive, positive],
        covers=["scipy.integrate.odeint"],
        atol=1e-5,
        rtol=1e-4,
        extra={"vmap_tol": _VMAP_TOL},
    ),
    Case(
        "scipy.integrate.odeint-vector-args",
        needs_scipy(
            lambda y0, rates: sint.odeint(
                _growth, y0, np.array([0.0, 0.5, 1.0]), args=(rates,), **_TIGHT
            )
        ),  # fmt: skip
        (((3,), (3,)),),
        domains=[positive, positive],
        covers=["scipy.integrate.odeint"],
        atol=1e-5,
        rtol=1e-4,
        extra={"vmap_tol": _VMAP_TOL},
    ),
]
