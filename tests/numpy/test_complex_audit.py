"""Every differentiable primitive of tapeflow.numpy on complex input.

A rule written apart from the value it differentiates (``cos`` for ``sin``, a transpose
for a linear map) can be right on real numbers and wrong on complex ones. Each row here
runs one primitive on complex input and checks

* the value, traced, against numpy's on the plain arrays (same dtype, same numbers);
* both derivative modes against finite differences, through the real and imaginary
  parts of the inputs and of the result (``parts(f(a + ib))`` as a function of the real
  ``a`` and ``b``): this checks the complex derivative whole, holomorphic or not;

or, for a primitive that numpy refuses complex input to, that tapeflow raises numpy's
own ``TypeError`` (no derivative on a complex number is ever computed there). A
primitive without a gradient must be right to have none on complex input too (a boolean
or integer result, or one constant between steps). A test fails when a primitive of
tapeflow.numpy has no row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow.core.primitive import registered_primitives
from tapeflow.numpy.diagonals import diagonal_scatter
from tapeflow.numpy.indexing import IndexHole, _getitem_traced, _scatter_add_traced
from tapeflow.numpy.joining import unravel_pieces
from tapeflow.numpy.reductions import linear_scan
from tapeflow.numpy.sorting import permute_along_axis


@dataclass
class Row:
    """``fun`` on complex arrays of ``shapes`` (numpy functions dispatch to tapeflow on
    traced input; ``ref`` computes the value with numpy alone when ``fun`` cannot)."""

    covers: str
    fun: Callable[..., Any]
    shapes: tuple[tuple[int, ...], ...] = ((3,),)
    ref: Callable[..., Any] | None = None
    shift: complex = 0.0  # moves the inputs off a branch cut or a pole
    real_args: tuple[int, ...] = ()  # arguments that stay real
    name: str = ""

    @property
    def id(self) -> str:
        return self.name or self.covers


def _complex_inputs(row: Row, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    out = []
    for i, shape in enumerate(row.shapes):
        a = rng.standard_normal(shape)
        if i in row.real_args:
            out.append(a + np.sign(a) * 0.3)
        else:
            out.append(0.6 * (a + 1j * rng.standard_normal(shape)) + row.shift)
    return tuple(out)


def _parts(out: Any) -> tuple[Any, ...]:
    leaves = tp.tree_util.tree_leaves(out)
    return tuple(p for leaf in leaves for p in (tnp.real(leaf), tnp.imag(leaf)))


def _unary(name: str, shift: complex = 0.0) -> Row:
    return Row(name, getattr(np, name), shift=shift)


def _binary(name: str, shift: complex = 0.0) -> Row:
    return Row(name, getattr(np, name), ((2, 3), (3,)), shift=shift)


_ROWS = np.array([2, 0, 2])
_HOLO = np.array([[1.5 + 0.5j, 0.2 - 0.1j, 0.0], [0.3j, 2.0 - 0.4j, 0.1], [0.1, -0.2j, 1.2]])

ROWS = [
    # elementwise, one argument (rules written as separate derivative formulas)
    *[
        _unary(n)
        for n in (
            "negative",
            "positive",
            "conjugate",
            "real",
            "imag",
            "absolute",
            "angle",
            "exp",
            "exp2",
            "expm1",
            "sin",
            "cos",
            "tan",
            "sinh",
            "cosh",
            "tanh",
            "arcsinh",
            "arctan",
            "square",
            "sinc",
        )
    ],  # fmt: skip
    # the principal branches' cuts lie on the real axis (from -inf to 0, or out of [-1, 1]):
    # shifted into the right half-plane or the unit strip, away from them
    *[_unary(n, shift=2.0) for n in ("sqrt", "log", "log2", "log10", "reciprocal")],
    _unary("log1p", shift=1.0),
    _unary("arccosh", shift=2.5),
    *[Row(n, getattr(np, n), shift=0.5j) for n in ("arcsin", "arccos", "arctanh")],
    # elementwise, two arguments (broadcasting)
    *[_binary(n) for n in ("add", "subtract", "multiply")],
    _binary("divide", shift=1.5),
    Row("power", np.power, ((2, 3), (3,)), shift=1.5),
    Row("power", lambda z: z**3, name="power-int"),
    Row("power", lambda x, z: np.power(x, z), ((3,), (3,)), real_args=(0,), name="power-real-base"),
    Row("float_power", np.float_power, ((3,), (3,)), shift=1.5),
    Row("where", lambda z, w: np.where(np.real(z) > 0, z, w), ((3,), (3,))),
    # ordered the lexicographic way numpy orders complex numbers: a selection
    *[_binary(n) for n in ("maximum", "minimum", "fmax", "fmin")],
    Row("clip", lambda z, lo, hi: np.clip(z, lo, hi), ((4,), (4,), (4,)), name="clip"),
    Row("astype", lambda x: x.astype(complex) * (1 - 2j), real_args=(0,), name="astype-to-complex"),
    # reductions and scans
    Row("sum", lambda z: np.sum(z, axis=0), ((2, 3),)),
    Row("mean", lambda z: np.mean(z, axis=1), ((2, 3),)),
    Row("prod", lambda z: np.prod(z, axis=1), ((2, 3),)),
    Row("prod", lambda z: np.prod(z * np.array([1, 0, 1])), ((3,),), name="prod-with-zero"),
    Row("max", lambda z: np.max(z, axis=1), ((2, 3),)),
    Row("min", lambda z: np.min(z), ((2, 3),)),
    Row("cumsum", lambda z: np.cumsum(z, axis=1), ((2, 3),)),
    Row("cumprod", lambda z: np.cumprod(z, axis=1), ((2, 3),)),
    Row(
        "logsumexp",
        lambda z: tnp.logsumexp(z, axis=1),
        ((2, 3),),
        ref=lambda z: np.log(np.sum(np.exp(z), axis=1)),
    ),
    Row(
        "linear_scan",
        lambda a, b: linear_scan(a, b, axis=0),
        ((4, 2), (4, 2)),
        ref=lambda a, b: np.stack(
            [sum(np.prod(a[j + 1 : k + 1], 0) * b[j] for j in range(k + 1)) for k in range(4)]
        ),
    ),
    # shapes, joining, indexing
    Row("reshape", lambda z: np.reshape(z, (3, 2)), ((2, 3),)),
    Row("transpose", lambda z: np.transpose(z), ((2, 3),)),
    Row("broadcast_to", lambda z: np.broadcast_to(z, (2, 3)), ((3,),)),
    Row("flip", lambda z: np.flip(z, 1), ((2, 3),)),
    Row("roll", lambda z: np.roll(z, 1, axis=1), ((2, 3),)),
    Row("pad", lambda z: np.pad(z, 1), ((2, 3),)),
    Row("concatenate", lambda z, w: np.concatenate([z, w]), ((3,), (2,))),
    Row(
        "unravel",
        lambda z: unravel_pieces(z, ((0, 2), (2, 6)), ((2,), (2, 2))),
        ((6,),),
        ref=lambda z: (z[:2], z[2:].reshape(2, 2)),
    ),
    Row("getitem", lambda z: z[1:, ::-1][:, [0, 0, 2]], ((3, 3),)),
    Row(
        "getitem_traced",
        lambda z: _getitem_traced(z, _ROWS, template=IndexHole(0)),
        ref=lambda z: z[_ROWS],
    ),
    Row(
        "scatter_add",
        lambda g: tnp.scatter_add(g, ([0, 1, 0],), (3,), g.dtype),
        ref=lambda g: np.array([g[0] + g[2], g[1], 0]),
    ),
    Row(
        "scatter_add_traced",
        lambda g: _scatter_add_traced(g, _ROWS, template=IndexHole(0), shape=(4,), dtype=g.dtype),
        ref=lambda g: np.array([g[1], 0, g[0] + g[2], 0]),
    ),
    Row("diagonal", lambda z: np.diagonal(z, 1), ((3, 4),)),
    Row("diagonal_scatter", lambda d: diagonal_scatter(d, (3, 3)), ((3,),), ref=np.diag),
    Row(
        "at_set",
        lambda z, v: tnp.at(z)[1:].set(v),
        ((3,), (2,)),
        ref=lambda z, v: np.concatenate([z[:1], v]),
    ),
    Row(
        "at_add",
        lambda z, v: tnp.at(z)[[0, 0]].add(v),
        ((3,), (2,)),
        ref=lambda z, v: z + np.array([v.sum(), 0, 0]),
    ),
    Row(
        "at_multiply",
        lambda z, v: tnp.at(z)[1:].multiply(v),
        ((3,), (2,)),
        ref=lambda z, v: z * np.concatenate([[1], v]),
    ),
    Row(
        "at_max",
        lambda z, v: tnp.at(z)[1:].max(v),
        ((3,), (2,)),
        ref=lambda z, v: np.concatenate([z[:1], np.maximum(z[1:], v)]),
    ),
    Row(
        "at_min",
        lambda z, v: tnp.at(z)[1:].min(v),
        ((3,), (2,)),
        ref=lambda z, v: np.concatenate([z[:1], np.minimum(z[1:], v)]),
    ),
    Row("permute_along_axis", lambda z: np.sort(z, axis=-1), ((2, 3),)),
    Row(
        "permute_along_axis",
        lambda z: permute_along_axis(z, np.array([2, 0, 1])),
        ref=lambda z: z[[2, 0, 1]],
        name="permute",
    ),
    # products
    Row("matmul", np.matmul, ((2, 3), (3, 2))),
    Row("einsum", lambda z, w: np.einsum("ij,jk->ik", z, w), ((2, 3), (3, 2))),
    Row("convolve", np.convolve, ((4,), (3,))),
    Row("convolve", np.correlate, ((4,), (3,)), name="correlate"),
    # linalg
    Row("linalg.inv", lambda z: np.linalg.inv(z + _HOLO), ((3, 3),)),
    Row("linalg.solve", lambda z, b: np.linalg.solve(z + _HOLO, b), ((3, 3), (3,))),
    Row("linalg.det", lambda z: np.linalg.det(z + _HOLO), ((3, 3),)),
    Row("linalg.cholesky", lambda z: np.linalg.cholesky(z @ z.conj().T + np.eye(3)), ((3, 3),)),
    Row("linalg.eig", lambda z: np.linalg.eigvals(z + _HOLO), ((3, 3),), name="linalg.eig-values"),
    Row("linalg.eigvals", lambda z: np.linalg.eigvals(z + _HOLO), ((3, 3),)),
    Row("linalg.eigh", lambda z: np.linalg.eigh(z @ z.conj().T)[0], ((3, 3),)),
    Row("linalg.eigvalsh", lambda z: np.linalg.eigvalsh(z @ z.conj().T), ((3, 3),)),
    Row("linalg.svdvals", lambda z: np.linalg.svd(z, compute_uv=False), ((3, 2),)),
    Row("linalg.svd", lambda z: np.abs(np.linalg.svd(z, full_matrices=False)[0]) ** 2, ((3, 2),)),
    Row("linalg.qr", lambda z: np.linalg.qr(z), ((4, 3),)),
    Row("linalg.pinv", lambda z: np.linalg.pinv(z), ((3, 4),)),
    Row("linalg.logabsdet", lambda z: np.linalg.slogdet(z + _HOLO)[1], ((3, 3),)),
    Row("linalg.slogdet_phase", lambda z: np.linalg.slogdet(z + _HOLO)[0], ((2, 3, 3),)),
    Row("result_item", lambda z: np.linalg.eig(z + _HOLO)[0], ((3, 3),)),
    # FFTs
    Row("fft.fftn", lambda z: np.fft.fft2(z), ((2, 3),)),
    Row("fft.ifftn", lambda z: np.fft.ifft(z, n=4), ((3,),)),
    Row("fft.rfft", lambda x: np.fft.rfft(x, n=5), ((4,),), real_args=(0,)),
    Row("fft.irfft", lambda z: np.fft.irfft(z, n=5), ((3,),)),
]

# numpy refuses complex input to these: tapeflow raises numpy's TypeError, before any
# derivative could be wrong.
NUMPY_REFUSES = [
    "arctan2", "hypot", "copysign", "fmod", "remainder", "logaddexp", "logaddexp2",
    "deg2rad", "rad2deg", "cbrt", "fabs",
]  # fmt: skip


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_value_matches_numpy_on_complex_input(row: Row) -> None:
    args = _complex_inputs(row)
    want = (row.ref or row.fun)(*args)
    got = tp.vjp(lambda *a: row.fun(*a), *args)[0]
    for g, w in zip(tp.tree_util.tree_leaves(got), tp.tree_util.tree_leaves(want), strict=True):
        assert np.result_type(g) == np.result_type(w), row.id
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_derivatives_on_complex_input_match_finite_differences(row: Row) -> None:
    args = _complex_inputs(row)
    complex_at = [i for i in range(len(args)) if i not in row.real_args]

    def through_parts(*reals: np.ndarray) -> tuple[Any, ...]:
        it = iter(reals)
        full = [next(it) + 1j * next(it) if i in complex_at else next(it) for i in range(len(args))]
        return _parts(row.fun(*full))

    reals = [p for i, a in enumerate(args) for p in ((a.real, a.imag) if i in complex_at else (a,))]
    tp.check_grads(through_parts, reals, order=1, modes=("rev", "fwd"))


@pytest.mark.parametrize("name", NUMPY_REFUSES)
def test_numpy_refuses_complex_and_so_does_tapeflow(name: str) -> None:
    z = _complex_inputs(Row(name, np.add, ((3,), (3,))))
    fun = getattr(np, name)
    with pytest.raises(TypeError):
        fun(*z)
    with pytest.raises(TypeError):
        tp.vjp(lambda a, b: fun(a, b), *z)


# ----- primitives without a gradient
# On complex input, each must still be right to carry none. (name, function of a complex
# array, what makes it so): "refuses": numpy raises TypeError for complex input;
# "discrete": the result is boolean or integer; "steps": the result is piecewise
# constant in the real and imaginary parts (moving every input a little changes nothing).
_Z = np.array([0.31 + 1.2j, -1.7 - 0.45j, 2.2 + 0.0j, -0.6 + 2.6j])


def _pair(name: str) -> Callable[..., Any]:
    fun = getattr(np, name)
    return lambda z: fun(z, z[::-1])


ZERO_GRADIENT = [
    *[(n, getattr(np, n), "refuses") for n in ("floor", "ceil", "trunc", "fix", "signbit")],
    ("floor_divide", lambda z: np.floor_divide(z, 2.0), "refuses"),
    ("heaviside", lambda z: np.heaviside(z, 0.5), "refuses"),
    *[
        (n, getattr(np, n), "discrete")
        for n in (
            "isnan",
            "isinf",
            "isfinite",
            "logical_not",
            "iscomplex",
            "isreal",
            "argsort",
            "all",
            "any",
            "argmax",
            "argmin",
            "count_nonzero",
        )
    ],  # fmt: skip
    *[
        (n, _pair(n), "discrete")
        for n in (
            "equal",
            "not_equal",
            "less",
            "less_equal",
            "greater",
            "greater_equal",
            "logical_and",
            "logical_or",
            "logical_xor",
            "isclose",
            "allclose",
            "array_equal",
        )
    ],  # fmt: skip
    ("argpartition", lambda z: np.argpartition(z, 1), "discrete"),
    ("searchsorted", lambda z: np.searchsorted(np.sort(z), z), "discrete"),
    ("unique", lambda z: np.unique(z, return_index=True)[1], "discrete"),
    ("imag_negligible", lambda z: np.real_if_close(z).dtype.kind == "c", "discrete"),
    ("linalg.matrix_rank", lambda z: np.linalg.matrix_rank(np.outer(z, z)), "discrete"),
    ("rint", np.rint, "steps"),
    ("round", lambda z: np.round(z, 1), "steps"),
    # numpy's sign of a complex number is z / |z|, which moves: tnp.sign computes that with
    # differentiable operations (test below), and the primitive only sees real input
    ("sign", lambda z: np.sign(z.real), "steps"),
    # slogdet's sign of a complex matrix is linalg.slogdet_phase (a row above)
    ("linalg.slogdet_sign", lambda z: np.linalg.slogdet(np.diag(z.real))[0], "steps"),
]


@pytest.mark.parametrize("name,fun,kind", ZERO_GRADIENT, ids=[r[0] for r in ZERO_GRADIENT])
def test_primitives_without_gradient_are_right_to_have_none_on_complex_input(
    name: str, fun: Callable[..., Any], kind: str
) -> None:
    if kind == "refuses":
        with pytest.raises(TypeError):
            fun(_Z)
        with pytest.raises(TypeError):
            tp.vjp(fun, _Z)
        return
    got = tp.vjp(fun, _Z)[0]
    np.testing.assert_array_equal(got, fun(_Z))
    if kind == "discrete":
        assert np.result_type(got).kind in "biu"
    else:
        for step in (1e-7, 1e-7j):
            np.testing.assert_array_equal(fun(_Z + step), got)


def test_complex_sign_moves_with_its_input() -> None:
    # numpy's sign(z) = z / |z| turns with the phase of z: never the zero gradient of the
    # real sign's steps.
    z = _Z[:2]
    g = tp.grad(lambda z: tnp.sum(tnp.real(np.sign(z) * (1 - 2j))))(z)
    assert np.all(np.abs(g) > 0.1)
    tp.check_grads(
        lambda a, b: _parts(np.sign(a + 1j * b)), (z.real, z.imag), order=2, modes=("rev", "fwd")
    )
    np.testing.assert_allclose(tp.vjp(np.sign, _Z)[0], np.sign(_Z), rtol=1e-15)


def test_every_numpy_primitive_is_audited() -> None:
    audited = {r.covers for r in ROWS} | set(NUMPY_REFUSES) | {name for name, _, _ in ZERO_GRADIENT}
    missing = sorted(
        name
        for name, prim in registered_primitives(builtin_only=True).items()
        if prim.declared_in.startswith("tapeflow.numpy") and name not in audited
    )
    assert not missing, f"primitives of tapeflow.numpy never checked on complex input: {missing}"
