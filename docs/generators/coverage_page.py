"""Generate docs/coverage.md, the table of what tapeflow can differentiate.

Run ``python -m docs.generators.coverage_page`` after adding a primitive or a numpy
function; ``tests/test_coverage_table.py`` fails while the file is stale.

The table is computed from the registries, never written by hand:

* every builtin primitive (``registered_primitives(builtin_only=True)``) with
  whether it has VJP rules, JVP rules and a ``vmap`` batching rule;
* every numpy function, ufunc and ufunc method reachable from traced arrays
  through ``NUMPY_DISPATCH`` (plus ``ufunc.outer`` of every registered binary
  ufunc), and every ndarray method of traced arrays.

A numpy function whose implementation is a wrapper (``numpy.dot`` calls
``matmul`` or ``tensordot``) is resolved by reading which tapeflow primitives
its code refers to, following tapeflow helper functions a few levels deep; it
has a VJP (JVP) when every primitive it reaches has one.
"""

from __future__ import annotations

import argparse
import dis
import functools
import importlib
import sys
import types
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["build_table", "main", "NOTES", "default_path"]

# Conventions worth knowing, by primitive or function name (shown in the notes column).
NOTES: dict[str, str] = {
    # ties
    "max": "ties split the gradient equally; initial= and where= (with initial=)",
    "min": "ties split the gradient equally; initial= and where= (with initial=)",
    "amax": "ties split the gradient equally; initial= and where= (with initial=)",
    "amin": "ties split the gradient equally; initial= and where= (with initial=)",
    "maximum": "ties split the gradient equally between the arguments",
    "minimum": "ties split the gradient equally between the arguments",
    "fmax": "ties split equally; a NaN argument gets no gradient",
    "fmin": "ties split equally; a NaN argument gets no gradient",
    "nanmax": "NaNs ignored; ties split equally; initial=, where=",
    "nanmin": "NaNs ignored; ties split equally; initial=, where=",
    "nansum": "NaNs ignored; initial=, where=",
    "nanmean": "NaNs ignored; where=",
    "ptp": "ties split equally at both ends",
    "sort": "among ties the gradient goes to the entry the sort put in that place",
    "select": "gradient to the choice (or default) each entry came from; none to conditions",
    "nan_to_num": "replaced entries (NaN, infinities) get no gradient",
    "real_if_close": "decides on values: tp.jit refuses it; vmap decides once per batch",
    "polyval": "differentiable in the coefficients and the points",
    "r_": "numpy's np.r_ converts traced pieces with np.array: use tnp.r_[...]",
    "c_": "numpy's np.c_ converts traced pieces with np.array: use tnp.c_[...]",
    "unique": "each value's gradient goes to its first occurrence; index outputs plain",
    "median": "gradient to the middle element(s) of the sort",
    "percentile": "gradient to the order statistics interpolated between",
    "quantile": "gradient to the order statistics interpolated between",
    "at_max": "ties (between x and the values) split the gradient equally",
    "at_min": "ties (between x and the values) split the gradient equally",
    # kinks
    "absolute": "derivative 0 at 0; complex: conj(z)/|z|",
    "abs": "derivative 0 at 0; complex: conj(z)/|z|",
    "clip": "gradient to a on the closed interval [a_min, a_max], else to the bound returned",
    "relu": "derivative 0 at 0",
    "norm": "gradient 0 at the zero vector/matrix",
    "sqrt": "x >= 0; infinite derivative at 0",
    "cbrt": "infinite derivative at 0",
    "hypot": "gradient 0 at the origin",
    "sinc": "derivative 0 at 0; second derivative exact only away from 0",
    "copysign": "differentiable in the first argument only (0 at 0)",
    "fabs": "derivative 0 at 0",
    "power": "d/dx uses x**(y-1) (no division by x); d/dy is 0 where x == 0 (2nd order: y >= 2)",
    "mod": "d/dx = 1, d/dy = -floor(x / y); undefined at the jumps",
    "fmod": "undefined at the jumps",
    "remainder": "undefined at the jumps",
    # domains
    "log": "x > 0",
    "log2": "x > 0",
    "log10": "x > 0",
    "log1p": "x > -1",
    "arcsin": "|x| < 1",
    "arccos": "|x| < 1",
    "arctanh": "|x| < 1",
    "arccosh": "x > 1",
    "reciprocal": "x != 0",
    "true_divide": "divisor != 0",
    "divide": "divisor != 0",
    "logit": "0 < p < 1",
    "gammaln": "x > 0 away from poles",
    "digamma": "away from poles",
    "xlogy": "0 where x == 0",
    "xlog1py": "0 where x == 0",
    "entr": "x > 0 (infinite derivative at 0)",
    "erfcx": "each derivative from its own kernel (asymptotic series for x >= 10)",
    "i0e": "derivatives from the asymptotic series for |x| >= 30",
    "i1e": "derivatives from the asymptotic series for |x| >= 32",
    "ive": "derivatives from the asymptotic series for real |x| >= 30 + 2 v^2",
    "betaln": "slopes psi(b) - psi(a + b) without cancellation when a << b",
    "beta": "mixed second derivative: relative accuracy about eps / min(a, b) near 0",
    "log_ndtr": "second derivative accurate in both tails (0, not nan, for x >= 38)",
    # numerically stable forms
    "logsumexp": "numerically stable (shifted by the max)",
    "log_softmax": "numerically stable; second derivatives to absolute accuracy eps",
    "softmax": "numerically stable; derivatives to absolute accuracy eps",
    "logaddexp": "numerically stable",
    "logaddexp2": "numerically stable",
    # products and reductions
    "sum": "initial=, where=",
    "mean": "where=",
    "prod": "zero-safe (no division by x); initial=, where=",
    "cumprod": "zero-safe",
    "var": "ddof, where=, mean=, correction= supported; complex input: mean(|d|^2), real",
    "std": (
        "ddof, where=, mean=, correction= supported; gradient 0 where the variance is 0 "
        "(one value, equal values)"
    ),
    "pad": "every numpy mode ('empty' pads zeros); statistic modes via max, min, mean, median",
    # linear algebra
    "inv": "nonsingular input",
    "solve": "nonsingular a; vector or matrix right-hand sides, batched",
    "det": "nonsingular input (gradient det(a) * inv(a).T)",
    "slogdet": "nonsingular input; sign: no gradient (real), det/|det| differentiable (complex)",
    "sign": "no gradient for real input; complex: z/|z|, differentiable (0 at 0)",
    "cholesky": "symmetric positive definite input; reads one triangle, as numpy",
    "eigh": "eigenvectors need distinct eigenvalues (else inf/nan); reads one triangle; "
    "complex: phase-free derivative",
    "svd": "full_matrices=False; U and Vh need distinct nonzero singular values; complex: "
    "phase-free derivative",
    "eig": "distinct eigenvalues; real output when numpy gives one; eigenvectors: "
    "phase-free derivative (v_k^H dv_k = 0)",
    "eigvals": "distinct eigenvalues (gradient V^-T diag(g) V^T)",
    "qr": "reduced mode, M >= N, full column rank",
    "pinv": "constant rank near the input",
    "lstsq": "constant (full) rank near the input; under jit/vmap NaN residuals if rank-deficient",
    # indexing and updates
    "getitem": "repeated integer indices accumulate (scatter-add)",
    "take": "repeated indices accumulate",
    "take_along_axis": "repeated indices accumulate",
    "at_set": "repeated indices: the last write wins and gets the gradient",
    "at_add": "repeated indices accumulate",
    "at_multiply": "gradient in the values needs unique indices",
    "where": "no gradient for the condition",
    "array": "only with like=traced (NEP 35); np.array(traced) raises: use tnp.array",
    "asarray": "only with like=traced (NEP 35); np.asarray(traced) raises: use tnp.asarray",
    "copy": "traced arrays are immutable: the copy is the array itself (identity)",
    "interp": "differentiable in x and fp (and xp where defined)",
    "real": "complex input: the real part",
    "imag": "complex input: cotangent -i g",
    "conj": "cotangent conj(g)",
    "angle": "constant (zero gradient) for real input",
    # numpy.fft and scipy.signal
    "fft.rfft": "transpose: fft of the zero-padded cotangent, real part",
    "fft.irfft": "odd and even n; the imaginary parts numpy ignores (zero and Nyquist "
    "frequencies) get no gradient",
    "numpy.fft.fftfreq": "no array argument, so numpy never dispatches it: tnp.fft.fftfreq; "
    "differentiable in d",
    "numpy.fft.rfftfreq": "no array argument, so numpy never dispatches it: tnp.fft.rfftfreq; "
    "differentiable in d",
    "scipy.signal.convolve": "N-d, modes full/same/valid; method direct or fft (numpy only)",
    "scipy.signal.correlate": "convolve with the reversed conjugate of in2",
    **{
        f"scipy.stats.poisson.{name}": "k is discrete: no gradient (as floor); differentiable in mu"
        for name in ("logpmf", "pmf", "cdf", "logcdf", "sf", "logsf")
    },
    "scipy.stats.multivariate_normal.logpdf": "cov reads its lower triangle (Cholesky); "
    "allow_singular=False",
    **{
        f"scipy.stats.multivariate_normal.{name}": "Genz's method on a fixed lattice (maxpts "
        "points, default 2**14): smooth and deterministic, absolute error of the order of "
        "1e-5; exact in 1-d"
        for name in ("cdf", "logcdf")
    },
    "scipy.stats.multivariate_normal.pdf": "cov reads its lower triangle (Cholesky)",
    "scipy.stats.dirichlet.logpdf": "components on the first axis of x, as in SciPy",
    "scipy.stats.dirichlet.pdf": "components on the first axis of x, as in SciPy",
    # scipy.linalg and scipy.integrate (SciPy's kernels, the tapeflow[scipy] extra)
    "scipy.linalg.solve_triangular": "reads one triangle (no diagonal if unit_diagonal); "
    "trans 0/1/2; stacks broadcast",
    "scipy.linalg.cho_factor": "numpy's Cholesky (no SciPy needed); the other triangle is a's",
    "scipy.linalg.cho_solve": "two triangular solves",
    "scipy.linalg.lu_factor": "square matrices; pivots fixed (integers, no gradient)",
    "scipy.linalg.lu_solve": "a row permutation and two triangular solves",
    "scipy.linalg.expm": "derivative: the Frechet derivative, an expm of a 2n x 2n block",
    "scipy.linalg.sqrtm": "no eigenvalue 0; complex result for negative real eigenvalues",
    "scipy.linalg.solve_sylvester": "a and -b without a common eigenvalue",
    "scipy.linalg.solve_banded": "cotangent lands on the band only",
    "scipy.integrate.odeint": "adjoint method (reverse) and sensitivities (forward), in y0, t "
    "and float args; real systems; vmap integrates the batch as one system",
}
_ZERO_NOTE = "no gradient (integer, boolean or piecewise-constant output)"
_PLAIN = "<plain>"  # marks implementations that only read shapes/dtypes
_PLAIN_NOTE = "returns a plain value (shape, dtype or constant): no gradient, no primitive"


