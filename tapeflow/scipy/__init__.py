"""tapeflow.scipy: differentiable counterparts of SciPy functions (numpy only, no SciPy needed).

- ``special``: logsumexp, softmax, log_softmax, expit, logit, log_expit, erf,
  erfc, erfcx, erfinv, ndtr, log_ndtr, ndtri, gamma, gammaln, betaln, digamma
  (psi), polygamma, xlogy, xlog1py, entr, rel_entr, kl_div
- ``signal``: convolve, correlate (N-d, SciPy's modes and methods)
"""

from tapeflow.scipy import signal, special

__all__ = ["signal", "special"]
