"""Matrix rows for tapeflow/numpy/shape.py (indexing rows: spec_indexing.py)."""

import numpy as np

import tapeflow.numpy as tnp
from tapeflow.numpy.diagonals import diagonal_scatter
from tapeflow.numpy.joining import unravel_pieces
from tests.numpy.spec import Case, complex_of, parts

CASES = [
    Case("reshape", lambda x: tnp.reshape(x, (-1,)), (((2, 3),), ((2, 3, 4),)), covers=["reshape"]),
    Case("transpose", tnp.transpose, (((2, 3),), ((2, 3, 4),)), covers=["transpose"]),
    Case(
        "transpose-axes",
        lambda x: tnp.transpose(x, (1, 2, 0)),
        (((2, 3, 4),),),
        covers=["transpose"],
    ),
    Case(
        "broadcast_to",
        lambda x: tnp.broadcast_to(x, (2, 3, 4)),
        (((4,),), ((3, 1),)),
        covers=["broadcast_to"],
    ),
    Case(
        "concatenate",
        lambda x, y: tnp.concatenate([x, y, x], axis=1),
        (((2, 3), (2, 1)),),
        covers=["concatenate"],
    ),
]

M = (((2, 3),), ((3, 4),))
X3 = (((2, 3, 4),),)
ANY = (((),), ((3,),), ((2, 3),), ((2, 3, 4),))


def _rows(prefix, covers, items, shapes=M, **kw):
    return [Case(f"{prefix}-{label}", f, shapes, covers=covers, **kw) for label, f in items]


