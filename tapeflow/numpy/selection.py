"""Entry-by-entry choices built on ``where``: select, nan_to_num, real_if_close; and the
predicates iscomplex and isreal.

The three functions are compositions of primitives (``where``, ``real``, ``imag``,
comparisons), so their derivatives and batching are those of the primitives:

* ``select``: each entry's gradient goes to the choice (or the default) it was taken
  from; the conditions have none.
* ``nan_to_num``: finite entries pass their gradient; replaced ones (NaN, infinities)
  get none. Complex input is treated part by part, as numpy does.
* ``real_if_close``: the real part when every imaginary part is negligible, else the
  input unchanged. It decides on values, so ``tp.jit`` refuses it with its clear error.
* ``iscomplex``/``isreal``: plain boolean arrays (no gradient).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.batching import to_front
from tapeflow.core.primitive import defbatch, nondifferentiable, primitive
from tapeflow.core.tracer import Tracer
from tapeflow.numpy.declare import register_numpy
from tapeflow.numpy.elementwise import astype, imag, isinf, isnan, real, where
from tapeflow.numpy.joining import build_array
from tapeflow.numpy.meta import dtype_of, is_complex, shape_of
from tapeflow.numpy.shape import broadcast_to

__all__ = ["select", "nan_to_num", "real_if_close", "iscomplex", "isreal"]


# ----- predicates: plain results -----------------------------------------------------
iscomplex = primitive(np.iscomplex, name="iscomplex", elementwise=True)
isreal = primitive(np.isreal, name="isreal", elementwise=True)
nondifferentiable(iscomplex)
nondifferentiable(isreal)


# ----- select ----------------------------------------------------------------------
def _cast(x: Any, dtype: Any) -> Any:
    if type(x) is Tracer:
        return x if dtype_of(x) == dtype else astype(x, dtype)
    return np.asarray(x, dtype=dtype)


def select(condlist: Any, choicelist: Any, default: Any = 0) -> Any:
    """Each entry from the choice of the first condition true there, else ``default``
    (numpy.select); differentiable in the choices and the default.

    Example:
        >>> x = np.array([-2.0, 0.5, 3.0])
        >>> select([x < 0, x < 1], [-x, x * 10])
        array([2., 5., 0.])
    """
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    if len(choicelist) == 0:
        raise ValueError("select with an empty condition list is not possible")
    conds = [build_array(c) for c in condlist]
    choices = [build_array(c) for c in choicelist]
    default = build_array(default) if type(default) is Tracer else default
    for i, cond in enumerate(conds):
        if dtype_of(cond) != np.bool_:
            raise TypeError(f"invalid entry {i} in condlist: should be boolean ndarray")
    # numpy's own rule for the result's dtype (a Python default does not promote), read
    # off 0-d stand-ins.
    probe_default = np.zeros((), dtype_of(default)) if type(default) is Tracer else default
    dtype = np.select(
        [np.zeros((), bool)] * len(choices),
        [np.zeros((), dtype_of(c)) for c in choices],
        probe_default,
    ).dtype
    shape = np.broadcast_shapes(*(shape_of(a) for a in (*conds, *choices, default)))
    result = _cast(default, dtype)
    for cond, choice in zip(conds[::-1], choices[::-1], strict=True):  # the first true wins
        result = where(cond, _cast(choice, dtype), result)
    return result if shape_of(result) == shape else broadcast_to(result, shape)


# ----- nan_to_num --------------------------------------------------------------------
def _replace_real(x: Any, nan: Any, posinf: Any, neginf: Any) -> Any:
    dtype = dtype_of(x)
    big = np.finfo(dtype).max
    pos = np.asarray(big if posinf is None else posinf, dtype)
    neg = np.asarray(-big if neginf is None else neginf, dtype)
    infinite = isinf(x)
    out = where(infinite & (x > 0), pos, where(infinite & (x < 0), neg, x))
    return where(isnan(x), np.asarray(nan, dtype), out)


def nan_to_num(
    x: Any, copy: bool = True, nan: float = 0.0, posinf: Any = None, neginf: Any = None
) -> Any:
    """NaN replaced by ``nan`` and infinities by ``posinf``/``neginf`` (by default the
    largest finite numbers), as numpy.nan_to_num; the replaced entries get no gradient.

    Example:
        >>> nan_to_num(np.array([np.nan, -np.inf, 1.5]), neginf=-9.0)
        array([ 0. , -9. ,  1.5])
    """
    x = build_array(x)
    kind = np.dtype(dtype_of(x)).kind
    if kind == "c":  # the real and imaginary parts separately, as numpy does
        parts = (_replace_real(part(x), nan, posinf, neginf) for part in (real, imag))
        re, im = parts
        return re + 1j * im
    if kind != "f":  # integers and booleans have nothing to replace
        return x
    return _replace_real(x, nan, posinf, neginf)


# ----- real_if_close ------------------------------------------------------------------
def _np_imag_negligible(a: Any, tol: float, axis: Any = None) -> Any:
    return np.all(np.abs(np.imag(a)) < tol, axis=axis)


_imag_negligible = primitive(_np_imag_negligible, name="imag_negligible")
nondifferentiable(_imag_negligible)


def _imag_negligible_batch(args: Any, dims: Any, tol: float, axis: Any = None) -> Any:
    # One decision for the whole batch: the examples' results must share a dtype.
    a = to_front(args[0], dims[0])
    each = _imag_negligible(a, tol=tol, axis=tuple(range(1, len(shape_of(a)))))
    if type(each) is not Tracer and 0 < int(np.sum(each)) < len(each):
        raise ValueError(
            "real_if_close under tp.vmap: some examples have negligible imaginary parts and "
            "others do not, so their results would have different dtypes; take tnp.real "
            "yourself where the imaginary parts are known to vanish"
        )
    return _imag_negligible(a, tol=tol), None


defbatch(_imag_negligible, _imag_negligible_batch)


def real_if_close(a: Any, tol: float = 100) -> Any:
    """The real part of complex ``a`` if every imaginary part is below ``tol`` (in units of
    the machine epsilon when ``tol > 1``), else ``a`` itself (numpy.real_if_close).

    The choice depends on values: the result's dtype does too, so ``tp.jit`` refuses
    it (``tnp.real`` states the intent where the imaginary parts are known to vanish).

    Example:
        >>> real_if_close(np.array([2.0 + 1e-15j, 1.0]))
        array([2., 1.])
    """
    a = build_array(a)
    if not is_complex(a):
        return a
    if tol > 1:
        tol = float(np.finfo(dtype_of(a)).eps) * tol
    return real(a) if bool(_imag_negligible(a, tol=tol)) else a


for _np_fun, _impl in (
    (np.select, select),
    (np.nan_to_num, nan_to_num),
    (np.real_if_close, real_if_close),
    (np.iscomplex, iscomplex),
    (np.isreal, isreal),
):
    register_numpy(_np_fun, _impl, sequences=_np_fun is np.select)