def default_path() -> Path:
    """docs/coverage.md (this generator lives in docs/generators/)."""
    return Path(__file__).resolve().parent.parent / "coverage.md"


def _load_registries() -> None:
    import tapeflow  # noqa: F401  (declares every builtin primitive)


# ----- which primitives does an implementation reach? ----------------------------
def _bound_primitive(obj: Any) -> Any:
    from tapeflow.core.primitive import Primitive

    prim = getattr(obj, "primitive", None)
    return prim if isinstance(prim, Primitive) else None


# Python operators in a wrapper's code, and the primitive each one calls on arrays.
_OPERATORS = {
    "+": "add",
    "-": "subtract",
    "*": "multiply",
    "/": "true_divide",
    "**": "power",
    "@": "matmul",
    "//": "floor_divide",
    "%": "mod",
}


# Methods of Python's containers, which a wrapper calls on lists and tuples (``.append``,
# ``.index``): never read as the tapeflow.numpy functions of the same name.
_CONTAINER_METHODS = frozenset(
    name for kind in (list, tuple, dict, set, str) for name in dir(kind) if not name.startswith("_")
)


class _Operator:
    """A primitive reached through a Python operator (``a + b``, ``a[i]``): it may act on
    plain shapes and indices, so it only counts when nothing else is called."""

    __slots__ = ("fn",)

    def __init__(self, fn: Any) -> None:
        self.fn = fn


