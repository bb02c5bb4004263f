"""Primitives with several outputs: one small primitive picks an entry of the tuple.

``eigh``, ``qr``, ``svd`` and ``unravel`` are primitives returning a tuple;
:func:`items` splits it into one traced value per entry with ``result_item``, whose
VJP hands back a tuple with ``None`` (zero) for the other entries, so the rule of
the producing primitive only pays for the outputs that were used.
"""

from __future__ import annotations

from typing import Any

from tapeflow.core.primitive import defbatch, deflinear, primitive
from tapeflow.numpy.declare import array_arguments

__all__ = ["items", "result_item"]


def _np_result_item(result: Any, index: int, length: int) -> Any:
    return result[index]


result_item = primitive(_np_result_item, name="result_item")
array_arguments(result_item)  # the result is a tuple of separate arrays
deflinear(
    result_item,
    lambda g, ans, result, index, length: tuple(g if i == index else None for i in range(length)),
)
defbatch(
    result_item,
    lambda args, dims, index, length: (
        result_item(args[0], index=index, length=length),
        dims[0][index],
    ),
)


def items(result: Any, length: int) -> list[Any]:
    """The ``length`` entries of a tuple-valued primitive's ``result``, each traced on its own."""
    return [result_item(result, index=i, length=length) for i in range(length)]
