"""What the distributions share: arguments in one float dtype, parameter checks, guards."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.core.tracer import Tracer
from tapeflow.numpy.elementwise import astype, log, log1p, where
from tapeflow.numpy.meta import as_operand, dtype_of

__all__ = ["floats", "checked", "safe", "scalar", "refuse", "log_complement"]

_PY_NUMBERS = (bool, int, float)


def floats(name: str, *args: Any) -> list[Any]:
    """The arguments as arrays of one float dtype, promoted as numpy does.

    Python numbers are weak (``loc=0`` keeps float32 data float32), integers become
    float64, and complex arguments are refused: the distributions are real.
    """
    args = tuple(a if isinstance(a, _PY_NUMBERS) else as_operand(a) for a in args)
    for a in args:
        if not isinstance(a, _PY_NUMBERS) and dtype_of(a).kind not in "biufc":
            raise TypeError(f"scipy.stats.{name} takes real numbers, got an array of {dtype_of(a)}")
    dtype = np.result_type(*(a if isinstance(a, _PY_NUMBERS) else dtype_of(a) for a in args))
    if np.issubdtype(dtype, np.complexfloating):
        raise TypeError(f"scipy.stats.{name} takes real arguments, got {dtype}")
    if not np.issubdtype(dtype, np.floating):
        dtype = np.dtype(np.float64)
    out = []
    for a in args:
        if type(a) is Tracer:
            out.append(a if a.dtype == dtype else astype(a, dtype))
        else:
            out.append(np.asarray(a, dtype))
    return out


def safe(condition: Any, value: Any, fill: Any) -> Any:
    """``value`` where ``condition`` holds, else a harmless ``fill``.

    Computing a branch only on safe inputs keeps its gradient finite where ``where``
    discards it (0 times an infinite slope would be nan).
    """
    return where(condition, value, fill)


def checked(valid: Any, value: Any) -> Any:
    """``value`` where the parameters are valid, nan elsewhere (SciPy's convention)."""
    return scalar(where(valid, value, np.nan))


def scalar(value: Any) -> Any:
    """0-d results as numpy scalars, as SciPy returns them."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value[()]
    return value


def refuse(condition: Any, message: str) -> None:
    """Raise ``ValueError(message)`` where ``condition`` holds, if its values are known.

    Comparisons of traced arrays give plain arrays under ``grad`` and ``jvp``, so SciPy's
    checks on values run there; under ``jit`` and ``vmap`` the values are not known
    while tracing and the checks are skipped (the result is then nan or meaningless).
    """
    if isinstance(condition, (bool, np.bool_, np.ndarray)) and np.any(condition):
        raise ValueError(message)


def log_complement(p: Any, q: Any) -> Any:
    """``log(p)`` given ``p`` and its complement ``q = 1 - p``, each computed directly.

    Where ``p`` is near 1, ``log1p(-q)`` keeps the digits that ``log(p)`` rounds away.
    """
    return where(q < 0.5, log1p(-safe(q < 0.5, q, 0)), log(safe(q < 0.5, 1, p)))
