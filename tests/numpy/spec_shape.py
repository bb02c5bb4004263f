"""Matrix rows for tapeflow/numpy/shape.py (indexing rows: spec_indexing.py)."""

import tapeflow.numpy as tnp
from tests.numpy.spec import Case

CASES = [
    Case("reshape", lambda x: tnp.reshape(x, (-1,)), ((( 2, 3),), ((2, 3, 4),)), covers=["reshape"]),
    Case("transpose", tnp.transpose, ((( 2, 3),), ((2, 3, 4),)), covers=["transpose"]),
    Case("transpose-axes", lambda x: tnp.transpose(x, (1, 2, 0)), (((2, 3, 4),),), covers=["transpose"]),
    Case("broadcast_to", lambda x: tnp.broadcast_to(x, (2, 3, 4)), (((4,),), ((3, 1),)), covers=["broadcast_to"]),
    Case("concatenate", lambda x, y: tnp.concatenate([x, y, x], axis=1), (((2, 3), (2, 1)),), covers=["concatenate"]),
]
