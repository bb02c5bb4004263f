"""tapeflow.scipy.linalg against SciPy's own results, under vmap, and its errors.

The derivatives are checked by the matrix (tests/numpy/spec_scipy_linalg.py); here every
function's value must equal SciPy's on real, complex, float32 and stacked input, a batch
under ``vmap`` must equal a loop, and missing SciPy must be named with the extra.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
import tapeflow.scipy.linalg as sla

sl = pytest.importorskip("scipy.linalg", reason="SciPy is the reference for these values")

RNG = np.random.default_rng(3)


def _matrix(n: int, dtype: type = np.float64) -> np.ndarray:
    m = RNG.standard_normal((n, n))
    if np.issubdtype(dtype, np.complexfloating):
        m = m + 1j * RNG.standard_normal((n, n))
    return (m + 2.0 * np.eye(n)).astype(dtype)


def _hermitian(n: int, dtype: type = np.float64) -> np.ndarray:
    m = _matrix(n, dtype)
    return (m @ m.conj().T + n * np.eye(n)).astype(dtype)


def _rhs(shape: tuple[int, ...], dtype: type = np.float64) -> np.ndarray:
    b = RNG.standard_normal(shape)
    if np.issubdtype(dtype, np.complexfloating):
        b = b + 1j * RNG.standard_normal(shape)
    return b.astype(dtype)


def _band(lower: int, upper: int, n: int, dtype: type) -> np.ndarray:
    ab = _rhs((lower + upper + 1, n), dtype)
    ab[upper] += 4.0
    return ab


# (name, call, inputs): ``call(module, *inputs)`` runs with tapeflow's module and SciPy's.
def _rows(dtype: type) -> list[tuple[str, Any, tuple[np.ndarray, ...]]]:
    tri, spd, sq = np.triu(_matrix(4, dtype)), _hermitian(4, dtype), _matrix(4, dtype)
    b, bm = _rhs((4,), dtype), _rhs((4, 3), dtype)
    rows: list[tuple[str, Any, tuple[np.ndarray, ...]]] = []
    for kw in ({}, {"trans": "T"}, {"trans": 2}, {"lower": True, "unit_diagonal": True}):
        a = tri.T.copy() if kw.get("lower") else tri
        rows.append(
            (
                f"solve_triangular{kw}",
                lambda m, a, b, kw=kw: m.solve_triangular(a, b, **kw),
                (a, bm),
            )
        )
    for low in (False, True):
        rows.append((f"cho_factor-{low}", lambda m, a, low=low: m.cho_factor(a, low)[0], (spd,)))
        rows.append(
            (
                f"cho_solve-{low}",
                lambda m, a, b, low=low: m.cho_solve(m.cho_factor(a, low), b),
                (spd, b),
            )
        )
    rows.append(("lu_factor.lu", lambda m, a: m.lu_factor(a)[0], (sq,)))
    rows.append(("lu_factor.piv", lambda m, a: m.lu_factor(a)[1], (sq,)))
    for t in (0, 1, 2):
        rows.append(
            (
                f"lu_solve-trans{t}",
                lambda m, a, b, t=t: m.lu_solve(m.lu_factor(a), b, trans=t),
                (sq, bm),
            )
        )
    rows.append(("expm", lambda m, a: m.expm(a), (0.5 * sq,)))
    rows.append(("sqrtm", lambda m, a: m.sqrtm(a), (spd,)))
    sylvester = (sq, _matrix(3, dtype), _rhs((4, 3), dtype))
    rows.append(("solve_sylvester", lambda m, *abq: m.solve_sylvester(*abq), sylvester))
    for lu, rhs in (((1, 1), (6,)), ((2, 0), (6, 2)), ((0, 3), (6,))):
        banded = (_band(*lu, 6, dtype), _rhs(rhs, dtype))
        rows.append(
            (f"solve_banded{lu}", lambda m, ab, b, lu=lu: m.solve_banded(lu, ab, b), banded)
        )
    return rows


_DTYPES = (np.float64, np.complex128, np.float32, np.complex64)
_PARAMS = [
    pytest.param(row, dtype, id=f"{row[0]}-{np.dtype(dtype).name}")
    for dtype in _DTYPES
    for row in _rows(dtype)
]


@pytest.mark.parametrize("row,dtype", _PARAMS)
def test_values_match_scipy(row, dtype) -> None:
    _, call, args = row
    got, expected = call(sla, *args), call(sl, *args)
    single = np.dtype(dtype) in (np.float32, np.complex64)
    tol = 2e-4 if single else 1e-11
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)
    if np.issubdtype(np.result_type(got), np.inexact):
        # float32 stays float32, complex stays complex (as SciPy's own results).
        assert np.result_type(got) == np.result_type(expected)


def test_sqrtm_of_a_real_matrix_with_a_negative_eigenvalue_is_complex() -> None:
    a = np.array([[-1.0, 0.2], [0.0, 2.0]])
    np.testing.assert_allclose(sla.sqrtm(a), sl.sqrtm(a), atol=1e-14)
    x, err = sla.sqrtm(_hermitian(3), disp=False)
    assert err < 1e-12
    # Its gradient in the real input is real (the cotangent of a real primal).
    g = tp.grad(lambda a: tnp.real(tnp.sum(sla.sqrtm(a))))(a)
    assert g.dtype == np.float64


def test_stacks_are_solved_matrix_by_matrix() -> None:
    a = np.stack([np.triu(_matrix(3)) for _ in range(4)]).reshape(2, 2, 3, 3)
    b = _rhs((2, 1, 3, 2))
    expected = np.array(
        [[sl.solve_triangular(a[i, j], b[i, 0]) for j in range(2)] for i in range(2)]
    )
    np.testing.assert_allclose(sla.solve_triangular(a, b), expected, rtol=1e-12)
    lu, piv = sla.lu_factor(a)
    assert piv.shape == (2, 2, 3)
    np.testing.assert_allclose(lu[1, 0], sl.lu_factor(a[1, 0])[0])
    np.testing.assert_allclose(sla.expm(a)[0, 1], sl.expm(a[0, 1]), rtol=1e-12)


_BATCHED = [
    ("solve_triangular", lambda a, b: sla.solve_triangular(a, b, lower=True), True),
    ("cho_solve", lambda a, b: sla.cho_solve(sla.cho_factor(a @ a.T + 3 * np.eye(3)), b), False),
    ("lu_solve", lambda a, b: sla.lu_solve(sla.lu_factor(a), b), False),
    ("expm", lambda a, b: sla.expm(0.3 * a) @ b, False),
    ("sqrtm", lambda a, b: sla.sqrtm(a @ a.T + 3 * np.eye(3)) @ b, False),
    ("sylvester", lambda a, b: sla.solve_sylvester(a, a.T + 4 * np.eye(3), b[:, None] + a), False),
    ("solve_banded", lambda a, b: sla.solve_banded((1, 1), a, b), False),
]


@pytest.mark.parametrize("name,fun,lower", _BATCHED, ids=[r[0] for r in _BATCHED])
def test_vmap_equals_a_loop(name, fun, lower) -> None:
    a = np.stack([_matrix(3) for _ in range(4)])
    a = np.tril(a) if lower else a
    if name == "solve_banded":
        a[:, 1] += 4.0  # the main diagonal of the band
    b = _rhs((4, 3))
    batched = tp.vmap(fun)(a, b)
    np.testing.assert_allclose(batched, np.stack([fun(a[i], b[i]) for i in range(4)]), rtol=1e-11)
    # A batch of gradients too: the rules of the batched primitive.
    loss = lambda a, b: tnp.sum(fun(a, b) ** 2)  # noqa: E731
    grads = tp.vmap(tp.grad(loss, argnums=(0, 1)))(a, b)
    for i in range(4):
        for got, expected in zip(grads, tp.grad(loss, argnums=(0, 1))(a[i], b[i]), strict=True):
            np.testing.assert_allclose(got[i], expected, rtol=1e-9, atol=1e-12)
    # One matrix shared by the batch (not batched) against batched right-hand sides.
    shared = tp.vmap(lambda b: fun(a[0], b))(b)
    np.testing.assert_allclose(shared, np.stack([fun(a[0], b[i]) for i in range(4)]), rtol=1e-11)


def test_lists_are_taken_as_scipy_takes_them() -> None:
    a, b = [[4.0, 2.0], [2.0, 5.0]], [6.0, 7.0]
    np.testing.assert_allclose(sla.cho_solve(sla.cho_factor(a), b), [1.0, 1.0])
    np.testing.assert_allclose(sla.lu_solve(sla.lu_factor(a), b), [1.0, 1.0])
    np.testing.assert_allclose(sla.solve_triangular(a, b), sl.solve_triangular(a, b))
    np.testing.assert_allclose(sla.expm(a), sl.expm(a))


def test_solve_triangular_reads_one_triangle() -> None:
    a = np.triu(_matrix(3)) + np.tril(RNG.standard_normal((3, 3)), -1) * 100
    g = tp.grad(lambda a: tnp.sum(sla.solve_triangular(a, np.ones(3))))(a)
    assert np.all(np.tril(g, -1) == 0)
    g = tp.grad(lambda a: tnp.sum(sla.solve_triangular(a, np.ones(3), unit_diagonal=True)))(a)
    assert np.all(np.diag(g) == 0)


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: sla.solve_triangular(np.eye(2), np.ones(2), trans="X"), ValueError, "trans"),
        (lambda: sla.lu_solve(sla.lu_factor(np.eye(2)), np.ones(2), trans=5), ValueError, "trans"),
        (lambda: sla.solve_banded((1, 1), np.ones((2, 4)), np.ones(4)), ValueError, "rows"),
        (
            lambda: tp.grad(lambda a: tnp.sum(sla.lu_factor(a)[0]))(np.arange(6.0).reshape(3, 2)),
            NotImplementedError,
            "square",
        ),
        (
            lambda: tp.jvp(lambda a: sla.lu_factor(a)[0], (np.eye(3, 2),), (np.ones((3, 2)),)),
            NotImplementedError,
            "square",
        ),
    ],
)
def test_errors_name_the_problem(call, error, match: str) -> None:
    with pytest.raises(error, match=match):
        call()


def test_without_scipy_the_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "scipy.linalg", None)  # import scipy.linalg fails
    for call in (
        lambda: sla.solve_triangular(np.eye(2), np.ones(2)),
        lambda: sla.lu_factor(np.eye(2)),
        lambda: sla.expm(np.eye(2)),
        lambda: sla.sqrtm(np.eye(2)),
        lambda: sla.solve_sylvester(np.eye(2), np.eye(2), np.eye(2)),
        lambda: sla.solve_banded((0, 0), np.ones((1, 2)), np.ones(2)),
    ):
        with pytest.raises(ImportError, match=r"tapeflow\[scipy\]"):
            call()
    # cho_factor is numpy's Cholesky: it never needs SciPy.
    np.testing.assert_allclose(sla.cho_factor(np.eye(2) * 4)[0], 2 * np.eye(2))


def test_importing_needs_no_scipy() -> None:
    code = (
        "import sys; sys.modules['scipy'] = None\n"
        "import numpy as np, tapeflow\n"
        "from tapeflow.scipy import linalg, integrate\n"
        "try:\n"
        "    linalg.expm(np.eye(2))\n"
        "except ImportError as e:\n"
        "    assert 'tapeflow[scipy]' in str(e)\n"
        "else:\n"
        "    raise AssertionError('expm ran without SciPy')\n"
        "assert 'scipy' not in [m.split('.')[0] for m in sys.modules if sys.modules[m]]\n"
    )
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


def test_solve_sylvester_of_real_a_and_b_with_a_complex_q() -> None:
    # SciPy solves this case in a's real Schur form and returns a wrong answer; tapeflow
    # solves it in the common complex dtype (found by the mixed real/complex matrix rows).
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 2)) + 3 * np.eye(2)
    b = rng.standard_normal((2, 2)) + 2 * np.eye(2)
    q = rng.standard_normal((2, 2)) + 1j * rng.standard_normal((2, 2))
    x = sla.solve_sylvester(a, b, q)
    np.testing.assert_allclose(a @ x + x @ b, q, atol=1e-12)
    loss = lambda q: tnp.sum(tnp.real(sla.solve_sylvester(a, b, q) * (0.6 + 0.8j)))  # noqa: E731
    tp.check_grads(loss, (q,), order=2, modes=("rev", "fwd"))
