"""Matrix rows for tapeflow/numpy/indexing.py: every kind of index, take, take_along_axis."""

import numpy as np

import tapeflow.numpy as tnp
from tapeflow.core.tracer import unwrap
from tests.numpy.spec import Case, distinct

X3 = (((3, 4),),)
X345 = (((3, 4, 5),),)
# A fixed permutation-with-repeats index for take_along_axis on (3, 4, 5) along axis 1.
ALONG = np.random.default_rng(3).integers(0, 4, size=(3, 6, 5))

CASES = [
    Case("getitem-int", lambda x: x[1], X3 + X345, covers=["getitem"]),
    Case("getitem-scalar", lambda x: x[-1, 2], X3, covers=["getitem"]),
    Case("getitem-slice", lambda x: x[1:, ::2], X3 + X345, covers=["getitem"]),
    Case("getitem-negative-step", lambda x: x[::-1, 1:3], X3, covers=["getitem"]),
    Case("getitem-none-ellipsis", lambda x: x[None, ..., 1, None], X3 + X345, covers=["getitem"]),
    Case("getitem-int-array", lambda x: x[[0, 2, 0]], X3 + X345, covers=["getitem", "scatter_add"]),
    Case("getitem-2d-int-array", lambda x: x[np.array([[0, 0], [2, 1]])], X3, covers=["getitem"]),
    Case(
        "getitem-pair-of-arrays", lambda x: x[[0, 1, 1], [3, 3, 0]], X3 + X345, covers=["getitem"]
    ),
    Case("getitem-mixed", lambda x: x[1:, [2, 0, 2], ..., None], X3 + X345, covers=["getitem"]),
    Case("getitem-mask", lambda x: x[x > 0.5], X3 + X345, covers=["getitem"]),
    Case(
        "getitem-row-mask",
        lambda x: x[np.array([True, False, True])],
        X3 + X345,
        covers=["getitem"],
    ),
    Case("getitem-0d", lambda x: x[...], (((),),), covers=["getitem"]),
    Case(
        "scatter_add",
        lambda g: tnp.scatter_add(g, ([0, 1, 0],), (3,), g.dtype),
        (((3,),),),
        covers=["scatter_add"],
    ),
    Case(
        "scatter_add-basic",
        lambda g: tnp.scatter_add(g, (slice(1, None),), (4, 3), g.dtype),
        (((3, 3),),),
        covers=["scatter_add"],
    ),
    Case("take-flat", lambda x: tnp.take(x, [5, 0, 5]), X3 + X345, covers=["getitem"]),
    Case("take-axis", lambda x: tnp.take(x, [1, 1, 0], axis=1), X3 + X345, covers=["getitem"]),
    Case(
        "take-axis-neg-2d",
        lambda x: tnp.take(x, np.array([[0, 2], [2, 2]]), axis=-1),
        X3,
        covers=["getitem"],
    ),
    Case(
        "take_along_axis", lambda x: tnp.take_along_axis(x, ALONG, axis=1), X345, covers=["getitem"]
    ),
    Case(
        "take_along_axis-sort",
        lambda x: tnp.take_along_axis(x, np.argsort(unwrap(x), axis=0), axis=0),
        X3,
        domains=distinct,
        covers=["getitem"],
    ),
    Case(
        "take_along_axis-none",
        lambda x: tnp.take_along_axis(x, np.array([0, 7, 7]), axis=None),
        X3,
        covers=["getitem"],
    ),
]