def _referenced(fn: types.FunctionType) -> Iterable[Any]:
    """What ``fn``'s code may call: globals, imports, closure cells, attribute names
    (``x.sum()``, ``_tnp().trace(...)``, resolved in ``tapeflow.numpy``) and operators."""
    import tapeflow.numpy as tnp
    from tapeflow.core.primitive import registered_primitives

    registry = registered_primitives(builtin_only=True)
    namespace = fn.__globals__
    cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=False))

    def walk(code: types.CodeType) -> Iterable[Any]:
        module_name = None
        foreign_module = False  # the value on the stack is a non-tapeflow module (np.)
        for ins in dis.get_instructions(code):
            op, arg = ins.opname, ins.argval
            after_foreign, foreign_module = foreign_module, False
            if op == "IMPORT_NAME":
                module_name = arg
            elif op == "IMPORT_FROM" and module_name:
                try:
                    yield getattr(importlib.import_module(module_name), arg)
                except (ImportError, AttributeError):
                    pass
            elif op == "LOAD_CONST" and isinstance(arg, str) and arg in registry:
                yield registry[arg].bind  # _bind("name") / _REGISTRY["name"] patterns
            elif op in ("LOAD_GLOBAL", "LOAD_NAME", "LOAD_DEREF"):
                if op == "LOAD_DEREF" and arg in cells:
                    try:
                        value = cells[arg].cell_contents
                    except ValueError:
                        continue
                    if isinstance(value, str):
                        if value in registry:
                            yield registry[value].bind
                        continue
                elif arg in namespace:
                    value = namespace[arg]
                else:
                    continue
                if isinstance(value, types.ModuleType):
                    foreign_module = not value.__name__.startswith("tapeflow")
                    if not foreign_module:
                        yield from (getattr(value, a, None) for a in _attrs_after(code, ins))
                    continue
                yield value
            elif op in ("LOAD_ATTR", "LOAD_METHOD") and not after_foreign:
                if arg in _CONTAINER_METHODS:
                    continue  # parts.append(...) is list's method, not tnp.append
                value = getattr(tnp, arg, None)
                if value is not None:
                    yield value
            elif op == "BINARY_OP":
                name = _OPERATORS.get(ins.argrepr.rstrip("="))
                if name is not None:
                    yield _Operator(getattr(tnp, name, None))
            elif op == "BINARY_SUBSCR":
                yield _Operator(getattr(tnp, "getitem", None))
            elif op == "UNARY_NEGATIVE":
                yield _Operator(getattr(tnp, "negative", None))
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                yield from walk(const)

    yield from walk(fn.__code__)


