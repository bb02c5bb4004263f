"""Matrix rows for the control-flow primitives of tapeflow.lax.

Each row is a small function built on one loop or branch, so the matrix checks it
against finite differences in reverse and forward mode (second order included) at
float64 and float32, and ``test_matrix_jit`` replays it compiled.
"""

import tapeflow as tp
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


def _cond(x, y):
    return lax.cond(x.ravel()[0] > 0, lambda a, b: tnp.sin(a) * b, lambda a, b: a - b**2, x, y)


def _switch(x):
    index = tnp.where(x.ravel()[0] > 0, 2, 0)
    branches = [lambda a: tnp.exp(a * 0.5), lambda a: a, lambda a: tnp.cos(a) * a]
    return lax.switch(index, branches, x)


def _while(x, y):
    def body(c):
        v, i = c
        return tnp.sin(v) * y + v * 0.5, i + 1

    return lax.while_loop(lambda c: c[1] < 4, body, (x, 0))[0]


def _checkpointed_body(w, xs):
    cell = tp.checkpoint(lambda h, x: tnp.tanh(h * w + x))
    return lax.scan(lambda h, x: (cell(h, x), None), tnp.zeros_like(w), xs)[0]


CASES += [
    Case("cond", _cond, (((3,), (3,)), ((2, 3), (2, 3))), covers=["lax.cond"]),
    Case("switch", _switch, (((3,),), ((2, 2),))),
    Case(
        "while",
        _while,
        (((3,), (3,)), ((), ())),
        covers=["lax.while", "lax.while_recording", "lax.while_replay"],
    ),
    Case(
        "scan-checkpointed-body",
        _checkpointed_body,
        (((3,), (4, 3)),),
        covers=["lax.closed_call"],
    ),
]
