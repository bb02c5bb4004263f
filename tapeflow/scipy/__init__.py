"""tapeflow.scipy: differentiable counterparts of SciPy functions (numpy only, no SciPy needed).

- ``special``: logsumexp, softmax, log_softmax, expit, logit, erf, erfc,
  gammaln, digamma, polygamma, xlogy, xlog1py, entr
"""

from tapeflow.scipy import special

__all__ = ["special"]
