"""Matrix rows for tapeflow/numpy/linalg.py (``tnp.linalg``).

Domains keep every function smooth at the test point: nonsingular,
well-conditioned matrices; symmetric positive definite ones for cholesky;
eigenvalues and singular values far apart for eigh and svd. The
finite-difference directions are not symmetric, which also checks that eigh
and cholesky read only one triangle, as numpy does. Eigen- and singular
vectors are only defined up to sign, so rows use sign-invariant functions of
them (squares, ``V f(w) V^T``, ``U @ Vh``).
"""

import numpy as np

import tapeflow.numpy as tnp
from tests.numpy.spec import Case, distinct

L = tnp.linalg


def _swap(x: np.ndarray) -> np.ndarray:
    return np.swapaxes(x, -1, -2)


def well_conditioned(z: np.ndarray) -> np.ndarray:
    """Square or rectangular, singular values near ``n`` (z plus a multiple of the identity)."""
    m, n = z.shape[-2:]
    return z + max(m, n) * np.eye(m, n)


def spd(z: np.ndarray) -> np.ndarray:
    """Symmetric positive definite with eigenvalues >= n."""
    return z @ _swap(z) + z.shape[-1] * np.eye(z.shape[-1])


def _orthogonal(z: np.ndarray) -> np.ndarray:
    return np.linalg.qr(z)[0]


def separated_eigenvalues(z: np.ndarray) -> np.ndarray:
    """Symmetric, eigenvalues 1, 2.5, 4, ... (random eigenvectors)."""
    n = z.shape[-1]
    q = _orthogonal(z)
    w = 1.0 + 1.5 * np.arange(n)
    return (q * w) @ _swap(q)


def separated_singular_values(z: np.ndarray) -> np.ndarray:
    """Singular values k + 1, k, ..., 2 with random singular vectors."""
    m, n = z.shape[-2:]
    k = min(m, n)
    u = _orthogonal(z)[..., :, :k]
    v = _orthogonal(_swap(z) + 0.5)[..., :, :k]
    s = 2.0 + np.arange(k)[::-1]
    return (u * s) @ _swap(v)


def distinct_abs(z: np.ndarray) -> np.ndarray:
    """Entries with distinct absolute values, all away from 0 (max/min of |x| have no ties)."""
    return np.where(z >= 0, 1.0, -1.0) * (distinct(z) + 1.5)


def _expm_sym(a):
    w, v = L.eigh(a)
    return (v * tnp.exp(w)[..., None, :]) @ tnp.swapaxes(v, -1, -2)


def _svd_parts(a):
    u, s, vh = L.svd(a, full_matrices=False)
    return u**2, s, vh**2, u @ vh


SQUARE = (((3, 3),), ((2, 3, 3),), ((1, 1),))
RECT = (((4, 3),), ((3, 4),), ((2, 4, 3),), ((3, 3),))
TALL = (((4, 3),), ((2, 3, 3),), ((3, 1),))
VEC = (((4,),), ((2, 3),))
MAT = (((3, 4),), ((4, 4),))

