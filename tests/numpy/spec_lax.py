"""Matrix rows for the control-flow primitives of tapeflow.lax.

Each row is a small function built on one loop or branch, so the matrix checks it
against finite differences in reverse and forward mode (second order included) at
float64 and float32, and ``test_matrix_jit`` replays it compiled.
"""

import tapeflow.numpy as tnp
from tapeflow import lax
from tests.numpy.spec import Case, real


def _rnn(w, xs):
    def step(h, x):
        h = tnp.tanh(h * w + x)
        return h, h * x

    h, ys = lax.scan(step, tnp.zeros_like(w), xs)
    return h + tnp.sum(ys, axis=0)


def _reverse_scan(xs):
    return lax.scan(
        lambda c, x: (c * 0.9 + tnp.sin(x), c * x), tnp.zeros_like(xs[0]), xs, reverse=True
    )


CASES = [
    Case("scan-rnn", _rnn, (((3,), (4, 3)), ((), (2,))), covers=["lax.scan"]),
    Case("scan-reverse", _reverse_scan, (((4, 3),), ((1, 2),)), domains=real),
]
