"""Matrix rows of functions that call SciPy's kernels skip, with the reason shown, where
SciPy is not installed (CI installs it: there they all run)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


def needs_scipy(fun: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any) -> Any:
        pytest.importorskip("scipy", reason="this row calls SciPy's kernels (tapeflow[scipy])")
        return fun(*args)

    return run