CASES += [
    Case("ravel", tnp.ravel, ANY, covers=["reshape"]),
    Case("swapaxes", lambda x: tnp.swapaxes(x, 0, -1), M + X3, covers=["transpose"]),
    Case("expand_dims", lambda x: tnp.expand_dims(x, (0, -1)), ANY, covers=["reshape"]),
    Case(
        "squeeze", lambda x: tnp.squeeze(x[None, :, None]), (((3,),), ((2, 3),)), covers=["reshape"]
    ),
    Case("squeeze-axis", lambda x: tnp.squeeze(x, axis=1), (((2, 1, 3),),), covers=["reshape"]),
    Case("copy", lambda x: tnp.copy(x) * 2.0, ANY, covers=["multiply"]),
]
CASES += _rows(
    "moveaxis",
    ["transpose"],
    [
        ("0to-1", lambda x: tnp.moveaxis(x, 0, -1)),
        ("two", lambda x: tnp.moveaxis(x, (0, 1), (2, 0))),
    ],
    shapes=X3,
)
CASES += [
    Case(
        "broadcast_arrays",
        lambda x, y: tnp.broadcast_arrays(x, y),
        (((2, 1, 4), (3, 1)), ((3,), (3,))),
        covers=["broadcast_to"],
    ),
    Case(
        "stack-axis0",
        lambda x, y: tnp.stack([x, y, x]),
        (((3,), (3,)), ((2, 3), (2, 3))),
        covers=["concatenate", "reshape"],
    ),
    Case(
        "stack-axis-1",
        lambda x, y: tnp.stack((x, y), axis=-1),
        (((2, 3), (2, 3)),),
        covers=["concatenate"],
    ),
    Case(
        "hstack",
        lambda x, y: tnp.hstack([x, y]),
        (((3,), (2,)), ((2, 3), (2, 1))),
        covers=["concatenate"],
    ),
    Case(
        "vstack",
        lambda x, y: tnp.vstack([x, y]),
        (((3,), (3,)), ((2, 3), (1, 3))),
        covers=["concatenate"],
    ),
    Case(
        "dstack",
        lambda x, y: tnp.dstack([x, y]),
        (((3,), (3,)), ((2, 3), (2, 3))),
        covers=["concatenate"],
    ),
    Case(
        "column_stack",
        lambda x, y: tnp.column_stack([x, y]),
        (((3,), (3, 2)),),
        covers=["concatenate"],
    ),
    Case("atleast_1d", lambda x: tnp.atleast_1d(x), ANY, covers=["reshape"]),
    Case("atleast_2d", lambda x: tnp.atleast_2d(x), ANY, covers=["reshape"]),
    Case("atleast_3d", lambda x: tnp.atleast_3d(x), ANY, covers=["reshape"]),
    Case("atleast_2d-many", lambda x, y: tnp.atleast_2d(x, y), (((), (3,)),), covers=["reshape"]),
]
CASES += _rows(
    "split",
    ["getitem"],
    [
        ("sections", lambda x: tnp.split(x, 2, axis=1)),
        ("indices", lambda x: tnp.split(x, [1, -1, 10], axis=-1)),
        ("array_split", lambda x: tnp.array_split(x, 3, axis=-1)),
        ("hsplit", lambda x: tnp.hsplit(x, [1])),
        ("vsplit", lambda x: tnp.vsplit(x, 2)),
    ],
    shapes=(((2, 4),), ((2, 4, 3),)),
)
_BOUNDS, _SHAPES = ((0, 4), (4, 5), (5, 7)), ((2, 2), (), (2,))
CASES += [
    Case(
        "unravel",
        lambda x: unravel_pieces(x, _BOUNDS, _SHAPES),
        (((7,),),),
        covers=["unravel", "result_item"],
    ),
    # Only some pieces used: the others get zero cotangents.
    Case(
        "unravel-some",
        lambda x: unravel_pieces(x, _BOUNDS, _SHAPES)[2] * 2.0,
        (((7,),),),
        covers=["unravel"],
    ),
    Case("split-1d", lambda x: tnp.array_split(x, 3), (((5,),),), covers=["getitem"]),
    Case("dsplit", lambda x: tnp.dsplit(x, [1, 3]), X3, covers=["getitem"]),
]
CASES += _rows(
    "tile",
    ["broadcast_to", "reshape"],
    [
        ("int", lambda x: tnp.tile(x, 2)),
        ("tuple", lambda x: tnp.tile(x, (2, 1, 3))),
    ],
    shapes=ANY,
)
CASES += _rows(
    "repeat",
    ["broadcast_to", "getitem"],
    [
        ("flat", lambda x: tnp.repeat(x, 2)),
        ("axis0", lambda x: tnp.repeat(x, 3, axis=0)),
        (
            "counts",
            lambda x: tnp.repeat(x, [2, 0, 1][: x.shape[-1]] + [1] * (x.shape[-1] - 3), axis=-1),
        ),
    ],
)
CASES += _rows(
    "flip",
    ["flip"],
    [
        ("all", tnp.flip),
        ("axis", lambda x: tnp.flip(x, 0)),
        ("axes", lambda x: tnp.flip(x, (0, -1))),
        ("fliplr", tnp.fliplr),
        ("flipud", tnp.flipud),
    ],
    shapes=M + X3,
)
CASES += _rows(
    "rot90",
    ["flip", "transpose"],
    [(f"k{k}", (lambda k: lambda x: tnp.rot90(x, k))(k)) for k in (1, 2, 3, -1)]
    + [("axes", lambda x: tnp.rot90(x, 1, axes=(2, 0)))],
    shapes=X3,
)
CASES += _rows(
    "roll",
    ["roll"],
    [
        ("flat", lambda x: tnp.roll(x, 2)),
        ("axis", lambda x: tnp.roll(x, -1, axis=0)),
        ("axes", lambda x: tnp.roll(x, (1, 2), axis=(0, -1))),
    ],
    shapes=M + X3,
)
CASES += [
    Case("pad-constant", lambda x: tnp.pad(x, 1), ANY[1:], covers=["pad"]),
    Case(
        "pad-widths", lambda x: tnp.pad(x, ((0, 1), (2, 0)), constant_values=3.0), M, covers=["pad"]
    ),
    Case("pad-edge", lambda x: tnp.pad(x, (1, 2), mode="edge"), M, covers=["getitem"]),
    Case("pad-reflect", lambda x: tnp.pad(x, 2, mode="reflect"), (((3, 4),),), covers=["getitem"]),
    Case("pad-wrap", lambda x: tnp.pad(x, 1, mode="wrap"), M, covers=["getitem"]),
]
# numpy.pad's other modes, with widths past one period (numpy then reflects or
# wraps chunk by chunk) and per-side keyword arguments.
CASES += _rows(
    "pad",
    ["getitem", "concatenate"],
    [
        ("wrap-wide", lambda x: tnp.pad(x, ((0, 5), (4, 1)), mode="wrap")),
        ("symmetric", lambda x: tnp.pad(x, ((3, 1), (0, 4)), mode="symmetric")),
        ("reflect-odd", lambda x: tnp.pad(x, ((1, 3), (2, 2)), "reflect", reflect_type="odd")),
        (
            "symmetric-odd",
            lambda x: tnp.pad(x, ((3, 1), (0, 4)), "symmetric", reflect_type="odd"),
        ),
        (
            "linear_ramp",
            lambda x: tnp.pad(x, ((2, 1), (1, 3)), "linear_ramp", end_values=((1.5, -2), (0.5, 3))),
        ),
        ("mean", lambda x: tnp.pad(x, (1, 2), mode="mean", stat_length=2)),
        ("maximum", lambda x: tnp.pad(x, 2, mode="maximum", stat_length=((1, 2), (2, 1)))),
        ("minimum", lambda x: tnp.pad(x, ((0, 2), (1, 1)), mode="minimum")),
        ("median", lambda x: tnp.pad(x, 2, mode="median")),
    ],
)
CASES += _rows(
    "pad-3d",
    ["getitem", "concatenate"],
    [
        ("symmetric-odd", lambda x: tnp.pad(x, (3, 1), "symmetric", reflect_type="odd")),
        ("linear_ramp", lambda x: tnp.pad(x, 2, "linear_ramp", end_values=(-1.0, 2.0))),
        ("maximum", lambda x: tnp.pad(x, (0, 2), mode="maximum", stat_length=2)),
        ("median", lambda x: tnp.pad(x, 1, mode="median")),
        ("empty", lambda x: tnp.pad(x, 1, mode="empty")),  # zeros: numpy's are undefined
    ],
    shapes=X3,
)
CASES += _rows(
    "diag",
    ["diagonal", "diagonal_scatter"],
    [
        ("k0", tnp.diag),
        ("k1", lambda x: tnp.diag(x, 1)),
        ("k-2", lambda x: tnp.diag(x, -2)),
    ],
    shapes=(((3,),), ((3, 4),)),
)
CASES += _rows(
    "diagonal",
    ["diagonal"],
    [
        ("default", tnp.diagonal),
        ("offset", lambda x: tnp.diagonal(x, 1, 2, 0)),
        ("trace", lambda x: tnp.trace(x, -1, 1, 2)),
    ],
    shapes=X3,
)
CASES += [
    Case("trace", tnp.trace, M, covers=["diagonal"]),
    Case(
        "diagonal_scatter",
        lambda d: diagonal_scatter(d, (3, 2, 4), offset=1, axis1=2, axis2=0),
        (((2, 2),),),
        covers=["diagonal_scatter"],
    ),
]
CASES += _rows(
    "tri",
    ["where"],
    [
        ("tril", tnp.tril),
        ("tril-k", lambda x: tnp.tril(x, -1)),
        ("triu", tnp.triu),
        ("triu-k", lambda x: tnp.triu(x, 1)),
    ],
    shapes=M + X3 + (((3,),),),
)
CASES += [
    Case("meshgrid-xy", lambda x, y: tnp.meshgrid(x, y), (((3,), (2,)),), covers=["broadcast_to"]),
    Case(
        "meshgrid-ij-3",
        lambda x, y: tnp.meshgrid(x, y, x, indexing="ij"),
        (((3,), (2,)),),
        covers=["broadcast_to"],
    ),
    Case(
        "meshgrid-sparse",
        lambda x, y: tnp.meshgrid(x, y, sparse=True),
        (((3,), (2,)),),
        covers=["reshape"],
    ),
]
CASES += _rows(
    "diff",
    ["getitem", "subtract"],
    [
        ("n1", tnp.diff),
        ("n2-axis0", lambda x: tnp.diff(x, 2, axis=0)),
        ("prepend", lambda x: tnp.diff(x, prepend=0.5, append=x[..., :1])),
    ],
    shapes=(((3, 4),), ((3, 4, 5),)),
)
CASES += _rows(
    "gradient",
    ["getitem", "concatenate"],
    [
        ("default", tnp.gradient),
        ("spacing", lambda x: tnp.gradient(x, 0.5, 2.0, axis=(0, -1))),
        ("edge2", lambda x: tnp.gradient(x, 0.7, edge_order=2)),
        (
            "coordinates",
            lambda x: tnp.gradient(x, np.cumsum(np.arange(1.0, x.shape[0] + 1)), axis=0),
        ),
        (
            "coordinates-edge2",
            lambda x: tnp.gradient(
                x, np.array([0.0, 0.4, 1.5])[: x.shape[0]] ** 1.5, edge_order=2, axis=0
            ),
        ),
    ],
    shapes=(((3,),), ((3, 4),), ((3, 4, 5),)),
)
CASES += [
    Case(
        f"{name}-{mode}",
        (lambda f, m: lambda a, v: f(a, v, mode=m))(f, mode),
        (((5,), (3,)), ((3,), (4,)), ((4,), (4,)), ((1,), (2,))),
        covers=["convolve", "flip"],
    )
    for name, f in (("convolve", tnp.convolve), ("correlate", tnp.correlate))
    for mode in ("full", "same", "valid")
]


