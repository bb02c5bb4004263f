"""Matrix rows for tapeflow/numpy/sorting.py."""

import numpy as np

import tapeflow.numpy as tnp
from tapeflow.numpy.sorting import permute_along_axis
from tests.numpy.spec import Case, distinct

SHAPES = (((5,),), ((2, 3),), ((2, 3, 4),))
XP = np.array([0.0, 1.3, 2.1, 3.5])


def spread(z: np.ndarray) -> np.ndarray:
    """Points in (-1, 4.5): inside and outside XP's range, a.s. never on a knot."""
    return 5.5 / (1 + np.exp(-z)) - 1.0


CASES = [
    Case("sort-last", tnp.sort, SHAPES, domains=distinct, covers=["permute_along_axis"]),
    Case(
        "sort-axis0",
        lambda x: tnp.sort(x, axis=0),
        SHAPES,
        domains=distinct,
        covers=["permute_along_axis"],
    ),
    Case(
        "sort-flat",
        lambda x: tnp.sort(x, axis=None),
        SHAPES[1:],
        domains=distinct,
        covers=["permute_along_axis"],
    ),
    Case("sort-0d", tnp.sort, (((),),), covers=[]),
    Case(
        "sort-weighted",
        lambda x: tnp.sort(x) * np.arange(x.shape[-1], dtype=x.dtype),
        SHAPES,
        domains=distinct,
        covers=["permute_along_axis"],
    ),
    Case(
        "partition",
        lambda x: tnp.partition(x, 1),
        SHAPES,
        domains=distinct,
        covers=["permute_along_axis"],
    ),
    Case(
        "partition-axis0",
        lambda x: tnp.partition(x, (0, 1), axis=0),
        SHAPES[1:],
        domains=distinct,
        covers=["permute_along_axis"],
    ),
    Case(
        "permute_along_axis",
        lambda x: permute_along_axis(
            x, np.argsort(np.arange(x.size)[::-1].reshape(x.shape), axis=0), axis=0
        ),
        SHAPES,
        covers=["permute_along_axis"],
    ),
    # unique: exact copies of some entries (they stay equal under any perturbation) must
    # leave their cotangent to the first occurrence.
    Case(
        "unique",
        lambda x: tnp.unique(tnp.concatenate([tnp.ravel(x), tnp.ravel(x)[::2]])),
        SHAPES,
        domains=distinct,
        covers=["getitem"],
    ),
    Case(
        "unique-returns",
        lambda x: tnp.unique(x, return_index=True, return_counts=True)[0] * 2.0,
        SHAPES[:2],
        domains=distinct,
        covers=["getitem"],
    ),
    Case(
        "unique-axis0",
        lambda x: tnp.unique(tnp.concatenate([x[1:], x], axis=0), axis=0),
        SHAPES[1:],
        domains=distinct,
        covers=["getitem"],
    ),
    Case(
        "interp",
        lambda x, fp: tnp.interp(x, XP.astype(x.dtype), fp),
        (((7,), (4,)), ((), (4,)), ((2, 3), (4,))),
        domains=[spread, distinct],
        covers=["getitem"],
    ),
    Case(
        "interp-left-right",
        lambda x, fp: tnp.interp(x, XP.astype(x.dtype), fp, left=fp[1], right=-1.0),
        (((7,), (4,)),),
        domains=[spread, distinct],
        covers=["getitem", "where"],
    ),
    Case(
        "interp-period",
        lambda x, fp: tnp.interp(
            x * 90.0, np.array([190.0, -190.0, 350.0, -350.0], x.dtype), fp, period=360
        ),
        (((7,), (4,)),),
        domains=[spread, distinct],
        covers=["getitem", "mod"],
    ),
]
