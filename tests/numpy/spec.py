"""The declarative primitive test matrix: one ``Case`` per primitive or function.

Each family module (``spec_elementwise.py``, ``spec_reductions.py``, ...) lists
``CASES``; ``test_matrix.py`` expands every case over its shapes and dtypes and
checks reverse and forward mode against finite differences. A registered
primitive that no case ``covers`` makes ``test_every_primitive_has_a_case`` fail.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import tapeflow.numpy as tnp


# ----- complex rows: complex values built inside real-in, real-out functions ----------
def complex_of(a, b):  # noqa: ANN001, ANN201
    """``a + ib`` from two real arguments (the matrix's inputs stay real)."""
    return a + 1j * b


def parts(z):  # noqa: ANN001, ANN201
    """A complex result as two real arrays (the matrix differentiates real outputs)."""
    return tnp.real(z), tnp.imag(z)


# ----- input domains: map a standard-normal draw into a safe region ----------
def real(z: np.ndarray) -> np.ndarray:
    """Anywhere on the real line (kept away from 0 for kinks at 0)."""
    return z + np.sign(z) * 0.3


def positive(z: np.ndarray) -> np.ndarray:
    """Strictly positive, away from 0."""
    return np.abs(z) + 0.5


def unit(z: np.ndarray) -> np.ndarray:
    """Inside (-0.9, 0.9): arcsin, arctanh, ..."""
    return 0.9 * np.tanh(z)


def above_one(z: np.ndarray) -> np.ndarray:
    """Greater than 1.2: arccosh."""
    return np.abs(z) + 1.2


def distinct(z: np.ndarray) -> np.ndarray:
    """Real, with entries far apart (no ties for max/min/sort)."""
    flat = np.arange(z.size, dtype=float)
    np.random.default_rng(7).shuffle(flat)
    return (flat.reshape(z.shape) * 0.37 + 0.1 * np.tanh(z)) if z.size else z


# ----- shapes ----------------------------------------------------------------
UNARY_SHAPES: tuple[tuple[tuple[int, ...], ...], ...] = (((),), ((3,),), ((2, 3),), ((2, 3, 4),))
BINARY_SHAPES: tuple[tuple[tuple[int, ...], ...], ...] = (
    ((), ()),
    ((3,), (3,)),
    ((2, 3), (2, 3)),
    ((2, 3), (3,)),
    ((1, 3), (3, 1)),
    ((2, 1, 4), (3, 1)),
    ((), (2, 3)),
)


@dataclass
class Case:
    """One row of the matrix.

    Attributes:
        name: test id.
        fun: the function under test; its positional args are the generated arrays.
        shapes: tuple of argument-shape tuples, one test per entry.
        domains: one domain function per argument (or a single one for all).
        covers: names of the registered primitives this row exercises.
        dtypes: float dtypes to test (float32 checks dtype preservation).
        order: highest derivative order checked.
        modes: ("rev",), ("fwd",) or both.
        atol, rtol: tolerance overrides (None = dtype default).
    """

    name: str
    fun: Callable[..., Any]
    shapes: Sequence[tuple[tuple[int, ...], ...]] = UNARY_SHAPES
    domains: Any = real
    covers: Sequence[str] = ()
    dtypes: Sequence[Any] = (np.float64, np.float32)
    order: int = 2
    modes: Sequence[str] = ("rev", "fwd")
    atol: float | None = None
    rtol: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def make_args(self, shapes: tuple[tuple[int, ...], ...], dtype: Any, seed: int = 0) -> tuple:
        rng = np.random.default_rng(seed)
        domains = (
            self.domains
            if isinstance(self.domains, (list, tuple))
            else [self.domains] * len(shapes)
        )
        return tuple(
            np.asarray(dom(rng.standard_normal(shape)), dtype=dtype)
            for dom, shape in zip(domains, shapes, strict=True)
        )
