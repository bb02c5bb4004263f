"""Matrix rows for tapeflow/numpy/products.py."""

import numpy as np

import tapeflow.numpy as tnp
from tests.numpy.spec import Case

MATMUL_SHAPES = (
    ((2, 3), (3, 4)),
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((3,), (3,)),
    ((5, 2, 3), (3, 4)),
    ((2, 1, 2, 3), (4, 3, 2)),
    ((3,), (2, 3, 4)),
    ((2, 4, 3), (3,)),
)


def _einsum(subscripts):
    return lambda *ops: tnp.einsum(subscripts, *ops)


# (subscripts, operand shapes): contractions, traces, diagonals, broadcasting, ellipsis.
EINSUMS = [
    ("ij,jk->ik", ((2, 3), (3, 4))),
    ("ij,jk", ((2, 3), (3, 4))),
    ("ii->i", ((3, 3),)),
    ("ii", ((3, 3),)),
    ("iji->j", ((3, 2, 3),)),
    ("ij->", ((2, 3),)),
    ("ij->ji", ((2, 3),)),
    ("i,i", ((3,), (3,))),
    ("i,j->ij", ((3,), (4,))),
    ("bij,bjk->bik", ((2, 2, 3), (2, 3, 4))),
    ("...ij,...jk->...ik", ((5, 2, 3), (3, 4))),
    ("...i,...i->...", ((2, 1, 3), (4, 3))),
    ("ij,ij->ij", ((1, 3), (4, 3))),
    ("ijk,k,j->i", ((2, 3, 4), (4,), (3,))),
    ("i...->...", ((3, 2, 2),)),
    ("ab,Bb->Ba", ((2, 3), (4, 3))),
    ("ij,ij->i", ((2, 3), (2, 1))),  # a summed label broadcast from length 1
    ("ij,jk->ik", ((2, 1), (3, 4))),
    ("bij,bjk->bik", ((1, 2, 3), (4, 3, 5))),
]

CASES = [
    Case("matmul", tnp.matmul, MATMUL_SHAPES, covers=["matmul"]),
    Case("matmul-operator", lambda x, y: x @ y, (((2, 3), (3, 4)),), covers=["matmul"]),
    Case(
        "dot",
        tnp.dot,
        (((2, 3), (3, 4)), ((3,), (3,)), ((), (3,)), ((2, 3), (3,))),
        covers=["matmul"],
    ),
    Case(
        "dot-nd",
        tnp.dot,
        (((2, 3, 4), (5, 4, 2)), ((2, 3, 4), (4,)), ((3,), (2, 3, 4))),
        covers=["einsum"],
    ),
    Case("np.dot-method", lambda x, y: x.dot(y), (((2, 3), (3, 4)),), covers=["matmul"]),
    Case("vdot", tnp.vdot, (((3,), (3,)), ((2, 3), (3, 2))), covers=["einsum"]),
    Case(
        "inner",
        tnp.inner,
        (((3,), (3,)), ((2, 3), (4, 3)), ((2, 2, 3), (3,)), ((), (2,))),
        covers=["einsum"],
    ),
    Case("outer", tnp.outer, (((3,), (4,)), ((2, 2), (3,)), ((), (2,))), covers=["multiply"]),
    Case(
        "tensordot-int",
        tnp.tensordot,
        (((2, 3, 4), (3, 4, 2)), ((2, 3), (2, 3))),
        covers=["einsum"],
    ),
    Case(
        "tensordot-1",
        lambda a, b: tnp.tensordot(a, b, axes=1),
        (((2, 3), (3, 4)),),
        covers=["einsum"],
    ),
    Case(
        "tensordot-0", lambda a, b: tnp.tensordot(a, b, axes=0), (((2,), (3,)),), covers=["einsum"]
    ),
    Case(
        "tensordot-lists",
        lambda a, b: tnp.tensordot(a, b, axes=([0, 2], [2, 0])),
        (((2, 3, 4), (4, 5, 2)),),
        covers=["einsum"],
    ),
    Case(
        "kron",
        tnp.kron,
        (((2, 3), (2, 2)), ((2,), (3,)), ((2,), (2, 3)), ((2, 1, 2), (2, 2))),
        covers=["multiply"],
    ),
    Case(
        "cross",
        tnp.cross,
        (((3,), (3,)), ((4, 3), (3,)), ((2, 2), (2, 3)), ((2,), (2,))),
        covers=["multiply"],
    ),
    Case(
        "cross-axes",
        lambda a, b: tnp.cross(a, b, axisa=0, axisc=0),
        (((3, 4), (4, 3)),),
        covers=["multiply"],
    ),
    Case(
        "np.einsum",
        lambda a, b: np.einsum("ij,kj->ik", a, b),
        (((2, 3), (4, 3)),),
        covers=["einsum"],
    ),
    Case(
        "einsum-interleaved",
        lambda a, b: tnp.einsum(a, [0, 1], b, [1, 2], [2, 0]),
        (((2, 3), (3, 4)),),
        covers=["einsum"],
    ),
    Case(
        "einsum-repeated-operand",
        lambda a: tnp.einsum("ij,kj->ik", a, a),
        (((2, 3),), ((3, 3),)),
        covers=["einsum"],
    ),
] + [Case(f"einsum[{sub}]", _einsum(sub), (shapes,), covers=["einsum"]) for sub, shapes in EINSUMS]