def _attrs_after(code: types.CodeType, load: Any) -> Iterable[str]:
    """The attribute read right after loading a tapeflow module (``tnp.sum``)."""
    found = False
    for ins in dis.get_instructions(code):
        if found:
            if ins.opname in ("LOAD_ATTR", "LOAD_METHOD"):
                yield ins.argval
            return
        found = ins.offset == load.offset


def _reached(impl: Any, builtin: dict[str, Any], depth: int = 4) -> set[str]:
    """Names of the builtin primitives ``impl`` calls, directly or through tapeflow helpers."""
    import tapeflow.numpy as tnp

    found: set[str] = set()
    by_operator: set[str] = set()
    seen: set[int] = set()

    def visit(obj: Any, level: int) -> None:
        if type(obj) is _Operator:
            if obj.fn is not None and id(obj.fn) not in seen:
                by_operator.update(_reached(obj.fn, builtin, level))
            return
        if id(obj) in seen:
            return
        seen.add(id(obj))
        prim = _bound_primitive(obj)
        if prim is not None:
            if prim.name in builtin:
                found.add(prim.name)
            return
        target = getattr(obj, "tapeflow_target", None)
        if isinstance(target, str):
            resolved = getattr(tnp, target, None) or _scipy_special(target)
            if resolved is not None:
                visit(resolved, level)
            return
        if isinstance(obj, functools.partial):
            visit(obj.func, level)
            return
        if level <= 0 or not isinstance(obj, types.FunctionType):
            return
        if not (obj.__module__ or "").startswith("tapeflow") or obj in _INPUT_HELPERS:
            return
        for value in _referenced(obj):
            if type(value) is _Operator or (value is not None and callable(value)):
                visit(value, level - 1)

    visit(impl, depth)
    return found or by_operator


