"""``r_`` and ``c_``: joining pieces with index syntax, ``tnp.r_[a, 0:3, b]``.

numpy's ``np.r_`` and ``np.c_`` turn each piece into a plain array with ``np.array``
(no dispatch reaches tapeflow there), so traced pieces need these instead; numpy's
own objects fail with an error that names them. Built from ``concatenate``,
``reshape``, ``transpose`` and ``astype``, so the result is differentiable in every
traced piece (and, through ``linspace``, in traced slice bounds such as
``r_[0:x:5j]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.core.tracer import Tracer
from tapeflow.numpy.creation import linspace
from tapeflow.numpy.declare import register_replacement
from tapeflow.numpy.elementwise import astype
from tapeflow.numpy.joining import build_array, concatenate
from tapeflow.numpy.meta import dtype_of, shape_of
from tapeflow.numpy.shape import reshape, swapaxes, transpose

__all__ = ["r_", "c_"]


def _at_least(x: Any, ndmin: int) -> Any:
    shape = tuple(shape_of(x))
    return x if len(shape) >= ndmin else reshape(x, (1,) * (ndmin - len(shape)) + shape)


def _directive(item: str, axis: int, ndmin: int, trans1d: int) -> tuple[int, int, int]:
    """numpy's leading string: ``"axis"`` or ``"axis,ndmin[,trans1d]"``."""
    if item in ("r", "c"):
        raise NotImplementedError(
            f"tapeflow.numpy.r_/c_ do not build np.matrix objects (directive {item!r}); "
            "leave the directive out to get an array"
        )
    try:
        numbers = [int(v) for v in item.split(",")]
    except ValueError as err:
        raise ValueError(f"unknown special directive {item!r}") from err
    if len(numbers) == 1:
        return numbers[0], ndmin, trans1d
    if len(numbers) in (2, 3):
        return numbers[0], numbers[1], numbers[2] if len(numbers) == 3 else trans1d
    raise ValueError(f"unknown special directive {item!r}")


class _Joiner:
    """Index syntax for concatenation; subclasses set numpy's defaults for ``r_`` or ``c_``."""

    name = ""
    defaults = (0, 1, -1)  # axis, ndmin, trans1d

    def __repr__(self) -> str:
        return f"tapeflow.numpy.{self.name}"

    def __len__(self) -> int:
        return 0

    def _piece(self, item: Any, ndmin: int, trans1d: int) -> Any:
        if isinstance(item, slice):
            start = 0 if item.start is None else item.start
            step: Any = 1 if item.step is None else item.step
            if isinstance(step, (complex, np.complexfloating)):
                piece = linspace(start, item.stop, num=int(abs(complex(step))))
            else:
                piece = np.arange(start, item.stop, step)
            if ndmin > 1:
                piece = _at_least(piece, ndmin)
                if trans1d != -1:
                    piece = swapaxes(piece, -1, trans1d)
            return piece
        item_ndim = len(shape_of(item))
        piece = _at_least(build_array(item), ndmin)
        if trans1d != -1 and item_ndim < ndmin:
            # numpy's placement of the original axes among the new ones
            k2 = ndmin - item_ndim
            k1 = trans1d + k2 + 1 if trans1d < 0 else trans1d
            axes = list(range(ndmin))
            piece = transpose(piece, tuple(axes[:k1] + axes[k2:] + axes[k1:k2]))
        return piece

    def __getitem__(self, key: Any) -> Any:
        key = key if isinstance(key, tuple) else (key,)
        axis, ndmin, trans1d = self.defaults
        pieces, kinds = [], []
        for k, item in enumerate(key):
            if isinstance(item, str):
                if k != 0:
                    raise ValueError("special directives must be the first entry.")
                axis, ndmin, trans1d = _directive(item, axis, ndmin, trans1d)
                continue
            if type(item) in np.ScalarType:  # Python and numpy scalars: weak in the dtype
                pieces.append(_at_least(np.asarray(item), ndmin))
                kinds.append(item)
                continue
            piece = self._piece(item, ndmin, trans1d)
            pieces.append(piece)
            kinds.append(dtype_of(piece))
        if not pieces:
            raise ValueError("need at least one array to concatenate")
        dtype = np.result_type(*kinds)
        cast = [p if dtype_of(p) == dtype else astype(p, dtype) for p in pieces]
        if not any(type(p) is Tracer for p in cast):
            return np.concatenate(cast, axis=axis)
        return concatenate(cast, axis=axis)


class _RowJoiner(_Joiner):
    """Join pieces along the first axis with index syntax (numpy.r_), traced or not.

    Slices become ranges (``0:3``) or evenly spaced points (``0:1:5j``); a leading string
    sets the axis (``"1"``) or ``"axis,ndmin,trans1d"`` as in numpy.

    Example:
        >>> import tapeflow as tp
        >>> tp.grad(lambda x: r_[x, 0:2, 2 * x].sum())(np.ones(2))
        array([3., 3.])
    """

    name = "r_"
    defaults = (0, 1, -1)


class _ColumnJoiner(_Joiner):
    """Join pieces as columns with index syntax (numpy.c_), traced or not.

    Example:
        >>> c_[np.array([1.0, 2.0]), np.array([3.0, 4.0])]
        array([[1., 3.],
               [2., 4.]])
    """

    name = "c_"
    defaults = (-1, 2, 0)


r_ = _RowJoiner()
c_ = _ColumnJoiner()
register_replacement("numpy.r_", r_)
register_replacement("numpy.c_", c_)
