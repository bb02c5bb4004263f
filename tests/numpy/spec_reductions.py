"""Matrix rows for tapeflow/numpy/reductions.py."""

import tapeflow.numpy as tnp
from tests.numpy.spec import Case, distinct

AXES = [None, 0, -1, (0, 1)]
SHAPES = (((2, 3),), ((2, 3, 4),))

CASES = [
    Case(f"{name}-axis{axis}-keep{keep}", (lambda f, a, k: lambda x: f(x, axis=a, keepdims=k))(f, axis, keep),
         SHAPES, domains=dom, covers=[name])
    for name, f, dom in [("sum", tnp.sum, None), ("mean", tnp.mean, None), ("max", tnp.max, distinct), ("min", tnp.min, distinct)]
    for axis in AXES
    for keep in (False, True)
]
for c in CASES:
    if c.domains is None:
        from tests.numpy.spec import real

        c.domains = real
CASES += [
    Case("sum-0d", tnp.sum, ((( ),),), covers=["sum"]),
    Case("max-ties", lambda x: tnp.max(x * 0.0 + 1.0) * tnp.sum(x), (((3,),),), covers=["max"], order=1),
]
