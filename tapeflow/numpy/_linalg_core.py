"""The primitives of ``tnp.linalg`` and their derivative rules.

``inv``, ``solve``, ``det``, the log-|det| of ``slogdet``, ``cholesky``,
``eigh``, ``eigvalsh``, ``qr``, ``svd``, the singular values alone, and
``pinv``, each with a VJP and a JVP written with tapeflow operations (so
derivatives of any order work), and with a ``tp.vmap`` rule (numpy.linalg
already maps over leading axes, so the batch axis just goes first).

Multi-output functions (``eigh``, ``qr``, ``svd``) are primitives returning a
tuple; one small ``linalg.result_item`` primitive picks an entry, and its VJP
hands back a tuple with ``None`` (zero) for the other entries, so the rule of
the factorization only pays for the outputs that were used.

The public namespace, the conventions and the compositions built on these
(norms, ``lstsq``, ``matrix_power``...) are in :mod:`tapeflow.numpy.linalg`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from tapeflow.numpy._cotangent import dtype_of, shape_of, unbroadcast
from tapeflow.primitive import defjvp, defvjp, defvjp_direct, nondifferentiable, primitive

try:  # numpy >= 2.0 exposes its result types here; share them so isinstance works.
    from numpy.linalg._linalg import EighResult, QRResult, SlogdetResult, SVDResult
except ImportError:  # pragma: no cover - older numpy

    class EighResult(NamedTuple):  # type: ignore[no-redef]
        eigenvalues: Any
        eigenvectors: Any

    class QRResult(NamedTuple):  # type: ignore[no-redef]
        Q: Any
        R: Any

    class SlogdetResult(NamedTuple):  # type: ignore[no-redef]
        sign: Any
        logabsdet: Any

    class SVDResult(NamedTuple):  # type: ignore[no-redef]
        U: Any
        S: Any
        Vh: Any


LinAlgError = np.linalg.LinAlgError


# ----- small helpers written with tapeflow operations --------------------------
def _tnp() -> Any:
    import tapeflow.numpy as tnp

    return tnp


def _T(x: Any) -> Any:
    """Transpose the last two axes."""
    return _tnp().swapaxes(x, -1, -2)


def _mm(a: Any, b: Any) -> Any:
    from tapeflow.numpy.products import matmul

    return matmul(a, b)


def _col(v: Any) -> Any:
    """(..., n) -> (..., n, 1)."""
    return _tnp().reshape(v, tuple(shape_of(v)) + (1,))


def _row(v: Any) -> Any:
    """(..., n) -> (..., 1, n)."""
    s = tuple(shape_of(v))
    return _tnp().reshape(v, s[:-1] + (1,) + s[-1:])


def _diag_part(m: Any) -> Any:
    from tapeflow.numpy.products import einsum

    return einsum("...ii->...i", m)


def _trace(m: Any) -> Any:
    from tapeflow.numpy.products import einsum

    return einsum("...ii->...", m)


def _eye(n: int, like: Any) -> np.ndarray:
    return np.eye(n, dtype=dtype_of(like))


def _diag_embed(v: Any) -> Any:
    """(..., n) -> (..., n, n) with ``v`` on the diagonal."""
    return _col(v) * _eye(shape_of(v)[-1], v)


def _strict_lower(n: int, like: Any) -> np.ndarray:
    return np.tril(np.ones((n, n), dtype_of(like)), -1)


def _scalar_to_matrix(x: Any) -> Any:
    """(...,) -> (..., 1, 1), for batched scalars times batched matrices."""
    return _tnp().reshape(x, tuple(shape_of(x)) + (1, 1))


def _read_triangle(t: Any, lower: bool) -> Any:
    """The symmetric matrix numpy actually sees when it reads one triangle of ``t``."""
    n = shape_of(t)[-1]
    strict = _strict_lower(n, t)
    if not lower:
        strict = strict.T
    part = t * strict
    return part + _T(part) + t * _eye(n, t)


def _triangle_adjoint(g: Any, lower: bool) -> Any:
    """Transpose of :func:`_read_triangle`: the gradient lands on the triangle read."""
    n = shape_of(g)[-1]
    strict = _strict_lower(n, g)
    if not lower:
        strict = strict.T
    return (g + _T(g)) * strict + g * _eye(n, g)


def _gap_inverse(w: Any) -> Any:
    """F[..., i, j] = 1 / (w_j - w_i) off the diagonal, 0 on it."""
    n = shape_of(w)[-1]
    eye = _eye(n, w)
    return (1 - eye) / (_row(w) - _col(w) + eye)


def _real_only(a: Any, name: str) -> None:
    """Derivative rules below use transposes: right for real matrices (and for the
    holomorphic inv/solve/det), wrong for complex Hermitian problems, so refuse those."""
    if np.issubdtype(dtype_of(a), np.complexfloating):
        raise NotImplementedError(
            f"tapeflow differentiates {name} for real matrices only, got dtype {dtype_of(a)}"
        )


def _square_check(a: Any, name: str) -> None:
    s = shape_of(a)
    if len(s) < 2 or s[-1] != s[-2]:
        raise LinAlgError(
            f"{name}: last 2 dimensions of the array must be square, got shape {tuple(s)}"
        )


# ----- multi-output plumbing ----------------------------------------------------
def _np_result_item(result: Any, index: int, length: int) -> Any:
    return result[index]


_result_item = primitive(_np_result_item, name="linalg.result_item")
defvjp_direct(
    _result_item,
    lambda g, ans, result, index, length: tuple(g if i == index else None for i in range(length)),
)
defjvp(_result_item, lambda t, ans, result, index, length: t[index])


def _items(result: Any, length: int) -> list[Any]:
    return [_result_item(result, index=i, length=length) for i in range(length)]


# ----- inv, solve ---------------------------------------------------------------
_inv = primitive(np.linalg.inv, name="linalg.inv")
defvjp_direct(_inv, lambda g, ans, a: -_mm(_mm(_T(ans), g), _T(ans)))
defjvp(_inv, lambda t, ans, a: -_mm(_mm(ans, t), ans))


def inv(a: Any) -> Any:
    """Inverse of a (stack of) square matrices (numpy.linalg.inv).

    Example:
        >>> inv(np.array([[2.0, 0.0], [0.0, 4.0]]))
        array([[0.5 , 0.  ],
               [0.  , 0.25]])
    """
    return _inv(a)


_solve = primitive(np.linalg.solve, name="linalg.solve")


def _solve_vec(a: Any, v: Any) -> Any:
    """``a^-1 v`` for stacks of vectors ``v`` of shape (..., M), whatever their batch shape."""
    x = _solve(a, _col(v))
    return _tnp().reshape(x, tuple(shape_of(x))[:-1])


def _solve_any(a: Any, rhs: Any, vector: bool) -> Any:
    return _solve_vec(a, rhs) if vector else _solve(a, rhs)


def _solve_vjp_a(ans: Any, a: Any, b: Any) -> Any:
    vector = len(shape_of(b)) == 1

    def vjp(g: Any) -> Any:
        gb = _solve_any(_T(a), g, vector)
        ga = -(_col(gb) * _row(ans)) if vector else -_mm(gb, _T(ans))
        return unbroadcast(ga, shape_of(a))

    return vjp


def _solve_vjp_b(ans: Any, a: Any, b: Any) -> Any:
    vector = len(shape_of(b)) == 1
    return lambda g: unbroadcast(_solve_any(_T(a), g, vector), shape_of(b))


def _solve_jvp_a(t: Any, ans: Any, a: Any, b: Any) -> Any:
    if len(shape_of(b)) == 1:
        return -_solve_vec(a, _tnp().reshape(_mm(t, _col(ans)), shape_of(ans)))
    return -_solve(a, _mm(t, ans))


def _solve_jvp_b(t: Any, ans: Any, a: Any, b: Any) -> Any:
    out = _solve_any(a, t, len(shape_of(b)) == 1)
    if shape_of(out) != shape_of(ans):
        out = _tnp().broadcast_to(out, shape_of(ans))
    return out


defvjp(_solve, _solve_vjp_a, _solve_vjp_b)
defjvp(_solve, _solve_jvp_a, _solve_jvp_b)


def solve(a: Any, b: Any) -> Any:
    """Solve ``a @ x = b`` (numpy.linalg.solve), batched.

    As in numpy 2, a 1-d ``b`` is one vector (broadcast over the stack of
    ``a``); otherwise ``b`` is a (stack of) ``(M, K)`` matrices.

    Example:
        >>> solve(np.array([[2.0, 0.0], [0.0, 4.0]]), np.array([1.0, 1.0]))
        array([0.5 , 0.25])
    """
    return _solve(a, b)


# ----- det, slogdet ---------------------------------------------------------------
_det = primitive(np.linalg.det, name="linalg.det")
defvjp_direct(_det, lambda g, ans, a: _scalar_to_matrix(g * ans) * _T(_inv(a)))
defjvp(_det, lambda t, ans, a: ans * _trace(_solve(a, t)))


def det(a: Any) -> Any:
    """Determinant of a (stack of) square matrices (numpy.linalg.det).

    The gradient ``det(a) * inv(a).T`` needs a nonsingular matrix.
    """
    return _det(a)


def _np_slogdet_sign(a: Any) -> Any:
    return np.linalg.slogdet(a)[0]


def _np_logabsdet(a: Any) -> Any:
    return np.linalg.slogdet(a)[1]


_slogdet_sign = primitive(_np_slogdet_sign, name="linalg.slogdet_sign")
nondifferentiable(_slogdet_sign)
_logabsdet = primitive(_np_logabsdet, name="linalg.logabsdet")


def _logabsdet_vjp(ans: Any, a: Any) -> Any:
    _real_only(a, "slogdet")
    return lambda g: _scalar_to_matrix(g) * _T(_inv(a))


def _logabsdet_jvp(t: Any, ans: Any, a: Any) -> Any:
    _real_only(a, "slogdet")
    return _trace(_solve(a, t))


defvjp(_logabsdet, _logabsdet_vjp)
defjvp(_logabsdet, _logabsdet_jvp)


def slogdet(a: Any) -> Any:
    """Sign and log of the absolute determinant (numpy.linalg.slogdet), as ``SlogdetResult``.

    ``logabsdet`` is differentiable (gradient ``inv(a).T``); ``sign`` is
    piecewise constant and carries no gradient.

    Example:
        >>> slogdet(np.diag([-2.0, 3.0])).sign
        np.float64(-1.0)
    """
    return SlogdetResult(_slogdet_sign(a), _logabsdet(a))


# ----- cholesky -------------------------------------------------------------------
_cholesky = primitive(np.linalg.cholesky, name="linalg.cholesky")


def _half_lower(x: Any) -> Any:
    """Lower triangle of ``x`` with the diagonal halved."""
    n = shape_of(x)[-1]
    return x * (_strict_lower(n, x) + 0.5 * _eye(n, x))


def _cholesky_vjp(ans: Any, a: Any) -> Any:
    _real_only(a, "cholesky")

    def vjp(g: Any) -> Any:
        p = _half_lower(_mm(_T(ans), g))
        left = _solve(_T(ans), p)  # L^-T P
        full = _T(_solve(_T(ans), _T(left)))  # L^-T P L^-1
        return _triangle_adjoint(full, lower=True)

    return vjp


def _cholesky_jvp(t: Any, ans: Any, a: Any) -> Any:
    _real_only(a, "cholesky")
    da = _read_triangle(t, lower=True)
    x = _T(_solve(ans, _T(_solve(ans, da))))  # L^-1 dA L^-T
    return _mm(ans, _half_lower(x))


defvjp(_cholesky, _cholesky_vjp)
defjvp(_cholesky, _cholesky_jvp)


def cholesky(a: Any, upper: bool = False) -> Any:
    """Cholesky factor of a symmetric positive-definite (stack of) matrix (numpy.linalg.cholesky).

    Like numpy, only the lower triangle of ``a`` is read (the upper one when
    ``upper=True``, which returns the upper factor).

    Example:
        >>> cholesky(np.array([[4.0, 2.0], [2.0, 5.0]]))
        array([[2., 0.],
               [1., 2.]])
    """
    _square_check(a, "cholesky")
    if upper:
        return _T(_cholesky(_T(a)))
    return _cholesky(a)


# ----- eigh -----------------------------------------------------------------------
def _np_eigh(a: Any, UPLO: str = "L") -> tuple[Any, Any]:
    w, v = np.linalg.eigh(a, UPLO=UPLO)  # type: ignore[call-overload]
    return (w, v)


_eigh = primitive(_np_eigh, name="linalg.eigh")


def _eigh_vjp(ans: Any, a: Any, UPLO: str = "L") -> Any:
    _real_only(a, "eigh")
    w, v = _items(ans, 2)

    def vjp(g: Any) -> Any:
        gw, gv = g
        inner = None
        if gw is not None:
            inner = _diag_embed(gw)
        if gv is not None:
            part = _gap_inverse(w) * _mm(_T(v), gv)
            inner = part if inner is None else inner + part
        return _triangle_adjoint(_mm(_mm(v, inner), _T(v)), lower=UPLO.upper() == "L")

    return vjp


def _eigh_jvp(t: Any, ans: Any, a: Any, UPLO: str = "L") -> Any:
    _real_only(a, "eigh")
    w, v = _items(ans, 2)
    m = _mm(_mm(_T(v), _read_triangle(t, lower=UPLO.upper() == "L")), v)
    return (_diag_part(m), _mm(v, _gap_inverse(w) * m))


defvjp(_eigh, _eigh_vjp)
defjvp(_eigh, _eigh_jvp)


def eigh(a: Any, UPLO: str = "L") -> Any:
    """Eigenvalues (ascending) and orthonormal eigenvectors of a symmetric matrix
    (numpy.linalg.eigh), as ``EighResult(eigenvalues, eigenvectors)``.

    Only the ``UPLO`` triangle is read. Eigenvector derivatives require
    distinct eigenvalues (see the module notes); each eigenvector's sign is
    LAPACK's choice, so differentiate sign-invariant quantities of them.

    Example:
        >>> eigh(np.diag([2.0, 1.0])).eigenvalues
        array([1., 2.])
    """
    _square_check(a, "eigh")
    if UPLO.upper() not in ("L", "U"):
        raise ValueError("eigh: UPLO argument must be 'L' or 'U'")
    w, v = _items(_eigh(a, UPLO=UPLO.upper()), 2)
    return EighResult(w, v)


_eigvalsh = primitive(np.linalg.eigvalsh, name="linalg.eigvalsh")


def _eigvalsh_vjp(ans: Any, a: Any, UPLO: str = "L") -> Any:
    _real_only(a, "eigvalsh")

    def vjp(g: Any) -> Any:
        _, v = _items(_eigh(a, UPLO=UPLO), 2)
        return _triangle_adjoint(_mm(v * _row(g), _T(v)), lower=UPLO == "L")

    return vjp


def _eigvalsh_jvp(t: Any, ans: Any, a: Any, UPLO: str = "L") -> Any:
    from tapeflow.numpy.products import einsum

    _real_only(a, "eigvalsh")
    _, v = _items(_eigh(a, UPLO=UPLO), 2)
    return einsum("...ik,...ij,...jk->...k", v, _read_triangle(t, lower=UPLO == "L"), v)


defvjp(_eigvalsh, _eigvalsh_vjp)
defjvp(_eigvalsh, _eigvalsh_jvp)


def eigvalsh(a: Any, UPLO: str = "L") -> Any:
    """Eigenvalues of a symmetric matrix, ascending (numpy.linalg.eigvalsh).

    Cheaper than :func:`eigh` (no eigenvectors in the forward pass), and its
    derivative ``V diag(g) V^T`` exists even where eigenvalues repeat.
    """
    _square_check(a, "eigvalsh")
    if UPLO.upper() not in ("L", "U"):
        raise ValueError("eigvalsh: UPLO argument must be 'L' or 'U'")
    return _eigvalsh(a, UPLO=UPLO.upper())


# ----- qr -----------------------------------------------------------------------
def _np_qr(a: Any) -> tuple[Any, Any]:
    q, r = np.linalg.qr(a, mode="reduced")
    return (q, r)


_qr = primitive(_np_qr, name="linalg.qr")


def _qr_shape_check(a: Any) -> None:
    _real_only(a, "qr")
    m, n = shape_of(a)[-2:]
    if m < n:
        raise NotImplementedError(
            f"tapeflow differentiates qr only for M >= N (tall or square matrices); got {m}x{n}"
        )


def _copy_lower_to_upper(m: Any) -> Any:
    n = shape_of(m)[-1]
    lower = m * _strict_lower(n, m)
    return lower + _T(lower) + m * _eye(n, m)


def _qr_vjp(ans: Any, a: Any) -> Any:
    _qr_shape_check(a)
    q, r = _items(ans, 2)

    def vjp(g: Any) -> Any:
        gq, gr = g
        m = None
        if gr is not None:
            m = _mm(r, _T(gr))
        if gq is not None:
            part = _mm(_T(gq), q)
            m = -part if m is None else m - part
        b = _mm(q, _copy_lower_to_upper(m))
        if gq is not None:
            b = b + gq
        return _T(_solve(r, _T(b)))  # B R^-T

    return vjp


def _qr_jvp(t: Any, ans: Any, a: Any) -> Any:
    _qr_shape_check(a)
    q, r = _items(ans, 2)
    t_rinv = _T(_solve(_T(r), _T(t)))  # dA R^-1
    c = _mm(_T(q), t_rinv)
    n = shape_of(c)[-1]
    low = c * _strict_lower(n, c)
    upper = c - low + _T(low)  # C - Omega, upper triangular
    return (t_rinv - _mm(q, upper), _mm(upper, r))


defvjp(_qr, _qr_vjp)
defjvp(_qr, _qr_jvp)


def qr(a: Any, mode: str = "reduced") -> Any:
    """QR factorization (numpy.linalg.qr), ``mode="reduced"`` (a ``QRResult``) or ``"r"``.

    Derivatives need ``M >= N`` and full column rank.

    Example:
        >>> q, r = qr(np.eye(3)[:, :2] * 2.0)
        >>> q.shape, r.shape
        ((3, 2), (2, 2))
    """
    if mode not in ("reduced", "r"):
        raise NotImplementedError(f"tapeflow's qr supports mode='reduced' and 'r', got {mode!r}")
    q, r = _items(_qr(a), 2)
    return r if mode == "r" else QRResult(q, r)


# ----- svd ------------------------------------------------------------------------
def _np_svd(a: Any) -> tuple[Any, Any, Any]:
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return (u, s, vh)


_svd = primitive(_np_svd, name="linalg.svd")


def _svd_vjp(ans: Any, a: Any) -> Any:
    _real_only(a, "svd")
    u, s, vh = _items(ans, 3)
    m, n = shape_of(a)[-2:]
    k = min(m, n)

    def vjp(g: Any) -> Any:
        gu, gs, gvh = g
        core = None if gs is None else _diag_embed(gs)
        extra = None
        if gu is not None or gvh is not None:
            f = _gap_inverse(s * s)
        if gu is not None:
            j = _mm(_T(u), gu)
            part = f * (j - _T(j)) * _row(s)
            core = part if core is None else core + part
            if m > k:  # the part of gU orthogonal to U
                extra = _mm((gu - _mm(u, j)) / _row(s), vh)
        if gvh is not None:
            gv = _T(gvh)
            j = _mm(vh, gv)  # V^T gV
            part = _col(s) * (f * (j - _T(j)))
            core = part if core is None else core + part
            if n > k:  # the part of gV orthogonal to V
                ortho = _mm(u, (gvh - _mm(_T(j), vh)) / _col(s))
                extra = ortho if extra is None else extra + ortho
        out = _mm(_mm(u, core), vh)
        return out if extra is None else out + extra

    return vjp


def _svd_jvp(t: Any, ans: Any, a: Any) -> Any:
    _real_only(a, "svd")
    u, s, vh = _items(ans, 3)
    m, n = shape_of(a)[-2:]
    k = min(m, n)
    v = _T(vh)
    dp = _mm(_mm(_T(u), t), v)
    ds = _diag_part(dp)
    f = _gap_inverse(s * s)
    du = _mm(u, f * (dp * _row(s) + _col(s) * _T(dp)))
    dv = _mm(v, f * (_col(s) * dp + _T(dp) * _row(s)))
    if m > k:
        tv = _mm(t, v)
        du = du + (tv - _mm(u, _mm(_T(u), tv))) / _row(s)
    if n > k:
        tu = _mm(_T(t), u)
        dv = dv + (tu - _mm(v, _mm(vh, tu))) / _row(s)
    return (du, ds, _T(dv))


defvjp(_svd, _svd_vjp)
defjvp(_svd, _svd_jvp)


def _np_svdvals(a: Any) -> Any:
    return np.linalg.svd(a, compute_uv=False)


_svdvals = primitive(_np_svdvals, name="linalg.svdvals")


def _svdvals_vjp(ans: Any, a: Any) -> Any:
    _real_only(a, "svd")

    def vjp(g: Any) -> Any:
        u, _, vh = _items(_svd(a), 3)
        return _mm(u * _row(g), vh)

    return vjp


def _svdvals_jvp(t: Any, ans: Any, a: Any) -> Any:
    _real_only(a, "svd")
    from tapeflow.numpy.products import einsum

    u, _, vh = _items(_svd(a), 3)
    return einsum("...ik,...ij,...kj->...k", u, t, vh)


defvjp(_svdvals, _svdvals_vjp)
defjvp(_svdvals, _svdvals_jvp)


def svd(
    a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False
) -> Any:
    """Singular value decomposition (numpy.linalg.svd), as ``SVDResult(U, S, Vh)``.

    For traced non-square inputs pass ``full_matrices=False``: the extra
    columns of a full ``U`` (or rows of ``Vh``) are not unique, so they have
    no derivative. Derivatives of ``U``/``Vh`` need distinct nonzero singular
    values; ``compute_uv=False`` returns the singular values alone, whose
    derivative ``U diag(g) Vh`` exists whenever they are distinct.

    Example:
        >>> svd(np.diag([3.0, 2.0]), compute_uv=False)
        array([3., 2.])
    """
    if not compute_uv:
        return _svdvals(a)
    m, n = shape_of(a)[-2:]
    if full_matrices and m != n:
        from tapeflow.tracer import Tracer

        if type(a) is Tracer:
            raise NotImplementedError(
                "tapeflow differentiates svd only with full_matrices=False for non-square "
                f"matrices (got shape {tuple(shape_of(a))}): the extra singular vectors of "
                "the full decomposition are not unique"
            )
        return SVDResult(*np.linalg.svd(a, full_matrices=True, hermitian=hermitian))
    u, s, vh = _items(_svd(a), 3)
    return SVDResult(u, s, vh)


def svdvals(x: Any) -> Any:
    """Singular values, descending (numpy.linalg.svdvals)."""
    return _svdvals(x)


# ----- pinv -----------------------------------------------------------------------
_pinv = primitive(np.linalg.pinv, name="linalg.pinv")


def _pinv_vjp(ans: Any, a: Any, **kwargs: Any) -> Any:
    _real_only(a, "pinv")
    p = ans

    def vjp(g: Any) -> Any:
        pt, gt = _T(p), _T(g)
        y = _mm(_mm(gt, p), pt)  # (I - A P) G^T P P^T
        z = _mm(_mm(pt, p), gt)  # P^T P G^T (I - P A)
        return -_mm(_mm(pt, g), pt) + (y - _mm(a, _mm(p, y))) + (z - _mm(_mm(z, p), a))

    return vjp


def _pinv_jvp(t: Any, ans: Any, a: Any, **kwargs: Any) -> Any:
    _real_only(a, "pinv")
    p = ans
    pt, tt = _T(p), _T(t)
    w = _mm(_mm(p, pt), tt)  # P P^T dA^T (I - A P)
    z = _mm(_mm(tt, pt), p)  # (I - P A) dA^T P^T P
    return -_mm(_mm(p, t), p) + (w - _mm(_mm(w, a), p)) + (z - _mm(p, _mm(a, z)))


defvjp(_pinv, _pinv_vjp)
defjvp(_pinv, _pinv_jvp)


def pinv(a: Any, rcond: Any = None, hermitian: bool = False, **kwargs: Any) -> Any:
    """Moore-Penrose pseudo-inverse (numpy.linalg.pinv).

    The derivative is the constant-rank formula; it is exact where the rank
    does not change nearby (full rank, or singular values well above ``rcond``).
    """
    if rcond is not None:
        kwargs["rcond"] = rcond
    if hermitian:
        kwargs["hermitian"] = True
    return _pinv(a, **kwargs)


# ----- rank (no gradient) -----------------------------------------------------------
matrix_rank = primitive(np.linalg.matrix_rank, name="linalg.matrix_rank")
nondifferentiable(matrix_rank)


# ----- tp.vmap rules: numpy.linalg already maps over leading axes ------------------------
def _to_front(x: Any, dim: int) -> Any:
    if dim == 0:
        return x
    nd = len(shape_of(x))
    return _tnp().transpose(x, (dim,) + tuple(i for i in range(nd) if i != dim))


def _stacked_rule(fun: Any, outputs: int = 1) -> Any:
    """Batch a one-matrix function by moving the batch axis to the front."""

    def rule(args: Any, dims: Any, **kwargs: Any) -> Any:
        out = fun(_to_front(args[0], dims[0]), *args[1:], **kwargs)
        return out, (0 if outputs == 1 else (0,) * outputs)

    return rule


def _solve_batch(args: Any, dims: Any) -> Any:
    a, b = args
    da, db = dims
    a_rank = len(shape_of(a)) - (da is not None)  # per-example ranks
    b_rank = len(shape_of(b)) - (db is not None)
    a = a if da is None else _to_front(a, da)
    b = b if db is None else _to_front(b, db)
    if b_rank == 1:
        if db is None:  # one shared vector: numpy broadcasts it over the stack of a
            return _solve(a, b), 0
        if a_rank != 2:  # a stack of matrices with one vector each: not one numpy call
            return NotImplemented
        x = _solve(a, _col(b))
        return _tnp().reshape(x, tuple(shape_of(x))[:-1]), 0
    # Matrix right-hand sides: the batch axis must line up after right-aligned broadcasting.
    if (da is None and a_rank > b_rank) or (db is None and b_rank > a_rank):
        return NotImplemented
    if da is not None and db is not None and a_rank != b_rank:
        return NotImplemented
    return _solve(a, b), 0


def _result_item_batch(args: Any, dims: Any, index: int, length: int) -> Any:
    return _result_item(args[0], index=index, length=length), dims[0][index]


for _fun, _outputs in (
    (_inv, 1), (_det, 1), (_slogdet_sign, 1), (_logabsdet, 1), (_cholesky, 1), (_eigh, 2),
    (_eigvalsh, 1), (_qr, 2), (_svd, 3), (_svdvals, 1), (_pinv, 1), (matrix_rank, 1),
):  # fmt: skip
    _fun.primitive.batch_rule = _stacked_rule(_fun, _outputs)
_solve.primitive.batch_rule = _solve_batch
_result_item.primitive.batch_rule = _result_item_batch
