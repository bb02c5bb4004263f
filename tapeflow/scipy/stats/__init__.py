"""tapeflow.scipy.stats: probability distributions (scipy.stats names and signatures).

Each distribution is a module of functions with SciPy's arguments, so
``from tapeflow.scipy import stats`` replaces ``from scipy import stats`` in
differentiable code (``stats.norm.logpdf(x, loc, scale)``). Everything is computed
with numpy alone and is differentiable in the data and every continuous parameter:

- ``norm``: logpdf, pdf, cdf, logcdf, sf, logsf, ppf, isf
- ``t``, ``gamma``, ``beta``, ``chi2``: logpdf, pdf, cdf, logcdf, sf, logsf
- ``poisson``: logpmf, pmf, cdf, logcdf, sf, logsf (``k`` is discrete: no gradient)
- ``dirichlet``: logpdf, pdf
- ``multivariate_normal``: logpdf, pdf, cdf, logcdf (the CDFs by Genz's method on a
  fixed lattice: smooth, absolute error of the order of 1e-5)

Invalid parameters (a scale that is not positive, ...) give nan and points outside
the support a density of 0, as in SciPy. The CDFs of ``t``, ``gamma``, ``beta``,
``chi2`` and ``poisson`` use the regularized incomplete gamma and beta functions of
``tapeflow.scipy.special``, differentiable in every argument.
"""

from tapeflow.scipy.stats import (
    beta,
    chi2,
    dirichlet,
    gamma,
    multivariate_normal,
    norm,
    poisson,
    t,
)

__all__ = ["norm", "t", "gamma", "beta", "chi2", "poisson", "dirichlet", "multivariate_normal"]