def _input_helpers() -> frozenset[Any]:
    """Helpers that only turn an argument into an array (a list of traced values is
    stacked): not part of what a function computes, so not followed."""
    from tapeflow.numpy import meta

    return frozenset({meta.as_operand, meta.shape_of, meta.dtype_of})


_INPUT_HELPERS = _input_helpers()


def _scipy_special(name: str) -> Any:
    try:
        from tapeflow.scipy import special
    except ImportError:
        return None
    return getattr(special, name, None)


# ----- rule status ----------------------------------------------------------------------
def _has_rules(prim: Any, kind: str) -> bool:
    from tapeflow.core.primitive import MISSING_RULE

    if kind == "jvp" and prim.jvp_joint is not None:
        return True
    rules = prim.vjps if kind == "vjp" else prim.jvps
    rest = prim.vjp_rest if kind == "vjp" else prim.jvp_rest
    return any(r is not None for r in rules) or (rest is not None and rest is not MISSING_RULE)


def _status(names: set[str], prims: dict[str, Any], kind: str) -> str:
    if not names:
        return "n/a"
    live = [prims[n] for n in names if not prims[n].zero_gradient]
    if not live:
        return "zero"
    return "yes" if all(_has_rules(p, kind) for p in live) else "no"


def _batching(names: set[str], prims: dict[str, Any]) -> str:
    if not names:
        return "n/a"
    from tapeflow.batching import has_batch_rule

    return "yes" if all(has_batch_rule(prims[n]) for n in names) else "no"


def _note(*keys: str, zero: bool = False) -> str:
    for key in keys:
        if key in NOTES:
            return NOTES[key]
    return _ZERO_NOTE if zero else ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


# ----- the table ---------------------------------------------------------------------
def _numpy_rows(prims: dict[str, Any]) -> list[tuple[str, str, set[str]]]:
    """(numpy name, tapeflow implementation, primitives reached) for every dispatch entry."""
    from tapeflow.numpy.declare import NUMPY_DISPATCH, qualified_name
    from tapeflow.numpy.dispatch import _make_outer, outer_ufuncs

    rows = []
    for key, impl in list(NUMPY_DISPATCH.items()):
        if not (getattr(impl, "__module__", "") or "").startswith("tapeflow"):
            continue  # registered by user code, not part of tapeflow
        prim = _bound_primitive(impl)
        if prim is not None and prim.name not in prims:
            continue
        impl_name = prim.name if prim is not None else getattr(impl, "__name__", repr(impl))
        reached = _reached(impl, prims)
        if not reached and isinstance(getattr(impl, "tapeflow_target", None), str):
            continue  # a ufunc method whose tapeflow function does not exist (yet)
        if getattr(impl, "tapeflow_plain", False):
            impl_name, reached = _PLAIN, set()
        rows.append((qualified_name(key), impl_name, reached))
    for ufunc in outer_ufuncs():
        if (ufunc, "outer") in NUMPY_DISPATCH:
            continue
        impl = NUMPY_DISPATCH[ufunc]
        if not (getattr(impl, "__module__", "") or "").startswith("tapeflow"):
            continue
        # ufunc.outer reshapes one argument and calls the ufunc's own implementation.
        reached = _reached(impl, prims) | _reached(_make_outer(ufunc), prims)
        rows.append((f"numpy.{ufunc.__name__}.outer", f"{ufunc.__name__}_outer", reached))
    return sorted(rows + _fft_rows(prims))


