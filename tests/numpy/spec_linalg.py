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
from tests.numpy.spec import Case, distinct, parts

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
RECT_PAIRS = (((4, 3), (4, 3)), ((3, 4), (3, 4)), ((2, 4, 3), (2, 4, 3)), ((3, 3), (3, 3)))
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
    Case(
        "linalg.slogdet-complex",
        lambda a, b: (*parts(L.slogdet(a + 1j * b).sign), L.slogdet(a + 1j * b).logabsdet),
        (((3, 3), (3, 3)), ((2, 3, 3), (2, 3, 3)), ((1, 1), (1, 1))),
        domains=[well_conditioned, lambda z: 0.3 * z],
        covers=["linalg.slogdet_phase", "linalg.logabsdet"],
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
        "linalg.qr-complex",
        lambda a, b: (*parts(L.qr(a + 1j * b).Q), *parts(L.qr(a + 1j * b).R)),
        (((4, 3), (4, 3)), ((2, 3, 3), (2, 3, 3)), ((3, 1), (3, 1))),
        domains=[well_conditioned, lambda z: 0.3 * z],
        covers=["linalg.qr"],
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
        "linalg.pinv-complex",
        lambda a, b: parts(L.pinv(a + 1j * b)),
        RECT_PAIRS,
        domains=[well_conditioned, lambda z: 0.3 * z],
        covers=["linalg.pinv"],
    ),
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


# ----- complex matrices and the general eigen-decomposition ------------------------------
# Complex inputs are built inside the function from two real arguments (real and imaginary
# parts); the outputs are real (parts, moduli) and do not depend on the phases LAPACK picks
# for singular and eigenvectors: |v|^2, projectors v v^H, U @ Vh.
def _small_skew(z: np.ndarray) -> np.ndarray:
    """A small antisymmetric matrix: the imaginary part of a Hermitian one."""
    return 0.2 * (z - _swap(z))


def _projectors(v):
    """Each column's projector v_k v_k^H, as real and imaginary parts (phase-free)."""
    p = v[..., :, None, :] * tnp.conj(v)[..., None, :, :]
    return tnp.real(p), tnp.imag(p)


def _eigh_complex(a, b, UPLO="L"):
    w, v = L.eigh(a + 1j * b, UPLO=UPLO)
    return (w, tnp.abs(v) ** 2) + _projectors(v)


def _svd_complex(a, b):
    u, s, vh = L.svd(a + 1j * b, full_matrices=False)
    uv = u @ vh
    return s, tnp.abs(u) ** 2, tnp.abs(vh) ** 2, tnp.real(uv), tnp.imag(uv)


def _eig_parts(a):
    w, v = L.eig(a)
    return (tnp.real(w), tnp.imag(w), tnp.abs(v) ** 2) + _projectors(v)


def _eig_complex(a, b):
    return _eig_parts(a + 1j * b)


def separated_general(z: np.ndarray) -> np.ndarray:
    """Non-symmetric, eigenvalues near 0, 2, 4, ... (real, far apart)."""
    n = z.shape[-1]
    return 0.3 * z + np.diag(2.0 * np.arange(n))


def rotating(z: np.ndarray) -> np.ndarray:
    """Non-symmetric with a complex pair near 1 +- 2i (and real ones near 4, 6, ...)."""
    n = z.shape[-1]
    if n < 2:
        return separated_general(z)
    base = np.diag(2.0 * np.arange(n) + 2.0)
    base[:2, :2] = [[1.0, -2.0], [2.0, 1.0]]
    return 0.3 * z + base


def _small(z: np.ndarray) -> np.ndarray:
    return 0.1 * z


HERMITIAN = (((3, 3), (3, 3)), ((2, 3, 3), (2, 3, 3)), ((1, 1), (1, 1)))
GENERAL = (((3, 3),), ((2, 3, 3),), ((1, 1),))

CASES += [
    Case(
        "linalg.eigh-complex",
        _eigh_complex,
        HERMITIAN,
        domains=[separated_eigenvalues, _small_skew],
        covers=["linalg.eigh"],
    ),
    Case(
        "linalg.eigh-complex-upper",
        lambda a, b: _eigh_complex(a, b, UPLO="U"),
        HERMITIAN[:1],
        domains=[separated_eigenvalues, _small_skew],
        covers=["linalg.eigh"],
    ),
    Case(
        "linalg.eigvalsh-complex",
        lambda a, b: (L.eigvalsh(a + 1j * b), L.eigvalsh(a + 1j * b, UPLO="U")),
        HERMITIAN,
        domains=[separated_eigenvalues, _small_skew],
        covers=["linalg.eigvalsh"],
    ),
    Case(
        "linalg.svd-complex",
        _svd_complex,
        RECT_PAIRS,
        domains=[separated_singular_values, _small],
        covers=["linalg.svd"],
    ),
    Case(
        "linalg.svdvals-complex",
        lambda a, b: L.svdvals(a + 1j * b),
        RECT_PAIRS,
        domains=[separated_singular_values, _small],
        covers=["linalg.svdvals"],
    ),
    Case(
        "linalg.norm-nuc-complex",
        lambda a, b: (L.norm(a + 1j * b, "nuc"), L.norm(a + 1j * b, 2)),
        RECT_PAIRS[:2],
        domains=[separated_singular_values, _small],
        covers=["linalg.svdvals"],
    ),
    Case("linalg.eig", _eig_parts, GENERAL, domains=separated_general, covers=["linalg.eig"]),
    Case(
        "linalg.eig-complex-pair",
        _eig_parts,
        (((3, 3),), ((2, 4, 4),)),
        domains=rotating,
        covers=["linalg.eig"],
    ),
    Case(
        "linalg.eig-complex",
        _eig_complex,
        (((3, 3), (3, 3)), ((2, 3, 3), (2, 3, 3))),
        domains=[rotating, _small],
        covers=["linalg.eig"],
    ),
    Case(
        "linalg.eig-eigenvalues-only",
        lambda a: tnp.real(L.eig(a).eigenvalues * (1 - 2j)),
        GENERAL,
        domains=rotating,
        covers=["linalg.eig"],
    ),
    Case(
        "linalg.eigvals",
        lambda a: (tnp.real(L.eigvals(a)), tnp.imag(L.eigvals(a))),
        GENERAL + (((2, 4, 4),),),
        domains=rotating,
        covers=["linalg.eigvals"],
    ),
    Case(
        "linalg.eigvals-complex",
        lambda a, b: tnp.abs(L.eigvals(a + 1j * b)),
        (((3, 3), (3, 3)),),
        domains=[separated_general, _small],
        covers=["linalg.eigvals"],
    ),
    Case(
        "np.linalg.eig",
        lambda a: tnp.real(np.linalg.eig(a)[0]) + tnp.imag(np.linalg.eigvals(a)),
        (((3, 3),),),
        domains=rotating,
        covers=["linalg.eig", "linalg.eigvals"],
    ),
]
