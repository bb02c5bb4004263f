"""What the linear-algebra primitives compute, on plain arrays: numpy.linalg, shaped for them.

The multi-output factorizations return plain tuples (``tapeflow.numpy.items`` splits
them); the public functions wrap the results in numpy's own named tuples, defined
here for older numpy. The checks refuse inputs the rules do not cover.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from tapeflow.numpy.meta import shape_of

__all__ = [
    "EigResult",
    "EighResult",
    "QRResult",
    "SlogdetResult",
    "SVDResult",
    "LinAlgError",
    "square_check",
    "np_slogdet_sign",
    "np_logabsdet",
    "np_eig",
    "np_eigh",
    "np_qr",
    "np_svd",
    "np_svdvals",
]

try:  # numpy >= 2.0 exposes its result types here; share them so isinstance works.
    from numpy.linalg._linalg import EighResult, EigResult, QRResult, SlogdetResult, SVDResult
except ImportError:  # pragma: no cover - older numpy

    class EigResult(NamedTuple):  # type: ignore[no-redef]
        eigenvalues: Any
        eigenvectors: Any

    class EighResult(NamedTuple):  # type: ignore[no-redef]
        eigenvalues: Any
        eigenvectors: Any

    class QRResult(NamedTuple):  # type: ignore[no-redef]
        Q: Any
        R: Any

    class SlogdetResult(NamedTuple):  # type: ignore[no-redef]
        sign: Any
        logabsdet: Any

    class SVDResult(NamedTuple):  # type: ignore[no-redef]
        U: Any
        S: Any
        Vh: Any


LinAlgError = np.linalg.LinAlgError


# ----- numpy.linalg, one result each ------------------------------------------------
def np_slogdet_sign(a: Any) -> Any:
    return np.linalg.slogdet(a)[0]


def np_logabsdet(a: Any) -> Any:
    return np.linalg.slogdet(a)[1]


def np_eig(a: Any) -> tuple[Any, Any]:
    w, v = np.linalg.eig(a)
    return (w, v)


def np_eigh(a: Any, UPLO: str = "L") -> tuple[Any, Any]:
    w, v = np.linalg.eigh(a, UPLO=UPLO)  # type: ignore[call-overload]
    return (w, v)


def np_qr(a: Any) -> tuple[Any, Any]:
    q, r = np.linalg.qr(a, mode="reduced")
    return (q, r)


def np_svd(a: Any) -> tuple[Any, Any, Any]:
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return (u, s, vh)


def np_svdvals(a: Any) -> Any:
    return np.linalg.svd(a, compute_uv=False)


# ----- inputs the rules cover ----------------------------------------------------------
def square_check(a: Any, name: str) -> None:
    s = shape_of(a)
    if len(s) < 2 or s[-1] != s[-2]:
        raise LinAlgError(
            f"{name}: last 2 dimensions of the array must be square, got shape {tuple(s)}"
        )