CASES = [
    Case("linalg.inv", L.inv, SQUARE, domains=well_conditioned, covers=["linalg.inv"]),
    Case(
        "np.linalg.inv",
        np.linalg.inv,
        (((3, 3),),),
        domains=well_conditioned,
        covers=["linalg.inv"],
    ),
    Case(
        "linalg.solve",
        L.solve,
        (
            ((3, 3), (3,)),
            ((3, 3), (3, 2)),
            ((2, 3, 3), (3,)),
            ((2, 3, 3), (2, 3, 1)),
            ((3, 3), (2, 3, 2)),
        ),
        domains=[well_conditioned, lambda z: z],
        covers=["linalg.solve"],
    ),
    Case("linalg.det", L.det, SQUARE, domains=well_conditioned, covers=["linalg.det"]),
    Case(
        "linalg.slogdet",
        lambda a: L.slogdet(a),
        SQUARE,
        domains=well_conditioned,
        covers=["linalg.logabsdet"],
    ),
    Case(
        "linalg.slogdet-negative",
        lambda a: L.slogdet(a).logabsdet,
        (((3, 3),),),
        domains=lambda z: -well_conditioned(z),
        covers=["linalg.logabsdet"],
    ),
    Case("linalg.cholesky", L.cholesky, SQUARE, domains=spd, covers=["linalg.cholesky"]),
    Case(
        "linalg.cholesky-upper",
        lambda a: L.cholesky(a, upper=True),
        (((3, 3),),),
        domains=spd,
        covers=["linalg.cholesky"],
    ),
    Case(
        "linalg.eigh",
        lambda a: (lambda r: (r.eigenvalues, r.eigenvectors**2))(L.eigh(a)),
        SQUARE,
        domains=separated_eigenvalues,
        covers=["linalg.eigh", "result_item"],
    ),
    Case(
        "linalg.eigh-upper",
        lambda a: (lambda r: (r.eigenvalues, r.eigenvectors**2))(L.eigh(a, UPLO="U")),
        (((3, 3),),),
        domains=separated_eigenvalues,
        covers=["linalg.eigh"],
    ),
    Case(
        "linalg.eigh-expm",
        _expm_sym,
        (((3, 3),), ((2, 2, 2),)),
        domains=separated_eigenvalues,
        covers=["linalg.eigh"],
    ),
    Case(
        "linalg.eigvalsh",
        L.eigvalsh,
        SQUARE,
        domains=separated_eigenvalues,
        covers=["linalg.eigvalsh"],
    ),
    Case(
        "linalg.eigvalsh-upper",
        lambda a: L.eigvalsh(a, UPLO="U"),
        (((3, 3),),),
        domains=separated_eigenvalues,
        covers=["linalg.eigvalsh"],
    ),
    Case(
        "linalg.qr",
        lambda a: L.qr(a),
        TALL,
        domains=well_conditioned,
        covers=["linalg.qr", "result_item"],
    ),
    Case(
        "linalg.qr-Q",
        lambda a: L.qr(a).Q,
        (((4, 3),),),
        domains=well_conditioned,
        covers=["linalg.qr"],
    ),
    Case(
        "linalg.qr-r",
        lambda a: L.qr(a, mode="r"),
        (((4, 3),),),
        domains=well_conditioned,
        covers=["linalg.qr"],
    ),
    Case(
        "linalg.svd",
        _svd_parts,
        RECT,
        domains=separated_singular_values,
        covers=["linalg.svd", "result_item"],
    ),
    Case(
        "linalg.svd-U-only",
        lambda a: L.svd(a, full_matrices=False).U ** 2,
        (((4, 3),),),
        domains=separated_singular_values,
        covers=["linalg.svd"],
    ),
    Case(
        "linalg.svd-Vh-only",
        lambda a: L.svd(a, full_matrices=False).Vh ** 2,
        (((3, 4),),),
        domains=separated_singular_values,
        covers=["linalg.svd"],
    ),
    Case(
        "linalg.svdvals",
        lambda a: L.svd(a, compute_uv=False),
        RECT,
        domains=separated_singular_values,
        covers=["linalg.svdvals"],
    ),
    Case("linalg.pinv", L.pinv, RECT, domains=well_conditioned, covers=["linalg.pinv"]),
    Case(
        "linalg.matrix_power",
        lambda a: L.matrix_power(a, 3),
        (((3, 3),), ((2, 2, 2),)),
        domains=well_conditioned,
        covers=["matmul"],
    ),
    Case(
        "linalg.matrix_power-neg",
        lambda a: L.matrix_power(a, -2),
        (((3, 3),),),
        domains=well_conditioned,
        covers=["linalg.inv"],
    ),
    Case(
        "linalg.multi_dot",
        lambda a, b, c, d: L.multi_dot([a, b, c, d]),
        (((3,), (3, 4), (4, 2), (2,)), ((2, 3), (3, 4), (4, 1), (1, 2))),
        covers=["matmul"],
    ),
    Case(
        "linalg.lstsq",
        lambda a, b: (lambda r: (r[0], r[1], r[3]))(L.lstsq(a, b)),
        (((5, 3), (5,)), ((5, 3), (5, 2)), ((3, 3), (3,))),
        domains=[well_conditioned, lambda z: z],
        covers=["linalg.pinv", "linalg.svdvals"],
    ),
    Case(
        "linalg.lstsq-underdetermined",
        lambda a, b: L.lstsq(a, b)[0],
        (((2, 4), (2,)),),
        domains=[well_conditioned, lambda z: z],
        covers=["linalg.pinv"],
    ),
    Case("linalg.norm", L.norm, VEC + MAT + (((2, 3, 4),),), covers=["sqrt"]),
    Case("linalg.norm-keepdims", lambda x: L.norm(x, keepdims=True), VEC, covers=["sqrt"]),
    Case("linalg.norm-vec-1", lambda x: L.norm(x, 1), (((4,),),), covers=["abs"]),
    Case(
        "linalg.norm-vec-inf",
        lambda x: L.norm(x, np.inf),
        (((4,),),),
        domains=distinct_abs,
        covers=["max"],
    ),
    Case(
        "linalg.norm-vec--inf",
        lambda x: L.norm(x, -np.inf),
        (((4,),),),
        domains=distinct_abs,
        covers=["min"],
    ),
    Case("linalg.norm-vec-3", lambda x: L.norm(x, 3), (((4,),),), covers=["power"]),
    Case(
        "linalg.norm-vec-0.5",
        lambda x: L.norm(x, 0.5),
        (((4,),),),
        domains=distinct_abs,
        covers=["power"],
    ),
    Case(
        "linalg.norm-axis", lambda x: L.norm(x, axis=1), (((2, 3),), ((2, 3, 4),)), covers=["sqrt"]
    ),
    Case(
        "linalg.norm-axis-p",
        lambda x: L.norm(x, ord=4, axis=0, keepdims=True),
        (((2, 3),), ((2, 3, 4),)),
        covers=["power"],
    ),
    Case("linalg.norm-fro", lambda x: L.norm(x, "fro"), MAT, covers=["sqrt"]),
    Case(
        "linalg.norm-nuc",
        lambda x: L.norm(x, "nuc"),
        MAT,
        domains=separated_singular_values,
        covers=["linalg.svdvals"],
    ),
    Case(
        "linalg.norm-2",
        lambda x: L.norm(x, 2),
        MAT,
        domains=separated_singular_values,
        covers=["linalg.svdvals"],
    ),
    Case(
        "linalg.norm--2",
        lambda x: L.norm(x, -2),
        MAT,
        domains=separated_singular_values,
        covers=["linalg.svdvals"],
    ),
    Case("linalg.norm-1", lambda x: L.norm(x, 1), MAT, domains=distinct_abs, covers=["max"]),
    Case("linalg.norm--1", lambda x: L.norm(x, -1), MAT, domains=distinct_abs, covers=["min"]),
    Case("linalg.norm-inf", lambda x: L.norm(x, np.inf), MAT, domains=distinct_abs, covers=["max"]),
    Case(
        "linalg.norm--inf", lambda x: L.norm(x, -np.inf), MAT, domains=distinct_abs, covers=["min"]
    ),
    Case(
        "linalg.norm-matrix-axes",
        lambda x: L.norm(x, "nuc", axis=(2, 0), keepdims=True),
        (((3, 2, 4),),),
        domains=lambda z: np.swapaxes(separated_singular_values(np.swapaxes(z, 0, 1)), 0, 1),
        covers=["linalg.svdvals"],
    ),
    Case(
        "linalg.norm-matrix-axes-1",
        lambda x: L.norm(x, 1, axis=(2, 0)),
        (((3, 2, 4),),),
        domains=distinct_abs,
        covers=["max"],
    ),
    Case("np.linalg.norm", lambda x: np.linalg.norm(x, axis=-1), (((2, 3),),), covers=["sqrt"]),
    Case("linalg.vector_norm", lambda x: L.vector_norm(x, ord=3), (((2, 3),),), covers=["power"]),
    Case("linalg.matrix_norm", L.matrix_norm, (((2, 3, 4),),), covers=["sqrt"]),
    Case(
        "linalg.cond",
        L.cond,
        (((3, 3),), ((2, 3, 3),), ((4, 3),)),
        domains=separated_singular_values,
        covers=["linalg.svdvals"],
    ),
    Case(
        "linalg.cond-1",
        lambda a: L.cond(a, 1),
        (((3, 3),),),
        domains=lambda z: distinct_abs(z) + 9 * np.eye(3),
        covers=["linalg.inv"],
    ),
    Case(
        "linalg.tensorinv",
        lambda a: L.tensorinv(a, ind=2),
        (((2, 3, 6),),),
        domains=lambda z: well_conditioned(z.reshape(6, 6)).reshape(z.shape),
        covers=["linalg.inv"],
    ),
    Case(
        "linalg.tensorsolve",
        lambda a, b: L.tensorsolve(a, b, axes=(0,)),
        (((2, 3, 2, 3), (2, 3)),),
        domains=[lambda z: well_conditioned(z.reshape(6, 6)).reshape(z.shape), lambda z: z],
        covers=["linalg.solve"],
    ),
    Case(
        "linalg.vecdot",
        lambda a, b: L.vecdot(a, b, axis=0),
        (((3, 2), (3, 1)),),
        covers=["multiply"],
    ),
    Case(
        "np.linalg.matrix_transpose",
        np.linalg.matrix_transpose,
        (((2, 3, 4),),),
        covers=["transpose"],
    ),
]
