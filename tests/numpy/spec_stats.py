"""Matrix rows for tapeflow/scipy/stats: every function of every distribution, each
differentiated in the data and every continuous parameter at once (the matrix also
takes each argument alone).

Domains keep each argument inside its distribution's support and both regimes of the
CDFs (the series and the continued fraction of the incomplete functions, both tails
of t). Poisson's count ``k`` is discrete (no gradient) and fixed inside the rows.
"""

import numpy as np

from tapeflow.scipy import stats
from tests.numpy.spec import Case, positive, real
from tests.numpy.spec_linalg import spd

GAMMA = ["scipy.special.gammainc", "scipy.special.gammaincc"]
BETA = ["scipy.special.betainc"]


def _scaled(k):  # noqa: ANN001, ANN202
    return lambda z: k * real(z)


def _unit(z):  # noqa: ANN001, ANN202
    return 0.5 + 0.35 * np.tanh(z)


def _shape(z):  # noqa: ANN001, ANN202
    """Shape parameters from 0.2 to about 6 (below and above 1)."""
    return 0.2 + 2 * np.abs(z)


def _from_zero(z):  # noqa: ANN001, ANN202
    """From 0.2 to about 9: below and above the shape parameters."""
    return 0.2 + 3 * np.abs(z)


def _simplex_part(z):  # noqa: ANN001, ANN202
    """K - 1 = 2 components in [0.1, 0.2]: the last, 1 - sum, is at least 0.6."""
    return 0.1 + 0.1 * np.tanh(np.abs(z))


V3 = (3,)
LOC_SCALE = ((V3, V3, V3), ((2, 3), (3,), ()))
SHAPE_LOC_SCALE = ((V3, V3, V3, V3), ((2, 3), (3,), (), (2, 1)))
ALL = ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")


def _rows(name, module, functions, shapes, domains, covers, order=2):  # noqa: ANN001, ANN202
    return [
        Case(
            f"stats.{name}.{fn}",
            getattr(module, fn),
            shapes,
            domains=domains,
            covers=covers if fn not in ("logpdf", "pdf", "logpmf", "pmf", "ppf", "isf") else [],
            order=order if fn not in ("logcdf", "logsf") else 1,
        )
        for fn in functions
    ]


CASES = [
    *_rows("norm", stats.norm, ALL, LOC_SCALE, [_scaled(3), real, positive], []),
    *_rows("norm", stats.norm, ("ppf", "isf"), LOC_SCALE, [_unit, real, positive], []),
    Case(
        "stats.norm.tails",
        lambda x: stats.norm.logcdf(-x) + stats.norm.logsf(x),
        ((V3,),),
        domains=lambda z: 30 + np.abs(z),
    ),
    *_rows("t", stats.t, ALL, SHAPE_LOC_SCALE, [_scaled(3), _shape, real, positive], BETA),
    Case(
        "stats.t.center",
        lambda x, df: stats.t.cdf(x, df) + stats.t.sf(0.0 * x, df),
        ((V3, V3),),
        domains=[_scaled(0.05), _shape],
        covers=BETA,
    ),
    *_rows(
        "gamma",
        stats.gamma,
        ALL,
        SHAPE_LOC_SCALE,
        [_from_zero, _shape, lambda z: -0.4 + 0.1 * np.tanh(z), positive],
        GAMMA,
    ),
    *_rows(
        "chi2",
        stats.chi2,
        ALL,
        ((V3, V3, V3, V3),),
        [_from_zero, _shape, lambda z: -0.4 + 0.1 * np.tanh(z), positive],
        GAMMA,
    ),
    *_rows(
        "beta",
        stats.beta,
        ALL,
        ((V3, V3, V3, V3, V3), ((2, 3), (3,), (2, 1), (), ())),
        [_unit, _shape, _shape, lambda z: 0.05 * np.tanh(z), lambda z: 1.1 + 0.05 * np.tanh(z)],
        BETA,
    ),
    *(
        Case(
            f"stats.poisson.{fn}",
            (lambda fn: lambda mu: getattr(stats.poisson, fn)(np.array([0, 2, 7], mu.dtype), mu))(
                fn
            ),
            ((V3,), ((2, 3),)),
            domains=lambda z: 5 * positive(z),
            covers=GAMMA if fn in ("cdf", "sf", "logcdf", "logsf") else [],
            order=1 if fn in ("logcdf", "logsf") else 2,
        )
        for fn in ("logpmf", "pmf", "cdf", "logcdf", "sf", "logsf")
    ),
    Case(
        "stats.dirichlet.logpdf",
        stats.dirichlet.logpdf,
        (((2,), (3,)), ((2, 4), (3,))),
        domains=[_simplex_part, _shape],
    ),
    Case(
        "stats.dirichlet.pdf",
        stats.dirichlet.pdf,
        (((2,), (3,)),),
        domains=[_simplex_part, _shape],
    ),
    Case(
        "stats.multivariate_normal.logpdf",
        stats.multivariate_normal.logpdf,
        (((4, 3), (3,), (3, 3)), ((3,), (3,), (3, 3)), ((2, 2, 2), (2,), (2, 2))),
        domains=[real, real, spd],
    ),
    # the CDFs on a small lattice: the matrix checks their derivatives, not the accuracy
    Case(
        "stats.multivariate_normal.cdf",
        lambda x, mean, cov: stats.multivariate_normal.cdf(x, mean, cov, maxpts=256),
        (((4, 3), (3,), (3, 3)), ((2,), (2,), (2, 2)), ((3, 1), (1,), (1, 1))),
        domains=[real, real, spd],
    ),
    Case(
        "stats.multivariate_normal.logcdf-lower",
        lambda x, mean, variances: stats.multivariate_normal.logcdf(
            x, mean, variances, maxpts=256, lower_limit=x - 1.5
        ),
        (((3, 2), (2,), (2,)),),
        domains=[real, real, positive],
        order=1,
    ),
    Case(
        "stats.multivariate_normal.pdf-diagonal",
        lambda x, mean, variances: stats.multivariate_normal.pdf(x, mean, variances),
        (((4, 3), (3,), (3,)), ((3,), (3,), ())),
        domains=[real, real, positive],
    ),
]
