"""tapeflow.scipy: differentiable counterparts of SciPy functions, with SciPy's signatures.

- ``special``: the special functions of ``scipy.special`` (numpy alone for real input,
  except the Bessel functions);
- ``linalg``: solve_triangular, cho_factor, cho_solve, lu_factor, lu_solve, expm, sqrtm,
  solve_sylvester, solve_banded (SciPy's LAPACK kernels);
- ``integrate``: odeint, differentiable by the adjoint method (SciPy's LSODA);
- ``signal``: convolve, correlate (N-d, SciPy's modes and methods);
- ``stats``: norm, t, gamma, beta, chi2, poisson, dirichlet, multivariate_normal
  (numpy alone).

Importing them never needs SciPy: the functions that call its kernels look it up when
called, and without it raise an ImportError naming the ``tapeflow[scipy]`` extra.
"""

from tapeflow.scipy import integrate, linalg, signal, special, stats

__all__ = ["special", "linalg", "integrate", "signal", "stats"]