def _special_rows(prims: dict[str, Any]) -> list[tuple[str, str, set[str]]]:
    """Public functions of ``tapeflow.scipy.special`` (when the module exists)."""
    try:
        from tapeflow.scipy import special
    except ImportError:
        return []
    rows = []
    for name in sorted(getattr(special, "__all__", [])):
        fn = getattr(special, name, None)
        reached = _reached(fn, prims) if callable(fn) else set()
        if reached:
            rows.append((f"scipy.special.{name}", name, reached))
    return rows


def _replacement_rows(prims: dict[str, Any]) -> list[tuple[str, str, set[str]]]:
    """numpy objects that traced arrays must not reach, and tapeflow.numpy's stand-ins."""
    from tapeflow.numpy.declare import REPLACEMENTS

    rows = []
    for numpy_name, obj in sorted(REPLACEMENTS.items()):
        short = numpy_name.rsplit(".", 1)[-1]
        rows.append((f"tapeflow.numpy.{short}", short, _reached(type(obj).__getitem__, prims)))
    return rows


# The other SciPy-mirroring modules, one section each: (module, how users spell it).
_SCIPY_SECTIONS = (
    ("tapeflow.scipy.linalg", "scipy.linalg"),
    ("tapeflow.scipy.integrate", "scipy.integrate"),
    ("tapeflow.scipy.signal", "scipy.signal"),
    ("tapeflow.scipy.stats", "scipy.stats"),
)


def _module_rows(prims: dict[str, Any], module_name: str, spelled: str) -> list[Any]:
    """Public functions of a module, and of the submodules in its ``__all__`` (stats.norm)."""
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return []
    rows = []
    for name in sorted(getattr(module, "__all__", [])):
        obj = getattr(module, name, None)
        if isinstance(obj, types.ModuleType):
            rows += _module_rows(prims, obj.__name__, f"{spelled}.{name}")
            continue
        reached = _reached(obj, prims) if callable(obj) else set()
        if reached:
            rows.append((f"{spelled}.{name}", name, reached))
    return rows


def _fft_rows(prims: dict[str, Any]) -> list[tuple[str, str, set[str]]]:
    """``tnp.fft`` functions that numpy never dispatches (no array argument: fftfreq)."""
    import numpy as np

    from tapeflow.numpy import fft
    from tapeflow.numpy.declare import NUMPY_DISPATCH

    return [
        (f"numpy.fft.{name}", name, _reached(getattr(fft, name), prims))
        for name in fft.__all__
        if getattr(np.fft, name, None) not in NUMPY_DISPATCH
    ]


def _method_rows(prims: dict[str, Any]) -> list[tuple[str, str, set[str]]]:
    from tapeflow.numpy.declare import METHODS

    rows = []
    for method, fn in sorted(METHODS.items()):
        if method == "at":
            at_names: tuple[str, ...] = ("at_set", "at_add", "at_multiply", "at_min", "at_max")
            reached = {n for n in at_names if n in prims}
        else:
            reached = _reached(fn, prims)
        if reached:
            rows.append((f"x.{method}", fn.__name__, reached))
    return rows


