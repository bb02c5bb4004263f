"""The primitives of ``tnp.linalg`` and their derivative rules.

``inv``, ``solve``, ``det``, the log-|det| of ``slogdet``, ``cholesky``,
``eigh``, ``eigvalsh``, ``qr``, ``svd``, the singular values alone, and
``pinv``, each with a VJP and a JVP written with tapeflow operations (so
derivatives of any order work), and with a ``tp.vmap`` rule (numpy.linalg
already maps over leading axes, so the batch axis just goes first).

Multi-output functions (``eigh``, ``qr``, ``svd``) are primitives returning a
tuple, split by :func:`tapeflow.numpy.items.items`; the rule of the factorization
only pays for the outputs that were used. What the primitives compute is in
:mod:`~tapeflow.numpy.linalg.kernels`, the matrix helpers the rules use in
:mod:`~tapeflow.numpy.linalg.matrices`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.core.primitive import (
    defbatch,
    defjvp,
    defvjp,
    nondifferentiable,
    primitive,
)
from tapeflow.core.tracer import Tracer
from tapeflow.numpy.declare import array_arguments
from tapeflow.numpy.elementwise import conj, imag, real
from tapeflow.numpy.fitting import unbroadcast
from tapeflow.numpy.items import items
from tapeflow.numpy.linalg.kernels import (
    EighResult,
    QRResult,
    SlogdetResult,
    SVDResult,
    np_eigh,
    np_logabsdet,
    np_qr,
    np_slogdet_sign,
    np_svd,
    np_svdvals,
    square_check,
)
from tapeflow.numpy.linalg.matrices import (
    adjoint,
    col,
    conj_of,
    diag_embed,
    diag_part,
    eye_like,
    gap_inverse,
    mm,
    read_triangle,
    row,
    scalar_to_matrix,
    strict_lower,
    swap_last,
    trace_of,
    triangle_adjoint,
)
from tapeflow.numpy.meta import dtype_of, is_complex, shape_of
from tapeflow.numpy.products import einsum
from tapeflow.numpy.shape import broadcast_to, reshape, transpose

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
    "matrix_rank",
]


_inv = primitive(np.linalg.inv, name="linalg.inv")
defvjp(_inv, lambda ans, a: lambda g: -mm(mm(swap_last(ans), g), swap_last(ans)))
defjvp(_inv, lambda t, ans, a: -mm(mm(ans, t), ans))


def inv(a: Any) -> Any:
    """Inverse of a (stack of) square matrices (numpy.linalg.inv).

    Example:
        >>> inv(np.array([[2.0, 0.0], [0.0, 4.0]]))
        array([[0.5 , 0.  ],
               [0.  , 0.25]])
    """
    return _inv(a)


_solve = primitive(np.linalg.solve, name="linalg.solve")
array_arguments(_solve, every=True)


def _solve_vec(a: Any, v: Any) -> Any:
    """``a^-1 v`` for stacks of vectors ``v`` of shape (..., M), whatever their batch shape."""
    x = _solve(a, col(v))
    return reshape(x, tuple(shape_of(x))[:-1])


def _solve_any(a: Any, rhs: Any, vector: bool) -> Any:
    return _solve_vec(a, rhs) if vector else _solve(a, rhs)


def _solve_vjp_a(ans: Any, a: Any, b: Any) -> Any:
    vector = len(shape_of(b)) == 1

    def vjp(g: Any) -> Any:
        gb = _solve_any(swap_last(a), g, vector)
        ga = -(col(gb) * row(ans)) if vector else -mm(gb, swap_last(ans))
        return unbroadcast(ga, shape_of(a))

    return vjp


def _solve_vjp_b(ans: Any, a: Any, b: Any) -> Any:
    vector = len(shape_of(b)) == 1
    return lambda g: unbroadcast(_solve_any(swap_last(a), g, vector), shape_of(b))


def _solve_jvp_a(t: Any, ans: Any, a: Any, b: Any) -> Any:
    if len(shape_of(b)) == 1:
        return -_solve_vec(a, reshape(mm(t, col(ans)), shape_of(ans)))
    return -_solve(a, mm(t, ans))


def _solve_jvp_b(t: Any, ans: Any, a: Any, b: Any) -> Any:
    out = _solve_any(a, t, len(shape_of(b)) == 1)
    if shape_of(out) != shape_of(ans):
        out = broadcast_to(out, shape_of(ans))
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
defvjp(_det, lambda ans, a: lambda g: scalar_to_matrix(g * ans) * swap_last(_inv(a)))
defjvp(_det, lambda t, ans, a: ans * trace_of(_solve(a, t)))


def det(a: Any) -> Any:
    """Determinant of a (stack of) square matrices (numpy.linalg.det).

    The gradient ``det(a) * inv(a).T`` needs a nonsingular matrix.
    """
    return _det(a)


_slogdet_sign = primitive(np_slogdet_sign, name="linalg.slogdet_sign")
nondifferentiable(_slogdet_sign)  # real matrices: -1, 0 or 1, piecewise constant

# Complex matrices: the sign is det / |det|, a point on the unit circle that turns with
# the matrix, d sign = sign * i Im(tr(A^-1 dA)).
_slogdet_phase = primitive(np_slogdet_sign, name="linalg.slogdet_phase")
defjvp(_slogdet_phase, lambda t, ans, a: ans * (1j * imag(trace_of(_solve(a, t)))))
defvjp(
    _slogdet_phase,
    lambda ans, a: lambda g: scalar_to_matrix(1j * imag(g * ans)) * swap_last(_inv(a)),
)
_logabsdet = primitive(np_logabsdet, name="linalg.logabsdet")


def _logabsdet_jvp(t: Any, ans: Any, a: Any) -> Any:
    # d log|det A| = Re tr(A^-1 dA); the trace is real for a real matrix
    d = trace_of(_solve(a, t))
    return real(d) if is_complex(d) else d


# The transpose of Re tr(A^-1 dA) is inv(A)^T for real and complex matrices alike.
defvjp(_logabsdet, lambda ans, a: lambda g: scalar_to_matrix(g) * swap_last(_inv(a)))
defjvp(_logabsdet, _logabsdet_jvp)


def slogdet(a: Any) -> Any:
    """Sign and log of the absolute determinant (numpy.linalg.slogdet), as ``SlogdetResult``.

    ``logabsdet`` is differentiable (gradient ``inv(a).T``). The ``sign`` of a real
    matrix is piecewise constant and carries no gradient; that of a complex matrix,
    ``det / |det|``, is differentiable.

    Example:
        >>> slogdet(np.diag([-2.0, 3.0])).sign
        np.float64(-1.0)
    """
    sign = _slogdet_phase(a) if is_complex(a) else _slogdet_sign(a)
    return SlogdetResult(sign, _logabsdet(a))


# ----- cholesky -------------------------------------------------------------------
_cholesky = primitive(np.linalg.cholesky, name="linalg.cholesky")


def _half_lower(x: Any) -> Any:
    """Lower triangle of ``x`` with the diagonal halved."""
    n = shape_of(x)[-1]
    return x * (strict_lower(n, x) + 0.5 * eye_like(n, x))


def _adjoint(x: Any) -> Any:
    """The conjugate transpose of the last two axes."""
    return conj(swap_last(x))


def _read_hermitian(t: Any) -> Any:
    """The Hermitian matrix LAPACK sees in ``t``: its lower triangle, and the real part
    of its diagonal (numpy ignores the upper triangle and the diagonal's imaginary part)."""
    n = shape_of(t)[-1]
    part = t * strict_lower(n, t)
    return part + _adjoint(part) + real(t) * eye_like(n, t)


def _hermitian_adjoint(g: Any) -> Any:
    """Transpose of :func:`_read_hermitian` in the pairing ``Re(sum(g * t))`` (JAX's)."""
    n = shape_of(g)[-1]
    return (g + _adjoint(g)) * strict_lower(n, g) + real(g) * eye_like(n, g)


def _cholesky_vjp(ans: Any, a: Any) -> Any:
    if np.issubdtype(dtype_of(a), np.complexfloating):
        # A = L L^H: the real rule below with conjugate transposes where L^T appears.
        def complex_vjp(g: Any) -> Any:
            left = _solve(swap_last(ans), _half_lower(mm(swap_last(ans), g)))  # L^-T P
            return _hermitian_adjoint(
                swap_last(_solve(_adjoint(ans), swap_last(left)))
            )  # L^-T P conj(L)^-1

        return complex_vjp

    def vjp(g: Any) -> Any:
        p = _half_lower(mm(swap_last(ans), g))
        left = _solve(swap_last(ans), p)  # L^-T P
        full = swap_last(_solve(swap_last(ans), swap_last(left)))  # L^-T P L^-1
        return triangle_adjoint(full, lower=True)

    return vjp


def _cholesky_jvp(t: Any, ans: Any, a: Any) -> Any:
    if np.issubdtype(dtype_of(a), np.complexfloating):
        x = _adjoint(_solve(ans, _adjoint(_solve(ans, _read_hermitian(t)))))  # L^-1 dA L^-H
        return mm(ans, _half_lower(x))
    da = read_triangle(t, lower=True)
    x = swap_last(_solve(ans, swap_last(_solve(ans, da))))  # L^-1 dA L^-T
    return mm(ans, _half_lower(x))


defvjp(_cholesky, _cholesky_vjp)
defjvp(_cholesky, _cholesky_jvp)


def cholesky(a: Any, upper: bool = False) -> Any:
    """Cholesky factor of a symmetric positive-definite (stack of) matrix (numpy.linalg.cholesky).

    Like numpy, only the lower triangle of ``a`` is read (the upper one when
    ``upper=True``, which returns the upper factor). A complex ``a`` is Hermitian:
    the imaginary part of its diagonal is ignored, as numpy does.

    Example:
        >>> cholesky(np.array([[4.0, 2.0], [2.0, 5.0]]))
        array([[2., 0.],
               [1., 2.]])
    """
    square_check(a, "cholesky")
    if upper:
        return swap_last(_cholesky(swap_last(a)))
    return _cholesky(a)


# ----- eigh -----------------------------------------------------------------------
_eigh = primitive(np_eigh, name="linalg.eigh")


def _eigh_vjp(ans: Any, a: Any, UPLO: str = "L") -> Any:
    w, v = items(ans, 2)

    def vjp(g: Any) -> Any:
        gw, gv = g
        inner = None
        if gw is not None:
            inner = diag_embed(gw)
        if gv is not None:
            part = gap_inverse(w) * mm(swap_last(v), gv)
            inner = part if inner is None else inner + part
        # cotangent of the Hermitian matrix read: conj(V) inner V^T (V inner V^T if real)
        full = mm(mm(conj_of(v), inner), swap_last(v))
        return triangle_adjoint(full, lower=UPLO.upper() == "L")

    return vjp


def _eigh_jvp(t: Any, ans: Any, a: Any, UPLO: str = "L") -> Any:
    w, v = items(ans, 2)
    m = mm(mm(adjoint(v), read_triangle(t, lower=UPLO.upper() == "L")), v)
    dw = diag_part(m)
    # (eigenvector phases: the derivative keeps each v_k^H dv_k at 0, see the module notes)
    return (real(dw) if is_complex(dw) else dw, mm(v, gap_inverse(w) * m))


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
    square_check(a, "eigh")
    if UPLO.upper() not in ("L", "U"):
        raise ValueError("eigh: UPLO argument must be 'L' or 'U'")
    w, v = items(_eigh(a, UPLO=UPLO.upper()), 2)
    return EighResult(w, v)


_eigvalsh = primitive(np.linalg.eigvalsh, name="linalg.eigvalsh")


def _eigvalsh_vjp(ans: Any, a: Any, UPLO: str = "L") -> Any:
    def vjp(g: Any) -> Any:
        _, v = items(_eigh(a, UPLO=UPLO), 2)
        return triangle_adjoint(mm(conj_of(v) * row(g), swap_last(v)), lower=UPLO == "L")

    return vjp


def _eigvalsh_jvp(t: Any, ans: Any, a: Any, UPLO: str = "L") -> Any:
    _, v = items(_eigh(a, UPLO=UPLO), 2)
    dw = einsum("...ik,...ij,...jk->...k", conj_of(v), read_triangle(t, lower=UPLO == "L"), v)
    return real(dw) if is_complex(dw) else dw


defvjp(_eigvalsh, _eigvalsh_vjp)
defjvp(_eigvalsh, _eigvalsh_jvp)


def eigvalsh(a: Any, UPLO: str = "L") -> Any:
    """Eigenvalues of a symmetric matrix, ascending (numpy.linalg.eigvalsh).

    Cheaper than :func:`eigh` (no eigenvectors in the forward pass), and its
    derivative ``V diag(g) V^T`` exists even where eigenvalues repeat.
    """
    square_check(a, "eigvalsh")
    if UPLO.upper() not in ("L", "U"):
        raise ValueError("eigvalsh: UPLO argument must be 'L' or 'U'")
    return _eigvalsh(a, UPLO=UPLO.upper())


# ----- qr -----------------------------------------------------------------------
_qr = primitive(np_qr, name="linalg.qr")


def _qr_shape_check(a: Any) -> None:
    m, n = shape_of(a)[-2:]
    if m < n:
        raise NotImplementedError(
            f"tapeflow differentiates qr only for M >= N (tall or square matrices); got {m}x{n}"
        )


# LAPACK's R has a real diagonal (also for complex matrices), which fixes each column of Q
# up to a sign; the rules keep it real. With C = Q^H dA R^-1, dR = (C - W) R and
# dQ = dA R^-1 - Q (C - W), where W = L - L^H + i Im diag(C) is skew-Hermitian (L: the
# strictly lower part of C), so that C - W is upper triangular with a real diagonal.


def _copy_lower_to_upper(m: Any) -> Any:
    """The Hermitian matrix with ``m``'s strictly lower part and real diagonal."""
    n = shape_of(m)[-1]
    lower = m * strict_lower(n, m)
    diagonal = m * eye_like(n, m)
    return lower + adjoint(lower) + (real(diagonal) if is_complex(m) else diagonal)


def _qr_vjp(ans: Any, a: Any) -> Any:
    _qr_shape_check(a)
    q, r = items(ans, 2)

    def vjp(g: Any) -> Any:
        gq, gr = g
        m = None
        if gr is not None:
            m = mm(r, swap_last(gr))
        if gq is not None:
            part = mm(swap_last(gq), q)
            m = -part if m is None else m - part
        # conj(Q) conj(sym(M)): the cotangent pairs with dA without conjugation
        b = mm(conj_of(q), conj_of(_copy_lower_to_upper(m)))
        if gq is not None:
            b = b + gq
        return swap_last(_solve(r, swap_last(b)))  # B R^-T

    return vjp


def _qr_jvp(t: Any, ans: Any, a: Any) -> Any:
    _qr_shape_check(a)
    q, r = items(ans, 2)
    t_rinv = swap_last(_solve(swap_last(r), swap_last(t)))  # dA R^-1
    c = mm(adjoint(q), t_rinv)
    n = shape_of(c)[-1]
    low = c * strict_lower(n, c)
    upper = c - low + adjoint(low)  # C - W, upper triangular
    if is_complex(c):
        upper = upper - 1j * imag(c * eye_like(n, c))  # ... with a real diagonal
    return (t_rinv - mm(q, upper), mm(upper, r))


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
    q, r = items(_qr(a), 2)
    return r if mode == "r" else QRResult(q, r)


# ----- svd ------------------------------------------------------------------------
_svd = primitive(np_svd, name="linalg.svd")


def _svd_vjp(ans: Any, a: Any) -> Any:
    u, s, vh = items(ans, 3)
    m, n = shape_of(a)[-2:]
    k = min(m, n)
    complex_input = is_complex(a)

    def vjp(g: Any) -> Any:
        # The transpose of _svd_jvp below (under the pairing Re sum(g * t)); for real
        # matrices the conjugations vanish and the phase term is absent.
        gu, gs, gvh = g
        core = None if gs is None else diag_embed(gs)
        extra = None
        if gu is not None or gvh is not None:
            f = gap_inverse(s * s)
        if gu is not None:
            j = mm(swap_last(u), gu)  # U^T gU
            part = f * (j - adjoint(j)) * row(s)
            if complex_input:  # the phase of U's columns, which the JVP moves with dA
                part = part + diag_embed(1j * imag(diag_part(j)) / s)
            core = part if core is None else core + part
            if m > k:  # the part of gU orthogonal to U
                extra = mm((gu - mm(conj_of(u), j)) / row(s), conj_of(vh))
        if gvh is not None:
            j = mm(conj_of(vh), adjoint(gvh))  # V^T gV, where gV = gVh^H
            part = col(s) * (f * (j - adjoint(j)))
            core = part if core is None else core + part
            if n > k:  # the part of gV orthogonal to V
                ortho = gvh - mm(mm(gvh, swap_last(vh)), conj_of(vh))
                ortho = mm(conj_of(u), ortho / col(s))
                extra = ortho if extra is None else extra + ortho
        out = mm(mm(conj_of(u), core), conj_of(vh))
        return out if extra is None else out + extra

    return vjp


def _svd_jvp(t: Any, ans: Any, a: Any) -> Any:
    u, s, vh = items(ans, 3)
    m, n = shape_of(a)[-2:]
    k = min(m, n)
    v = adjoint(vh)
    dp = mm(mm(adjoint(u), t), v)
    ds = diag_part(dp)
    f = gap_inverse(s * s)
    inner_u = f * (dp * row(s) + col(s) * adjoint(dp))
    if is_complex(dp):
        # Each singular pair is fixed only up to a common phase: the derivative keeps V's
        # phases (diag(V^H dV) = 0) and moves U's by i Im(dP_kk) / s_k.
        inner_u = inner_u + diag_embed(1j * imag(ds) / s)
        ds = real(ds)
    du = mm(u, inner_u)
    dv = mm(v, f * (col(s) * dp + adjoint(dp) * row(s)))
    if m > k:
        tv = mm(t, v)
        du = du + (tv - mm(u, mm(adjoint(u), tv))) / row(s)
    if n > k:
        tu = mm(adjoint(t), u)
        dv = dv + (tu - mm(v, mm(vh, tu))) / row(s)
    return (du, ds, adjoint(dv))


defvjp(_svd, _svd_vjp)
defjvp(_svd, _svd_jvp)


_svdvals = primitive(np_svdvals, name="linalg.svdvals")


def _svdvals_vjp(ans: Any, a: Any) -> Any:
    def vjp(g: Any) -> Any:
        u, _, vh = items(_svd(a), 3)
        return mm(conj_of(u) * row(g), conj_of(vh))

    return vjp


def _svdvals_jvp(t: Any, ans: Any, a: Any) -> Any:
    u, _, vh = items(_svd(a), 3)
    ds = einsum("...ik,...ij,...kj->...k", conj_of(u), t, conj_of(vh))
    return real(ds) if is_complex(ds) else ds


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
        if type(a) is Tracer:
            raise NotImplementedError(
                "tapeflow differentiates svd only with full_matrices=False for non-square "
                f"matrices (got shape {tuple(shape_of(a))}): the extra singular vectors of "
                "the full decomposition are not unique"
            )
        return SVDResult(*np.linalg.svd(a, full_matrices=True, hermitian=hermitian))
    u, s, vh = items(_svd(a), 3)
    return SVDResult(u, s, vh)


def svdvals(x: Any) -> Any:
    """Singular values, descending (numpy.linalg.svdvals)."""
    return _svdvals(x)


# ----- pinv -----------------------------------------------------------------------
_pinv = primitive(np.linalg.pinv, name="linalg.pinv")


# The constant-rank derivative, dP = -P dA P + P P^H dA^H (I - A P) + (I - P A) dA^H P^H P
# (conjugate transposes: for real matrices, transposes).
def _pinv_vjp(ans: Any, a: Any, **kwargs: Any) -> Any:
    p = ans

    def vjp(g: Any) -> Any:
        pt, ph, gt = swap_last(p), adjoint(p), swap_last(g)
        y = mm(mm(gt, p), ph)  # (I - A P) G^T P P^H
        z = mm(mm(ph, p), gt)  # P^H P G^T (I - P A)
        # the dA^H terms pair with the tangent through a conjugation
        return -mm(mm(pt, g), pt) + conj_of(y - mm(a, mm(p, y))) + conj_of(z - mm(mm(z, p), a))

    return vjp


def _pinv_jvp(t: Any, ans: Any, a: Any, **kwargs: Any) -> Any:
    p = ans
    ph, th = adjoint(p), adjoint(t)
    w = mm(mm(p, ph), th)  # P P^H dA^H (I - A P)
    z = mm(mm(th, ph), p)  # (I - P A) dA^H P^H P
    return -mm(mm(p, t), p) + (w - mm(mm(w, a), p)) + (z - mm(p, mm(a, z)))


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
    return transpose(x, (dim,) + tuple(i for i in range(nd) if i != dim))


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
        x = _solve(a, col(b))
        return reshape(x, tuple(shape_of(x))[:-1]), 0
    # Matrix right-hand sides: the batch axis must line up after right-aligned broadcasting.
    if (da is None and a_rank > b_rank) or (db is None and b_rank > a_rank):
        return NotImplemented
    if da is not None and db is not None and a_rank != b_rank:
        return NotImplemented
    return _solve(a, b), 0


for _fun, _outputs in (
    (_inv, 1), (_det, 1), (_slogdet_sign, 1), (_slogdet_phase, 1), (_logabsdet, 1),
    (_cholesky, 1), (_eigh, 2),
    (_eigvalsh, 1), (_qr, 2), (_svd, 3), (_svdvals, 1), (_pinv, 1), (matrix_rank, 1),
):  # fmt: skip
    defbatch(_fun, _stacked_rule(_fun, _outputs))
defbatch(_solve, _solve_batch)
