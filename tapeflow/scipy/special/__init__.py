"""Special functions (``scipy.special`` names and semantics), differentiable.

Each function is a primitive with its own derivatives (or a composition of them), written
with tapeflow operations so that higher derivatives work. The families, one module each:

* :mod:`~tapeflow.scipy.special.logistic`: softmax, log_softmax, expit, logit, log_expit;
* :mod:`~tapeflow.scipy.special.error_functions`: erf, erfc, erfcx, erfinv, erfcinv, ndtr,
  log_ndtr, ndtri;
* :mod:`~tapeflow.scipy.special.gamma_functions`: gamma, gammaln, rgamma, gammasgn,
  digamma (psi), polygamma, beta, betaln, multigammaln;
* :mod:`~tapeflow.scipy.special.incomplete`: gammainc, gammaincc, betainc (differentiable
  in their shape parameters too);
* :mod:`~tapeflow.scipy.special.information`: xlogy, xlog1py, entr, rel_entr, kl_div;
* :mod:`~tapeflow.scipy.special.bessel`: j0, j1, jn, y0, y1, yn, i0, i0e, i1, i1e, iv, ive
  (SciPy's kernels);
* :mod:`~tapeflow.scipy.special.zeta_functions`: zeta (Riemann and Hurwitz), spence.

``logsumexp`` is ``tapeflow.numpy.logsumexp``. What the primitives compute, and how
accurately, is in :mod:`tapeflow.scipy.kernels`. Real inputs need numpy alone, except
for the Bessel functions; complex inputs are accepted wherever SciPy accepts them, and
their values come from SciPy's kernels (the ``tapeflow[scipy]`` extra). Functions SciPy
defines for real input only refuse complex input with a TypeError rather than drop its
imaginary part.
"""

from tapeflow.numpy.reductions import logsumexp
from tapeflow.scipy.special.bessel import i0, i0e, i1, i1e, iv, ive, j0, j1, jn, y0, y1, yn
from tapeflow.scipy.special.error_functions import (
    erf,
    erfc,
    erfcinv,
    erfcx,
    erfinv,
    log_ndtr,
    ndtr,
    ndtri,
)
from tapeflow.scipy.special.gamma_functions import (
    beta,
    betaln,
    digamma,
    gamma,
    gammaln,
    gammasgn,
    multigammaln,
    polygamma,
    psi,
    rgamma,
)
from tapeflow.scipy.special.incomplete import betainc, gammainc, gammaincc
from tapeflow.scipy.special.information import entr, kl_div, rel_entr, xlog1py, xlogy
from tapeflow.scipy.special.logistic import expit, log_expit, log_softmax, logit, softmax
from tapeflow.scipy.special.zeta_functions import spence, zeta

__all__ = [
    "logsumexp",
    "softmax",
    "log_softmax",
    "expit",
    "logit",
    "log_expit",
    "erf",
    "erfc",
    "erfcx",
    "erfinv",
    "erfcinv",
    "ndtr",
    "log_ndtr",
    "ndtri",
    "gamma",
    "gammaln",
    "rgamma",
    "gammasgn",
    "betaln",
    "beta",
    "multigammaln",
    "gammainc",
    "gammaincc",
    "betainc",
    "digamma",
    "psi",
    "polygamma",
    "xlogy",
    "xlog1py",
    "entr",
    "rel_entr",
    "kl_div",
    "j0",
    "j1",
    "jn",
    "y0",
    "y1",
    "yn",
    "i0",
    "i0e",
    "i1",
    "i1e",
    "iv",
    "ive",
    "zeta",
    "spence",
]
