"""``tapeflow.numpy.linalg``: differentiable linear algebra (and ``np.linalg`` dispatch).

Every function takes stacks of matrices (``(..., M, N)``) as numpy does.
Primitives (each with a VJP and a JVP written with tapeflow operations, so
derivatives of any order work): ``inv``, ``solve``, ``det``, the log-|det|
of ``slogdet``, ``cholesky``, ``eigh``, ``qr``, ``svd``, the singular values
alone, and ``pinv``. ``norm``, ``matrix_power``, ``multi_dot`` and
``lstsq`` are compositions of those and of the products.

The primitives and their rules are in :mod:`~tapeflow.numpy.linalg.primitives`, what
they compute in :mod:`~tapeflow.numpy.linalg.kernels`, and the compositions in
:mod:`~tapeflow.numpy.linalg.functions`.
Multi-output functions (``eigh``, ``qr``, ``svd``, ``slogdet``) return
numpy's own named tuples (``EighResult``, ``QRResult``, ``SVDResult``,
``SlogdetResult``), which are pytrees.

Conventions and limits (the derivative is only defined where the function is smooth):

* ``eigh`` and ``cholesky`` read one triangle of the input, exactly as numpy
  does (``UPLO``/``upper``); their gradients live on that triangle (the
  diagonal once, the off-diagonal entries counted for both positions).
* ``eigh``: eigenvector derivatives need distinct eigenvalues. With repeated
  eigenvalues the eigenvectors are not unique and their derivative is
  infinite/NaN; the eigenvalues alone (``eigvalsh``, or only ``w`` used)
  remain differentiable.
* ``svd``: needs ``full_matrices=False`` (or a square input) for traced
  values, and distinct nonzero singular values for the derivative of ``U``
  and ``Vh``; singular values alone (``svd(a, compute_uv=False)``,
  ``svdvals``, the ``'nuc'`` and 2-norms) only need them distinct from
  each other where a tie would make the result non-smooth.
* ``qr``: reduced mode, ``M >= N`` and full column rank.
* ``det``/``slogdet``/``inv``/``solve``: nonsingular matrices.
* ``pinv`` and ``lstsq``: constant (full) rank near the point.
* ``norm`` at the zero vector/matrix: the 2-norm, Frobenius norm and p-norms
  have gradient 0 there (the subgradient of smallest size), not NaN.
"""

import numpy as np

from tapeflow.numpy.declare import register_numpy
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