_CONVENTIONS = """\
## Conventions

- **Ties** (max, min, maximum, minimum, sort-like functions): the gradient is split
  equally among the tied entries.
- **Kinks**: `abs` and `sign`-like functions have derivative 0 at 0; `clip` passes the
  gradient to its input on the closed interval and to the bound returned outside it.
- **Zero gradient**: functions with integer, boolean or piecewise-constant outputs
  (comparisons, `argmax`, `floor`, `round`, `sign`, `isnan`, ...) return plain arrays and
  carry no gradient ("zero" below); they never raise.
- **Domains**: inputs are expected inside the function's domain (`log` of x > 0, ...);
  outside it the value and gradient are numpy's (nan/inf).
- **Complex numbers** (JAX's convention). For a real loss L of z = x + iy,
  `tp.grad(L)(z)` is dL/dx - i dL/dy (twice the Wirtinger derivative dL/dz), so
  `tp.grad(lambda z: abs(z) ** 2)(z) == 2 * conj(z)` and gradient descent steps along
  `-conj(grad)`. For holomorphic f, `tp.grad(f, holomorphic=True)(z)` is f'(z).
  `vjp` applies the transpose (not the conjugate transpose) of the derivative; `jvp` is
  the ordinary directional derivative.
- **Eigenvectors and singular vectors** (`linalg.eig`, complex `eigh`, complex `svd`):
  each is fixed only up to a factor of modulus one (a sign for a real one), which LAPACK
  picks by a rule of its own. tapeflow differentiates phase-free vectors: along every
  direction, `v_k^H dv_k = 0` (for `svd`, `V`'s columns keep their phases and `U`'s
  follow). Derivatives of quantities that do not read a phase (`abs(v)`, `v v^H`,
  `V diag(f(w)) V^-1`, `U diag(s) V^H`) are exact; one that reads a phase
  (`v[0, k].real`) follows this gauge, not LAPACK's, and finite differences disagree.
- **dtypes**: float16, float32, float64, complex64 and complex128 are supported; the
  gradient always has its input's dtype (float16 computes as numpy does).
- **Not supported**: any numpy function missing from this page raises
  `TypeError: tapeflow cannot differentiate numpy.<name> yet` when called on a traced
  array; `out=` arguments and in-place updates raise an error pointing to `x.at[idx]`.
"""


