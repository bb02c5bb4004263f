"""Matrix rows for tapeflow/numpy/products.py."""

import tapeflow.numpy as tnp
from tests.numpy.spec import Case

MATMUL_SHAPES = (
    ((2, 3), (3, 4)),
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((3,), (3,)),
    ((5, 2, 3), (3, 4)),
    ((2, 1, 2, 3), (4, 3, 2)),
)

CASES = [
    Case("matmul", tnp.matmul, MATMUL_SHAPES, covers=["matmul"]),
    Case("dot", tnp.dot, (((2, 3), (3, 4)), ((3,), (3,)), ((), (3,))), covers=["matmul"]),
]
