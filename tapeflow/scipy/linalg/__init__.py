"""Linear algebra with SciPy's signatures (``scipy.linalg``), differentiable.

* :mod:`~tapeflow.scipy.linalg.triangular`: solve_triangular, cho_factor, cho_solve;
* :mod:`~tapeflow.scipy.linalg.lu`: lu_factor, lu_solve;
* :mod:`~tapeflow.scipy.linalg.matrix_functions`: expm, sqrtm, solve_sylvester;
* :mod:`~tapeflow.scipy.linalg.banded`: solve_banded.

Each has reverse- and forward-mode rules written with these functions themselves (so
every order works) and a ``vmap`` rule; all take stacks of matrices over leading axes.
The kernels are SciPy's (LAPACK), looked up at the call: without SciPy an ImportError
names the ``tapeflow[scipy]`` extra (``cho_factor`` alone needs only numpy). Complex
matrices follow the convention of docs/coverage.md (transposes, not conjugates).
"""

from tapeflow.scipy.linalg.banded import solve_banded
from tapeflow.scipy.linalg.lu import lu_factor, lu_solve
from tapeflow.scipy.linalg.matrix_functions import expm, solve_sylvester, sqrtm
from tapeflow.scipy.linalg.triangular import cho_factor, cho_solve, solve_triangular

__all__ = [
    "solve_triangular",
    "cho_factor",
    "cho_solve",
    "lu_factor",
    "lu_solve",
    "expm",
    "sqrtm",
    "solve_sylvester",
    "solve_banded",
]
