"""Products and tnp.linalg beyond finite differences: values against numpy,
numpy's named tuples as pytrees, np.linalg dispatch, documented conventions
(zero gradient of norms at 0, repeated eigenvalues) and errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp

L = tnp.linalg
RNG = np.random.default_rng(42)
A = RNG.standard_normal((3, 3)) + 3 * np.eye(3)
SPD = A @ A.T + np.eye(3)
B = RNG.standard_normal((2, 4, 3))

EINSUM_VALUES = [
    ("ij,jk", (A, A)),
    ("ii", (A,)),
    ("ii->i", (A,)),
    ("...ij,...jk->...ik", (B, A)),
    ("bij->", (B,)),
    ("i,j,k->ijk", (A[0], A[1], A[2])),
    ("ba", (A,)),
    ("ij,ij->ij", (A[:1], A)),
]


@pytest.mark.parametrize("subscripts,ops", EINSUM_VALUES, ids=[s for s, _ in EINSUM_VALUES])
def test_einsum_values_match_numpy(subscripts, ops) -> None:
    np.testing.assert_allclose(tnp.einsum(subscripts, *ops), np.einsum(subscripts, *ops))


def test_products_values_match_numpy() -> None:
    x, y = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((5, 4, 2))
    np.testing.assert_allclose(tnp.dot(x, y), np.dot(x, y))
    np.testing.assert_allclose(tnp.dot(x, y[0, :, 0]), np.dot(x, y[0, :, 0]))
    np.testing.assert_allclose(
        tnp.tensordot(x, y, axes=([2], [1])), np.tensordot(x, y, axes=([2], [1]))
    )
    np.testing.assert_allclose(tnp.tensordot(x, x, axes=0), np.tensordot(x, x, axes=0))
    np.testing.assert_allclose(tnp.inner(x, y[:, :, 0]), np.inner(x, y[:, :, 0]))
    np.testing.assert_allclose(tnp.vdot(x, x), np.vdot(x, x))
    np.testing.assert_allclose(tnp.outer(x[0], y[0]), np.outer(x[0], y[0]))
    np.testing.assert_allclose(tnp.kron(x[0], A), np.kron(x[0], A))
    np.testing.assert_allclose(tnp.kron(A[0], x), np.kron(A[0], x))
    np.testing.assert_allclose(tnp.cross(x[..., :3], A), np.cross(x[..., :3], A))
    np.testing.assert_allclose(
        tnp.cross(A, B[0, :3], axisa=0, axisb=1, axisc=0),
        np.cross(A, B[0, :3], axisa=0, axisb=1, axisc=0),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # numpy 2 deprecates 2-vectors
        np.testing.assert_allclose(tnp.cross(A[:, :2], A[:, 1:]), np.cross(A[:, :2], A[:, 1:]))


def test_linalg_values_match_numpy() -> None:
    stack = np.stack([A, SPD])
    for ours, theirs in [
        (L.inv, np.linalg.inv),
        (L.det, np.linalg.det),
        (L.cholesky, np.linalg.cholesky),
        (L.pinv, np.linalg.pinv),
        (L.eigvalsh, np.linalg.eigvalsh),
        (L.svdvals, np.linalg.svdvals),
        (lambda a: L.matrix_power(a, -3), lambda a: np.linalg.matrix_power(a, -3)),
    ]:
        np.testing.assert_allclose(ours(stack), theirs(stack), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(L.solve(stack, A[0]), np.linalg.solve(stack, A[0]))
    np.testing.assert_allclose(L.solve(stack, B[:, :3]), np.linalg.solve(stack, B[:, :3]))
    for got, want in zip(L.slogdet(-stack), np.linalg.slogdet(-stack), strict=True):
        np.testing.assert_allclose(got, want)
    for got, want in zip(L.lstsq(B[0], B[1]), np.linalg.lstsq(B[0], B[1]), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-12)
    chain = [A[0], A, SPD, B[0].T, B[1, :, 0]]
    np.testing.assert_allclose(L.multi_dot(chain), np.linalg.multi_dot(chain))


NORM_CASES = [
    (None, None),
    (1, None),
    (np.inf, None),
    (-np.inf, 0),
    (0, 1),
    (3, -1),
    ("fro", None),
    ("nuc", None),
    (2, None),
    (-2, (1, 0)),
    (1, (0, 1)),
    (-1, None),
    (np.inf, (1, 0)),
    (-np.inf, None),
]


@pytest.mark.parametrize("ord,axis", NORM_CASES, ids=[f"{o}-{a}" for o, a in NORM_CASES])
@pytest.mark.parametrize("keepdims", [False, True])
def test_norm_matches_numpy(ord, axis, keepdims) -> None:
    x = B[0]
    got = L.norm(x, ord, axis, keepdims)
    want = np.linalg.norm(x, ord, axis, keepdims)
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want)
    assert L.norm(x.astype(np.float32), ord, axis, keepdims).dtype == np.float32


def test_norm_of_complex_input_matches_numpy() -> None:
    z = np.array([[3 + 4j, 1 - 1j], [0.5j, 2.0]])
    for ord in (None, "fro", 1, 3):
        axis = -1 if ord == 3 else None
        np.testing.assert_allclose(L.norm(z, ord, axis), np.linalg.norm(z, ord, axis))


@pytest.mark.parametrize("ord", [None, 2, 3, 1, np.inf])
def test_norm_gradient_at_zero_vector_is_zero(ord) -> None:
    g = tp.grad(lambda x: L.norm(x, ord))(np.zeros(3))
    assert np.array_equal(g, np.zeros(3))
    g = tp.grad(lambda x: tnp.sum(L.norm(x, axis=1)))(np.zeros((2, 3), np.float32))
    assert g.dtype == np.float32 and np.array_equal(g, np.zeros((2, 3)))
    g = tp.grad(lambda x: L.norm(x, "fro"))(np.zeros((2, 2)))
    assert np.array_equal(g, np.zeros((2, 2)))


def test_norm_gradient_matches_closed_form() -> None:
    x = np.array([3.0, 4.0])
    np.testing.assert_allclose(tp.grad(L.norm)(x), x / 5.0)
    np.testing.assert_allclose(tp.grad(lambda v: np.linalg.norm(v))(x), x / 5.0)


def test_named_tuples_come_back_from_traced_calls_and_are_pytrees() -> None:
    seen = {}

    def f(a):
        r = np.linalg.eigh(a)
        q = np.linalg.qr(a)
        s = np.linalg.svd(a, full_matrices=False)
        d = np.linalg.slogdet(a)
        seen.update(eigh=r, qr=q, svd=s, slogdet=d)
        return tnp.sum(r.eigenvalues) + tnp.sum(s.S) + d.logabsdet + tnp.sum(q.R[0] ** 2)

    tp.grad(f)(SPD)
    assert type(seen["eigh"]).__name__ == "EighResult" and seen["eigh"]._fields == (
        "eigenvalues",
        "eigenvectors",
    )
    assert type(seen["qr"]).__name__ == "QRResult" and seen["qr"]._fields == ("Q", "R")
    assert type(seen["svd"]).__name__ == "SVDResult" and seen["svd"]._fields == ("U", "S", "Vh")
    assert type(seen["slogdet"]).__name__ == "SlogdetResult"
    assert isinstance(seen["eigh"], L.EighResult)

    out, tangent = tp.jvp(L.eigh, (SPD,), (np.eye(3),))
    assert isinstance(out, L.EighResult) and isinstance(tangent, L.EighResult)
    # d/dt eigenvalues(A + t I) = 1 for every eigenvalue
    np.testing.assert_allclose(tangent.eigenvalues, np.ones(3))
    out, vjp_fn = tp.vjp(lambda a: L.svd(a, full_matrices=False), B[0])
    (ct,) = vjp_fn(L.SVDResult(np.zeros((4, 3)), np.ones(3), np.zeros((3, 3))))
    u, _, vh = np.linalg.svd(B[0], full_matrices=False)
    np.testing.assert_allclose(ct, u @ vh)  # gradient of the nuclear norm
    leaves, tree = tp.tree_util.tree_flatten(out)
    assert len(leaves) == 3 and type(tp.tree_util.tree_unflatten(tree, leaves)) is type(out)


def test_closed_form_gradients() -> None:
    np.testing.assert_allclose(tp.grad(lambda a: L.slogdet(a).logabsdet)(A), np.linalg.inv(A).T)
    np.testing.assert_allclose(tp.grad(L.det)(A), np.linalg.det(A) * np.linalg.inv(A).T)
    # Hessian-vector product of log det: -A^-T H^T A^-T
    h = RNG.standard_normal((3, 3))
    hvp = tp.jvp(tp.grad(lambda a: L.slogdet(a).logabsdet), (A,), (h,))[1]
    ai = np.linalg.inv(A)
    np.testing.assert_allclose(hvp, -(ai @ h @ ai).T)
    # derivative of trace(inv(A)) is -(A^-2)^T
    np.testing.assert_allclose(
        tp.grad(lambda a: tnp.sum(tnp.einsum("ii", L.inv(a))))(A), -(ai @ ai).T
    )


def test_third_order_through_inv_and_solve() -> None:
    tp.check_grads(lambda a: L.solve(a, L.inv(a)[0]), (A,), order=3, modes=("rev", "fwd"))


def test_repeated_eigenvalues_still_give_eigenvalue_gradients() -> None:
    # Eigenvectors are not unique at I, but the eigenvalues' gradient is.
    g = tp.grad(lambda a: tnp.sum(L.eigvalsh(a) ** 2))(np.eye(3))
    np.testing.assert_allclose(g, 2 * np.eye(3))
    g = tp.grad(lambda a: L.norm(a, "nuc"))(np.eye(3))
    np.testing.assert_allclose(g, np.eye(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division by the zero eigenvalue gaps
        _, t = tp.jvp(L.eigvalsh, (2 * np.eye(3),), (np.diag([1.0, 1.0, 1.0]),))
    np.testing.assert_allclose(t, np.ones(3))


def test_eigh_and_cholesky_read_one_triangle_like_numpy() -> None:
    a = SPD + np.triu(np.ones((3, 3)), 1) * 5.0  # garbage above the diagonal
    np.testing.assert_allclose(L.cholesky(a), np.linalg.cholesky(a))
    g = tp.grad(lambda m: tnp.sum(L.cholesky(m)))(a)
    assert np.array_equal(np.triu(g, 1), np.zeros((3, 3)))
    g = tp.grad(lambda m: tnp.sum(L.eigvalsh(m, UPLO="U") * np.arange(3.0)))(a)
    assert np.array_equal(np.tril(g, -1), np.zeros((3, 3)))


def test_np_linalg_dispatch_differentiates() -> None:
    for fun in [
        lambda a: np.sum(np.linalg.inv(a)),
        lambda a: np.linalg.det(a),
        lambda a: np.sum(np.linalg.solve(a, a[0])),
        lambda a: np.sum(np.linalg.cholesky(a @ a.T)),
        lambda a: np.sum(np.linalg.pinv(a)),
        lambda a: np.sum(np.linalg.matrix_power(a, 2)),
        lambda a: np.sum(np.linalg.multi_dot([a, a, a])),
        lambda a: np.sum(np.linalg.lstsq(a, a[0])[0]),
        lambda a: np.linalg.norm(a, "nuc"),
        lambda a: np.sum(np.linalg.svdvals(a)),
        lambda a: np.sum(np.einsum("ij,jk->ik", a, a)),
        lambda a: np.sum(np.kron(a, a)),
    ]:
        tp.check_grads(fun, (A,), modes=("rev", "fwd"))
    assert int(tp.grad(lambda a: np.linalg.matrix_rank(a) * tnp.sum(a))(A)[0, 0]) == 3


def test_unsupported_derivatives_raise_clearly() -> None:
    wide = RNG.standard_normal((2, 3))
    with pytest.raises(NotImplementedError, match="full_matrices=False"):
        tp.grad(lambda a: tnp.sum(L.svd(a).S))(wide)
    assert L.svd(wide).U.shape == (2, 2)  # plain values: numpy's full decomposition
    with pytest.raises(NotImplementedError, match="M >= N"):
        tp.grad(lambda a: tnp.sum(L.qr(a).R))(wide)
    with pytest.raises(np.linalg.LinAlgError):
        L.cholesky(wide)
    with pytest.raises(ValueError):
        tnp.einsum("ij,jk->ik", A)
    with pytest.raises(ValueError):
        tnp.einsum("...ij,jk->ik", B, A)
    with pytest.raises(ValueError):
        tnp.tensordot(A, B, axes=([0], [0]))
    with pytest.raises(ValueError):
        L.norm(B, "fro")
    with pytest.raises(TypeError):
        L.matrix_power(A, 1.5)


def test_vmap_uses_batching_rules_not_the_loop() -> None:
    from tapeflow.vmap import BatchingFallbackWarning

    stack = np.stack([SPD, SPD + np.eye(3), A @ A.T + 2 * np.eye(3)])
    rhs = RNG.standard_normal((3, 3, 2))
    funs = [
        (lambda a: tnp.einsum("ij,jk->ik", a, a), (stack,)),
        (lambda a: L.eigh(a), (stack,)),
        (lambda a: L.svd(a).S, (stack,)),
        (lambda a: L.qr(a), (stack,)),
        (lambda a: L.slogdet(a), (stack,)),
        (L.solve, (stack, rhs[..., 0])),
        (L.solve, (stack, rhs)),
        (lambda b: L.solve(SPD, b), (rhs,)),
        (tp.grad(lambda a: tnp.sum(L.eigh(a).eigenvectors[0] ** 3 * L.eigvalsh(a))), (stack,)),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingFallbackWarning)
        for fun, args in funs:
            got = tp.vmap(fun)(*args)
            want = [fun(*(x[i] for x in args)) for i in range(3)]
            for k, leaf in enumerate(tp.tree_util.tree_leaves(got)):
                np.testing.assert_allclose(
                    leaf, np.stack([tp.tree_util.tree_leaves(w)[k] for w in want])
                )


def _random_einsum(data) -> tuple[str, list[np.ndarray]]:
    from hypothesis import strategies as st

    labels = "abcd"
    sizes = {c: data.draw(st.integers(2, 3)) for c in labels}
    n_ops = data.draw(st.integers(1, 3))
    specs = [data.draw(st.text(labels, min_size=0, max_size=3)) for _ in range(n_ops)]
    used = sorted(set("".join(specs)))
    explicit = data.draw(st.booleans())
    subscripts = ",".join(specs)
    if explicit:
        subscripts += "->" + "".join(
            data.draw(st.permutations(used))[: data.draw(st.integers(0, len(used)))]
        )
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    ops = []
    for spec in specs:
        # Sometimes a length-1 axis, which einsum broadcasts against the other operands.
        shape = [1 if data.draw(st.integers(0, 5)) == 0 else sizes[c] for c in spec]
        ops.append(rng.standard_normal(shape))
    return subscripts, ops


def test_random_einsums_match_numpy_and_finite_differences() -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def check(data) -> None:
        subscripts, ops = _random_einsum(data)
        try:
            want = np.einsum(subscripts, *ops)
        except ValueError:  # e.g. a label repeated in one operand with different lengths
            return
        np.testing.assert_allclose(tnp.einsum(subscripts, *ops), want)
        tp.check_grads(lambda *a: tnp.einsum(subscripts, *a), ops, modes=("rev", "fwd"))

    check()


def test_complex_and_mixed_dtype_products() -> None:
    def c(*shape):
        return RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)

    real = RNG.standard_normal((3, 4))
    cases = [
        (lambda a, b: tnp.einsum("ij,jk->ik", a, b), (c(2, 3), c(3, 4))),
        (
            lambda a, b: tnp.einsum("ij,jk->ik", a, b),
            (c(2, 3), real),
        ),  # real operand: real cotangent
        (tnp.tensordot, (real[:2, :3], c(2, 3))),
        (tnp.vdot, (c(3), c(3))),
        (lambda a: a[[0, 0, 1]], (c(3, 2),)),
        (L.inv, (c(3, 3) + 3 * np.eye(3),)),
        (L.solve, (c(3, 3) + 3 * np.eye(3), c(3))),
        (L.norm, (c(3),)),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter(
            "error"
        )  # no ComplexWarning from dropping imaginary parts by accident
        for fun, args in cases:
            tp.check_grads(fun, args, order=2, modes=("rev", "fwd"))
    x32 = RNG.standard_normal((2, 3)).astype(np.float32)
    g = tp.grad(lambda a: tnp.sum(tnp.einsum("ij,jk->ik", a, real)))(x32)
    assert g.dtype == np.float32


def test_plain_lists_are_accepted_like_numpy() -> None:
    m = [[2.0, 1.0], [1.0, 3.0]]
    pairs = [
        (L.norm([3, 4]), np.linalg.norm([3, 4])),
        (L.norm(m, "nuc"), np.linalg.norm(m, "nuc")),
        (tnp.cross([1.0, 0, 0], [0, 1.0, 0]), np.cross([1.0, 0, 0], [0, 1.0, 0])),
        (tnp.vdot([1.0, 2], [3.0, 4]), np.vdot([1.0, 2], [3.0, 4])),
        (L.vecdot([1.0, 2], [3.0, 4]), np.linalg.vecdot([1.0, 2], [3.0, 4])),
        (tnp.einsum("ij,j", m, [1.0, 1]), np.einsum("ij,j", m, [1.0, 1])),
        (tnp.kron([1.0, 2], m), np.kron([1.0, 2], m)),
        (L.cholesky(m, upper=True), np.linalg.cholesky(m, upper=True)),
        (L.eigh(m).eigenvalues, np.linalg.eigh(m).eigenvalues),
        (L.multi_dot([[1.0, 2], m, [1.0, 1]]), np.linalg.multi_dot([[1.0, 2], m, [1.0, 1]])),
    ]
    for got, want in pairs:
        np.testing.assert_allclose(got, want)


# ----- complex matrices and the general eigen-decomposition -------------------------------
Z = RNG.standard_normal((3, 3)) + 1j * RNG.standard_normal((3, 3))
HERM = Z @ Z.conj().T + np.eye(3)
WIDE_Z = RNG.standard_normal((2, 3, 4)) + 1j * RNG.standard_normal((2, 3, 4))
ROTATION = np.array([[1.0, -2.0, 0.3], [2.0, 1.0, 0.0], [0.1, 0.2, 4.0]])

# (id, function of numpy's linalg namespace, argument): tnp.linalg on the plain argument
# and np.linalg on the traced one must give numpy's values, dtypes and result types.
SPECTRAL_VALUES = [
    ("eig-real", lambda la, a: la.eig(a), A),
    ("eig-real-complex-pair", lambda la, a: la.eig(a), ROTATION),
    ("eig-complex", lambda la, a: la.eig(a), Z),
    ("eig-stack", lambda la, a: la.eig(a), B[:, :3, :3]),
    ("eigvals-real", lambda la, a: la.eigvals(a), ROTATION),
    ("eigvals-complex", lambda la, a: la.eigvals(a), Z),
    ("eigh-complex", lambda la, a: la.eigh(a), HERM),
    ("eigh-complex-upper", lambda la, a: la.eigh(a, UPLO="U"), HERM),
    ("eigvalsh-complex", lambda la, a: la.eigvalsh(a), HERM),
    ("svd-complex", lambda la, a: la.svd(a, full_matrices=False), WIDE_Z),
    ("svd-complex-values", lambda la, a: la.svd(a, compute_uv=False), WIDE_Z),
    ("svdvals-complex", lambda la, a: la.svdvals(a), WIDE_Z),
    ("norm-nuc-complex", lambda la, a: la.norm(a, "nuc", axis=(1, 2)), WIDE_Z),
    ("norm-2-complex", lambda la, a: la.norm(a, 2, axis=(1, 2)), WIDE_Z),
    ("norm--2-complex", lambda la, a: la.norm(a, -2, axis=(1, 2)), WIDE_Z),
]


@pytest.mark.parametrize("name,fun,a", SPECTRAL_VALUES, ids=[v[0] for v in SPECTRAL_VALUES])
def test_spectral_values_match_numpy(name, fun, a) -> None:
    want = fun(np.linalg, a)
    for got in (fun(L, a), tp.vjp(lambda x: fun(np.linalg, x), a)[0]):
        assert type(got) is type(want)
        for g, w in zip(tp.tree_util.tree_leaves(got), tp.tree_util.tree_leaves(want), strict=True):
            assert np.asarray(g).dtype == w.dtype
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def test_complex_hermitian_gradients_ignore_the_unread_parts() -> None:
    """eigh reads one triangle and the real part of the diagonal, as LAPACK does."""
    t = HERM + np.triu(np.ones((3, 3)), 1) * (5 - 2j) + np.diag([0.5j, -1j, 2j])
    g = tp.grad(lambda a: tnp.sum(L.eigvalsh(a) ** 2))(t)
    assert np.all(np.triu(g, 1) == 0) and np.all(np.diag(g).imag == 0)
    # For a Hermitian input the gradient of sum(w^2) = ||A||_F^2 is 2 A, read on the triangle:
    # the diagonal once, each entry below it for itself and its mirror (2 conj(2 A) -> 4 A_ij
    # as a cotangent of the entry's real and imaginary parts).
    np.testing.assert_allclose(np.diag(g).real, 2 * np.diag(HERM).real)
    np.testing.assert_allclose(np.tril(g, -1), np.tril(4 * HERM.conj(), -1))


def test_eig_gradients_of_phase_free_quantities() -> None:
    """d w_k / dA = u_k v_k^T / (u_k^T v_k) with u_k a left eigenvector (a closed form)."""
    for a in (ROTATION, Z):
        w, v = np.linalg.eig(a)
        left = np.linalg.inv(v).T  # columns: left eigenvectors, u_k^T v_j = delta_kj
        for k in range(3):
            g = tp.grad(lambda x, k=k: tnp.real(L.eigvals(x)[k]))(a)
            expected = np.outer(left[:, k], v[:, k])  # Re w_k's cotangent: conj-free pairing
            np.testing.assert_allclose(g, expected.real if np.isrealobj(a) else expected)
    # A matrix function through eig equals the one through numpy, and so do its derivatives
    # (phase-free): V diag(exp(w)) V^-1 against the same built from eigh for a symmetric input.
    sym = SPD / 10

    def through_eig(x):
        w, v = L.eig(x)
        return tnp.real((v * tnp.exp(w)) @ L.inv(v))

    def through_eigh(x):
        w, v = L.eigh(x)
        return (v * tnp.exp(w)) @ v.T

    np.testing.assert_allclose(through_eig(sym), through_eigh(sym), rtol=1e-10)
    direction = np.triu(RNG.standard_normal((3, 3)))
    direction = direction + np.triu(direction, 1).T  # symmetric: both read the same matrix
    np.testing.assert_allclose(
        tp.jvp(through_eig, (sym,), (direction,))[1],
        tp.jvp(through_eigh, (sym,), (direction,))[1],
        rtol=1e-8,
        atol=1e-10,
    )


# lstsq read the rank with int(), which tp.vmap and tp.jit refuse.
_LSTSQ = [
    ("tall", (5, 3), (5,)),
    ("tall-2rhs", (5, 3), (5, 2)),
    ("square", (3, 3), (3,)),
    ("wide", (2, 4), (2,)),
]


@pytest.mark.parametrize("name,a_shape,b_shape", _LSTSQ, ids=[r[0] for r in _LSTSQ])
def test_lstsq_under_vmap_and_jit_matches_numpy(name, a_shape, b_shape):
    rng = np.random.default_rng(5)
    a = rng.standard_normal((3, *a_shape))
    b = rng.standard_normal((3, *b_shape))
    batched = tp.vmap(L.lstsq)(a, b)
    jitted = [tp.jit(L.lstsq)(a[i], b[i]) for i in range(3)]
    for i in range(3):
        want = np.linalg.lstsq(a[i], b[i])
        for got in ([out[i] for out in batched], jitted[i]):
            for g, w in zip(got, want, strict=True):
                assert np.shape(g) == np.shape(w)
                np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)
    loss = lambda a, b: tnp.sum(L.lstsq(a, b)[0] ** 2) + tnp.sum(L.lstsq(a, b)[1])  # noqa: E731
    per_example = tp.vmap(tp.grad(loss, argnums=(0, 1)))(a, b)
    for i in range(3):
        for g, w in zip(per_example, tp.grad(loss, argnums=(0, 1))(a[i], b[i]), strict=True):
            np.testing.assert_allclose(g[i], w, rtol=1e-10)
        jit_grads = tp.jit(tp.grad(loss, argnums=(0, 1)))(a[i], b[i])
        for g, w in zip(jit_grads, tp.grad(loss, argnums=(0, 1))(a[i], b[i]), strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-10)


def test_lstsq_rank_deficient_under_vmap_gives_nan_residuals():
    # numpy's residuals are empty for a rank-deficient matrix: a shape no batch can have,
    # so under vmap (and jit) that example's residuals are NaN, never a wrong number.
    a = np.random.default_rng(6).standard_normal((2, 4, 2))
    a[1, :, 1] = a[1, :, 0]
    b = np.ones((2, 4))
    residuals = tp.vmap(lambda a, b: L.lstsq(a, b)[1])(a, b)
    np.testing.assert_allclose(residuals[0], np.linalg.lstsq(a[0], b[0])[1])
    assert np.isnan(residuals[1]).all() and np.linalg.lstsq(a[1], b[1])[1].size == 0
    assert np.isnan(tp.jit(lambda a, b: L.lstsq(a, b)[1])(a[1], b[1])).all()


def test_lstsq_complex_residuals_are_squared_moduli():
    rng = np.random.default_rng(7)
    a = rng.standard_normal((5, 2)) + 1j * rng.standard_normal((5, 2))
    b = rng.standard_normal(5) + 1j * rng.standard_normal(5)
    got, want = L.lstsq(a, b)[1], np.linalg.lstsq(a, b)[1]
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-10)