# append, rollaxis, row_stack, r_ and c_: compositions of concatenate, reshape, transpose.
CASES += [
    Case(
        "append", tnp.append, (((3,), (2,)), ((2, 3), (4,)), ((), (2, 2))), covers=["concatenate"]
    ),
    Case(
        "append-axis",
        lambda x, y: tnp.append(x, y, axis=1),
        (((2, 3), (2, 1)), ((2, 3, 4), (2, 2, 4))),
        covers=["concatenate"],
    ),
    Case(
        "append-complex",
        lambda a, b, c: parts(tnp.append(complex_of(a, b), c * (1 - 2j))),
        (((3,), (3,), (2,)),),
        covers=["concatenate"],
    ),
    Case("np.append", lambda x, y: np.append(x, y, axis=0), (((2, 3), (1, 3)),), covers=[]),
    Case(
        "rollaxis",
        lambda x: (tnp.rollaxis(x, 2), tnp.rollaxis(x, 0, 3), tnp.rollaxis(x, -1, 1)),
        X3,
        covers=["transpose"],
    ),
    Case("np.rollaxis", lambda x: np.rollaxis(x, 1, 0), M, covers=["transpose"]),
    Case("row_stack", lambda x, y: tnp.row_stack([x, y]), (((3,), (3,)),), covers=[]),
    Case(
        "r_",
        lambda x, y: tnp.r_[x, y, 1.5, x[0], y],
        (((3,), (2,)), ((1,), ())),
        covers=["concatenate", "reshape"],
    ),
    # numpy's ranges are float64 or int64: a float32 piece is promoted, as in numpy.
    Case(
        "r_-ranges",
        lambda x, y: tnp.r_[x, 0:2, y, 0.0:1.0:3j],
        (((3,), (2,)),),
        dtypes=(np.float64,),
        covers=["concatenate"],
    ),
    Case(
        "r_-directive",
        lambda x, y: (tnp.r_["0,2,0", x, y], tnp.r_["1,2", x, y], tnp.r_["-1", x, y]),
        (((3,), (3,)),),
        covers=["concatenate", "transpose"],
    ),
    Case("r_-matrices", lambda x, y: tnp.r_[x, y], (((2, 3), (1, 3)),), covers=["concatenate"]),
    Case(
        "r_-traced-linspace",
        lambda s: tnp.r_[0:s:4j, s],
        (((),),),
        dtypes=(np.float64,),
        covers=["concatenate"],
    ),
    Case(
        "c_",
        lambda x, y: tnp.c_[x, y, x * y],
        (((3,), (3,)),),
        covers=["concatenate", "transpose"],
    ),
    Case("c_-matrices", lambda x, y: tnp.c_[x, y], (((2, 3), (2, 1)),), covers=["concatenate"]),
    Case(
        "c_-range",
        lambda x: tnp.c_[x, 0:3],
        (((3,),),),
        dtypes=(np.float64,),
        covers=["concatenate", "transpose"],
    ),
    Case(
        "r_-complex",
        lambda a, b: parts(tnp.r_[complex_of(a, b), 2.0, b]),
        (((3,), (3,)),),
        covers=["concatenate"],
    ),
]
