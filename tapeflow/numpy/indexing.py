"""Indexing: ``x[index]`` and its scatter-add transpose.

The VJP of ``getitem`` scatters the cotangent into zeros with ``np.add.at``
so that repeated integer indices accumulate, as they must.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.numpy._cotangent import dtype_of, shape_of
from tapeflow.primitive import defjvp, defvjp, primitive

__all__ = ["getitem", "scatter_add"]


def _unwrap_index(index: Any) -> Any:
    """Indices are static: tracers in an index become their values (no gradient)."""
    from tapeflow.tracer import Tracer, unwrap

    if type(index) is Tracer:
        return unwrap(index)
    if type(index) is tuple:
        return tuple(unwrap(i) if type(i) is Tracer else i for i in index)
    return index


def _np_getitem(x: Any, index: Any) -> Any:
    return x[index]


_getitem = primitive(_np_getitem, name="getitem")


def getitem(x: Any, index: Any) -> Any:
    """``x[index]`` for every kind of numpy index (slices, ints, arrays, masks)."""
    return _getitem(x, _unwrap_index(index))


def _np_scatter_add(g: Any, index: Any, shape: Any, dtype: Any) -> Any:
    out = np.zeros(shape, dtype)
    np.add.at(out, index, g)
    return out


scatter_add = primitive(_np_scatter_add, name="scatter_add")
defvjp(scatter_add, lambda ans, g, index, shape, dtype: lambda h: _getitem(h, index))
defjvp(scatter_add, lambda t, ans, g, index, shape, dtype: scatter_add(t, index, shape, dtype))

defvjp(_getitem, lambda ans, x, index: lambda g: scatter_add(g, index, shape_of(x), dtype_of(x)))
defjvp(_getitem, lambda t, ans, x, index: _getitem(t, index))
