"""What the special functions compute, on plain arrays: numpy kernels, one family a module.

* :mod:`~tapeflow.scipy.kernels.common`: dtypes, constants, series helpers;
* :mod:`~tapeflow.scipy.kernels.errors`: erf, erfc, erfcx, log_ndtr, ndtri, erfinv, erfcinv;
* :mod:`~tapeflow.scipy.kernels.gammas`: gammaln, gamma, rgamma, polygamma (real and
  complex), beta;
* :mod:`~tapeflow.scipy.kernels.elementary`: expit, logit, softmax, xlogy, entropies;
* :mod:`~tapeflow.scipy.kernels.jets`: truncated Taylor series, the derivatives of the
  kernels below with respect to their parameters;
* :mod:`~tapeflow.scipy.kernels.incomplete`: the regularized incomplete gamma and beta
  functions;
* :mod:`~tapeflow.scipy.kernels.zetas`: Hurwitz and Riemann zeta, the dilogarithm.

Real inputs are computed in float64 with numpy alone and returned in the input's float
dtype (float32 stays float32; integers give float64). Complex inputs, where SciPy takes
them, are computed by SciPy's own kernels (the ``tapeflow[scipy]`` extra); functions
SciPy defines for real input only refuse complex input with a TypeError.
"""