def build_table() -> str:
    """The full text of docs/coverage.md for the primitives registered right now."""
    from tapeflow.batching import has_batch_rule
    from tapeflow.core.primitive import registered_primitives

    _load_registries()
    prims = registered_primitives(builtin_only=True)
    numpy_rows = _numpy_rows(prims)
    special_rows = _special_rows(prims)
    replacement_rows = _replacement_rows(prims)
    scipy_sections = [(t, _module_rows(prims, m, t)) for m, t in _SCIPY_SECTIONS]
    scipy_rows = [row for _, rows in scipy_sections for row in rows]
    method_rows = _method_rows(prims)

    def both(rows: list[tuple[str, str, set[str]]]) -> int:
        return sum(
            1
            for _, _, r in rows
            if _status(r, prims, "vjp") == "yes" and _status(r, prims, "jvp") == "yes"
        )

    prim_both = sum(
        1
        for p in prims.values()
        if not p.zero_gradient and _has_rules(p, "vjp") and _has_rules(p, "jvp")
    )
    lines = [
        "# What tapeflow can differentiate",
        "",
        "<!-- Generated by `python -m docs.generators.coverage_page` from the registries; "
        "do not edit. -->",
        "",
        f"- {len(prims)} builtin primitives, {prim_both} of them with both VJP and JVP rules "
        f"({sum(p.zero_gradient for p in prims.values())} without gradient by design).",
        f"- {len(numpy_rows)} numpy functions, ufuncs and ufunc methods dispatch to tapeflow on "
        f"traced arrays ({both(numpy_rows)} with VJP and JVP).",
        f"- {len(special_rows)} `tapeflow.scipy.special` functions ({both(special_rows)} with VJP "
        "and JVP).",
        f"- {len(scipy_rows)} `tapeflow.scipy.linalg`, `integrate`, `signal` and `stats` functions "
        f"({both(scipy_rows)} with VJP and JVP).",
        f"- {len(method_rows)} ndarray methods and attributes of traced arrays "
        f"({both(method_rows)} with VJP and JVP).",
        f"- In all, {both(numpy_rows) + both(special_rows) + both(scipy_rows) + both(method_rows)} "
        "numpy / scipy functions, ufunc methods and ndarray methods with both VJP and JVP.",
        "",
        "Columns: **VJP** / **JVP**: reverse / forward-mode rules (`zero`: no gradient by "
        "design); **batching**: a `vmap` rule (`no` means vmap falls back to a loop or is "
        "unsupported); **via**: the primitives a numpy function's implementation calls, read "
        "statically from its code (a function has a VJP/JVP when all of them do).",
        "",
        _CONVENTIONS,
        "## numpy functions (`np.f(traced)`)",
        "",
        "| numpy | VJP | JVP | batching | via | notes |",
        "|---|---|---|---|---|---|",
    ]
    for name, impl_name, reached in numpy_rows:
        short = name.rsplit(".", 1)[-1]
        zero = _status(reached, prims, "vjp") == "zero"
        if impl_name == _PLAIN:
            lines.append(f"| `{name}` | zero | zero | n/a |  | {_PLAIN_NOTE} |")
            continue
        lines.append(
            f"| `{name}` | {_status(reached, prims, 'vjp')} | {_status(reached, prims, 'jvp')} "
            f"| {_batching(reached, prims)} | {_cell(', '.join(sorted(reached)))} "
            f"| {_cell(_note(name, short, impl_name, zero=zero))} |"
        )
    if special_rows:
        lines += [
            "",
            "## `tapeflow.scipy.special`",
            "",
            "| function | VJP | JVP | batching | via | notes |",
            "|---|---|---|---|---|---|",
        ]
    for name, impl_name, reached in special_rows:
        lines.append(
            f"| `{name}` | {_status(reached, prims, 'vjp')} | {_status(reached, prims, 'jvp')} "
            f"| {_batching(reached, prims)} | {_cell(', '.join(sorted(reached)))} "
            f"| {_cell(_note(impl_name))} |"
        )
    if replacement_rows:
        lines += [
            "",
            "## numpy objects with a tapeflow.numpy stand-in (`tnp.r_[...]`)",
            "",
            "numpy's own objects convert traced arrays with `np.array`, which fails (naming",
            "the stand-in); use these instead.",
            "",
            "| object | VJP | JVP | batching | via | notes |",
            "|---|---|---|---|---|---|",
        ]
    for name, short, reached in replacement_rows:
        lines.append(
            f"| `{name}` | {_status(reached, prims, 'vjp')} | {_status(reached, prims, 'jvp')} "
            f"| {_batching(reached, prims)} | {_cell(', '.join(sorted(reached)))} "
            f"| {_cell(_note(short))} |"
        )
    for title, rows in scipy_sections:
        if not rows:
            continue
        lines += [
            "",
            f"## `tapeflow.{title}`",
            "",
            "| function | VJP | JVP | batching | via | notes |",
            "|---|---|---|---|---|---|",
        ]
        for name, _, reached in rows:
            lines.append(
                f"| `{name}` | {_status(reached, prims, 'vjp')} "
                f"| {_status(reached, prims, 'jvp')} | {_batching(reached, prims)} "
                f"| {_cell(', '.join(sorted(reached)))} | {_cell(_note(name))} |"
            )
    lines += [
        "",
        "## ndarray methods of traced arrays",
        "",
        "| method | VJP | JVP | batching | via |",
        "|---|---|---|---|---|",
    ]
    for name, _, reached in method_rows:
        lines.append(
            f"| `{name}` | {_status(reached, prims, 'vjp')} | {_status(reached, prims, 'jvp')} "
            f"| {_batching(reached, prims)} | {_cell(', '.join(sorted(reached)))} |"
        )
    lines += [
        "",
        "## Primitives",
        "",
        "| primitive | VJP | JVP | batching | notes |",
        "|---|---|---|---|---|",
    ]
    for name in sorted(prims):
        p = prims[name]
        if p.zero_gradient:
            vjp = jvp = "zero"
        else:
            vjp = "yes" if _has_rules(p, "vjp") else "no"
            jvp = "yes" if _has_rules(p, "jvp") else "no"
        batch = "yes" if has_batch_rule(p) else "no"
        note = _note(name, name.rsplit(".", 1)[-1], zero=p.zero_gradient)
        lines.append(f"| `{name}` | {vjp} | {jvp} | {batch} | {_cell(note)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` verify) docs/coverage.md; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m docs.generators.coverage_page", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--output", type=Path, default=default_path(), help="where to write")
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    args = parser.parse_args(argv)
    text = build_table()
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(
                f"{args.output} is stale; run python -m docs.generators.coverage_page",
                file=sys.stderr,
            )
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
