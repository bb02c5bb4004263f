"""Bessel functions on plain arrays: SciPy's kernels (the ``tapeflow[scipy]`` extra).

Inputs are computed in float64 (complex128 where SciPy takes complex arguments) and
returned in the inputs' dtype; an integer order does not make a float32 argument float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.scipy.backend import scipy_module
from tapeflow.scipy.kernels.common import as_float64, finish, float_dtype, is_complex_input

__all__ = ["bessel_kernel"]


def _result_dtype(args: tuple[Any, ...]) -> Any:
    # Orders are often integers (arrays of int too): they do not decide the float width.
    floats = [a for a in args if not np.issubdtype(np.result_type(a), np.integer)]
    return float_dtype(*floats) if floats else np.dtype(np.float64)


def bessel_kernel(name: str, takes_complex: bool) -> Any:
    """The numpy function of ``scipy.special.<name>``; its last argument may be complex
    when ``takes_complex``."""

    def kernel(*args: Any) -> Any:
        special = scipy_module("special", f"tapeflow.scipy.special.{name}")
        dtype = _result_dtype(args)
        *orders, z = args
        wide = [as_float64(v, name) for v in orders]
        if takes_complex and is_complex_input(z):
            zw = np.asarray(z, np.complex128)
        else:
            zw = as_float64(z, name)
        return finish(getattr(special, name)(*wide, zw), dtype)

    kernel.__name__ = f"np_{name}"
    return kernel
