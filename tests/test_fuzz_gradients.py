"""Property-based fuzzing: random compositions of primitives against finite differences.

Each example draws an input shape and a program of 1-8 steps (elementwise maps,
broadcasting binary ops with a second input, reductions over random axes,
reshapes, transposes, slices, matmuls); reverse and forward mode must agree with
central differences. ``--hypothesis-profile=thorough`` runs many more examples.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import tapeflow as tp
import tapeflow.numpy as tnp

# Smooth maps that keep values bounded, so long programs stay well conditioned.
UNARY = {
    "sin": tnp.sin,
    "tanh": tnp.tanh,
    "square/4": lambda x: tnp.square(x) * 0.25,
    "exp(tanh)": lambda x: tnp.exp(tnp.tanh(x)),
    "log(1+x^2)": lambda x: tnp.log(1 + x * x),
    "sqrt(1+x^2)": lambda x: tnp.sqrt(1 + x * x),
    "cos": tnp.cos,
}
BINARY = {
    "add": tnp.add,
    "subtract": tnp.subtract,
    "multiply": tnp.multiply,
    "divide": lambda x, y: x / (1.5 + tnp.tanh(y)),
}


@st.composite
def programs(draw):
    ndim = draw(st.integers(0, 3))
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim)))
    steps = []
    cur = shape
    for _ in range(draw(st.integers(1, 8))):
        kinds = ["unary", "binary"]
        if cur:
            kinds += ["reduce", "reshape", "transpose", "slice", "matmul"]
        kind = draw(st.sampled_from(kinds))
        if kind == "unary":
            steps.append(("unary", draw(st.sampled_from(sorted(UNARY)))))
        elif kind == "binary":
            # the second operand broadcasts: a suffix of the shape with some 1s
            k = draw(st.integers(0, len(cur)))
            other = tuple(n if draw(st.booleans()) else 1 for n in cur[len(cur) - k :])
            steps.append(("binary", draw(st.sampled_from(sorted(BINARY))), other))
        elif kind == "reduce":
            axes = draw(st.lists(st.integers(0, len(cur) - 1), min_size=1, unique=True))
            keep = draw(st.booleans())
            op = draw(st.sampled_from(["sum", "mean", "max"]))
            steps.append(("reduce", op, tuple(axes), keep))
            cur = (
                tuple(1 if i in axes else n for i, n in enumerate(cur))
                if keep
                else tuple(n for i, n in enumerate(cur) if i not in axes)
            )
        elif kind == "reshape":
            steps.append(("reshape",))
            cur = (int(np.prod(cur)),)
        elif kind == "transpose":
            perm = tuple(draw(st.permutations(range(len(cur)))))
            steps.append(("transpose", perm))
            cur = tuple(cur[p] for p in perm)
        elif kind == "slice":
            axis = draw(st.integers(0, len(cur) - 1))
            start = draw(st.integers(0, cur[axis] - 1))
            steps.append(("slice", axis, start))
            cur = tuple(n - start if i == axis else n for i, n in enumerate(cur))
        else:
            k = draw(st.integers(1, 3))
            steps.append(("matmul", (cur[-1], k)))
            cur = cur[:-1] + (k,)
    return shape, steps


def build(shape, steps, seed):
    """The function of (x, *operands) the program describes, and its arguments."""
    rng = np.random.default_rng(seed)
    operands = []
    for step in steps:
        if step[0] == "binary":
            operands.append(rng.standard_normal(step[2]))
        elif step[0] == "matmul":
            operands.append(rng.standard_normal(step[1]) * 0.5)

    def fun(x, *ops):
        it = iter(ops)
        for step in steps:
            kind = step[0]
            if kind == "unary":
                x = UNARY[step[1]](x)
            elif kind == "binary":
                x = BINARY[step[1]](x, next(it))
            elif kind == "reduce":
                _, op, axes, keep = step
                if op == "max":
                    # max of a strictly increasing function of position: no ties
                    x = tnp.max(x + tnp.asarray(_ramp(tnp.shape(x))), axis=axes, keepdims=keep)
                else:
                    x = getattr(tnp, op)(x, axis=axes, keepdims=keep)
            elif kind == "reshape":
                x = tnp.reshape(x, (-1,))
            elif kind == "transpose":
                x = tnp.transpose(x, step[1])
            elif kind == "slice":
                _, axis, start = step
                x = x[(slice(None),) * axis + (slice(start, None),)]
            else:
                x = x @ next(it)
        return x

    x = rng.standard_normal(shape)
    return fun, (x, *operands)


def _ramp(shape):
    n = int(np.prod(shape))
    return (np.arange(n, dtype=float) * 10.0).reshape(shape)


@settings(deadline=None)
@given(programs(), st.integers(0, 2**16))
def test_random_programs_match_finite_differences(program, seed):
    shape, steps = program
    fun, args = build(shape, steps, seed)
    tp.check_grads(fun, args, order=1, modes=("rev", "fwd"), atol=1e-5, rtol=1e-4)


@settings(deadline=None)
@given(programs(), st.integers(0, 2**16))
def test_random_programs_second_order(program, seed):
    shape, steps = program
    fun, args = build(shape, steps, seed)
    tp.check_grads(fun, args, order=2, modes=("rev", "fwd"), atol=1e-4, rtol=1e-3)
