"""Matrix rows for the index primitives used when tp.jit traces an index array."""

import numpy as np

from tapeflow.numpy.indexing import IndexHole, _getitem_traced, _scatter_add_traced
from tests.numpy.spec import Case

ROWS = np.array([2, 0, 2])

CASES = [
    Case(
        "getitem_traced",
        lambda x: _getitem_traced(x, ROWS, template=IndexHole(0)),
        (((3, 4),), ((3,),)),
        covers=["getitem_traced"],
    ),
    Case(
        "getitem_traced-tuple",
        lambda x: _getitem_traced(x, ROWS, template=(slice(None), IndexHole(0))),
        (((2, 3),),),
        covers=["getitem_traced"],
    ),
    Case(
        "scatter_add_traced",
        lambda g: _scatter_add_traced(g, ROWS, template=IndexHole(0), shape=(4,), dtype=g.dtype),
        (((3,),),),
        covers=["scatter_add_traced"],
    ),
]
