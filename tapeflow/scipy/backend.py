"""SciPy, found when a function needs it: ``tapeflow[scipy]`` is an optional extra.

``import tapeflow`` never imports SciPy. The functions that call one of its kernels
(complex special functions, Bessel functions, the ``linalg`` factorizations and solvers,
``odeint``'s integrator) look it up here at the call, and without SciPy they raise an
ImportError that names the function and the extra to install.
"""

from __future__ import annotations

import importlib
import types

__all__ = ["scipy_module", "EXTRA_HINT"]

EXTRA_HINT = "install it with `pip install 'tapeflow[scipy]'` (or `pip install scipy`)"


def scipy_module(submodule: str, needed_by: str) -> types.ModuleType:
    """``scipy.<submodule>``, or an ImportError saying that ``needed_by`` needs SciPy.

    Example:
        >>> scipy_module("special", "this example").__name__
        'scipy.special'
    """
    try:
        return importlib.import_module(f"scipy.{submodule}")
    except ImportError as error:
        raise ImportError(
            f"{needed_by} calls SciPy's kernels, and SciPy is not installed: {EXTRA_HINT}"
        ) from error
