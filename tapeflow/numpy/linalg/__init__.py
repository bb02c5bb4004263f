"""``tapeflow.numpy.linalg``: differentiable linear algebra (and ``np.linalg`` dispatch).

Every function takes stacks of matrices (``(..., M, N)``) as numpy does.
Primitives (each with a VJP and a JVP written with tapeflow operations, so
derivatives of any order work): ``inv``, ``solve``, ``det``, the log-|det|
of ``slogdet``, ``cholesky``, ``eigh``, ``eig``, ``qr``, ``svd``, the
eigenvalues alone (``eigvalsh``, ``eigvals``), the singular values alone,
and ``pinv``. ``norm``, ``matrix_power``, ``multi_dot`` and ``lstsq`` are
compositions of those and of the products.

The primitives and their rules are in :mod:`~tapeflow.numpy.linalg.primitives` (the
general eigen-decomposition in :mod:`~tapeflow.numpy.linalg.eigen`), what they compute
in :mod:`~tapeflow.numpy.linalg.kernels`, and the compositions in
:mod:`~tapeflow.numpy.linalg.functions`.
Multi-output functions (``eig``, ``eigh``, ``qr``, ``svd``, ``slogdet``) return
numpy's own named tuples (``EigResult``, ``EighResult``, ``QRResult``,
``SVDResult``, ``SlogdetResult``), which are pytrees.

Conventions and limits (the derivative is only defined where the function is smooth):

* ``eigh`` and ``cholesky`` read one triangle of the input, exactly as numpy
  does (``UPLO``/``upper``); their gradients live on that triangle (the
  diagonal once, the off-diagonal entries counted for both positions).
* ``eigh``: eigenvector derivatives need distinct eigenvalues. With repeated
  eigenvalues the eigenvectors are not unique and their derivative is
  infinite/NaN; the eigenvalues alone (``eigvalsh``, or only ``w`` used)
  remain differentiable. Complex Hermitian matrices too (LAPACK takes the
  imaginary parts of their diagonal to be zero, and so do the derivatives).
* ``svd``: needs ``full_matrices=False`` (or a square input) for traced
  values, and distinct nonzero singular values for the derivative of ``U``
  and ``Vh``; singular values alone (``svd(a, compute_uv=False)``,
  ``svdvals``, the ``'nuc'`` and 2-norms) only need them distinct from
  each other where a tie would make the result non-smooth. Real and complex
  matrices.
* ``eig``/``eigvals``: distinct eigenvalues; like numpy, real arrays for a real
  matrix whose eigenvalues are all real, complex ones otherwise.
* Phases of singular and eigenvectors (complex matrices; signs for real ones): a
  vector is fixed only up to a factor of modulus one, which LAPACK picks by its
  own rule. Derivatives are those of vectors whose phases do not turn (``eigh``
  and ``eig``: ``v_k^H dv_k = 0``; ``svd``: ``V``'s phases kept, ``U``'s moved
  with the pair), so they are exact for every quantity that does not depend on
  the phases (``|v|``, ``v v^H``, ``U @ Vh``, ``V f(w) V^-1``) and follow
  tapeflow's gauge, not LAPACK's rule, for one that does.
* ``qr``: reduced mode, ``M >= N`` and full column rank.
* ``det``/``slogdet``/``inv``/``solve``: nonsingular matrices.
* ``pinv`` and ``lstsq``: constant (full) rank near the point.
* ``norm`` at the zero vector/matrix: the 2-norm, Frobenius norm and p-norms
  have gradient 0 there (the subgradient of smallest size), not NaN.
"""

import numpy as np

from tapeflow.numpy.declare import register_numpy
from tapeflow.numpy.linalg.eigen import eig, eigvals
from tapeflow.numpy.linalg.functions import (
    cond,
    cross,
    diagonal,
    lstsq,
    matmul,
    matrix_norm,
    matrix_power,
    matrix_transpose,
    multi_dot,
    norm,
    outer,
    tensordot,
    tensorinv,
    tensorsolve,
    trace,
    vecdot,
    vector_norm,
)
from tapeflow.numpy.linalg.kernels import (
    EighResult,
    EigResult,
    LinAlgError,
    QRResult,
    SlogdetResult,
    SVDResult,
)
from tapeflow.numpy.linalg.primitives import (
    cholesky,
    det,
    eigh,
    eigvalsh,
    inv,
    matrix_rank,
    pinv,
    qr,
    slogdet,
    solve,
    svd,
    svdvals,
)

__all__ = [
    "inv",
    "solve",
    "det",
    "slogdet",
    "cholesky",
    "eigh",
    "eigvalsh",
    "eig",
    "eigvals",
    "qr",
    "svd",
    "svdvals",
    "pinv",
    "norm",
    "vector_norm",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "multi_dot",
    "lstsq",
    "cond",
    "tensorinv",
    "tensorsolve",
    "vecdot",
    "matrix_transpose",
    "trace",
    "diagonal",
    "outer",
    "cross",
    "tensordot",
    "matmul",
    "EigResult",
    "EighResult",
    "QRResult",
    "SlogdetResult",
    "SVDResult",
    "LinAlgError",
]

for _np_fun, _impl in (
    (np.linalg.inv, inv),
    (np.linalg.solve, solve),
    (np.linalg.det, det),
    (np.linalg.slogdet, slogdet),
    (np.linalg.cholesky, cholesky),
    (np.linalg.eigh, eigh),
    (np.linalg.eigvalsh, eigvalsh),
    (np.linalg.eig, eig),
    (np.linalg.eigvals, eigvals),
    (np.linalg.qr, qr),
    (np.linalg.svd, svd),
    (np.linalg.svdvals, svdvals),
    (np.linalg.pinv, pinv),
    (np.linalg.norm, norm),
    (np.linalg.vector_norm, vector_norm),
    (np.linalg.matrix_norm, matrix_norm),
    (np.linalg.matrix_power, matrix_power),
    (np.linalg.matrix_rank, matrix_rank),
    (np.linalg.lstsq, lstsq),
    (np.linalg.cond, cond),
    (np.linalg.tensorinv, tensorinv),
    (np.linalg.tensorsolve, tensorsolve),
    (np.linalg.vecdot, vecdot),
    (np.linalg.matrix_transpose, matrix_transpose),
    (np.linalg.trace, trace),
    (np.linalg.diagonal, diagonal),
    (np.linalg.outer, outer),
    (np.linalg.cross, cross),
    (np.linalg.tensordot, tensordot),
    (np.linalg.matmul, matmul),
):
    register_numpy(_np_fun, _impl)
register_numpy(np.linalg.multi_dot, multi_dot, sequences=True)  # a list of separate matrices
