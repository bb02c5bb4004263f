"""The primitive matrix again, under tp.jit: compiled programs give the eager results.

For every row of the ``spec_*`` tables (first shape, float64 and float32) the
function itself and its vector-Jacobian product are compiled and replayed on
new inputs; results must equal the eager ones bit for bit. Rows whose output
shape depends on input *values* (boolean masks, ``unique``...) cannot be
compiled: they must raise jit's clear error instead of returning stale results.
"""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tp
from tapeflow.jit import ConcretizationError
from tests.numpy.test_matrix import CASES
from tests.test_jit import assert_trees_equal as _assert_same


def _params() -> list:
    params = []
    for case in CASES:
        for dtype in case.dtypes[:2]:
            params.append(pytest.param(case, dtype, id=f"{case.name}-{np.dtype(dtype).name}"))
    return params


@pytest.mark.parametrize("case,dtype", _params())
def test_jit_replays_the_eager_result(case, dtype) -> None:
    shapes = case.shapes[0]
    first = case.make_args(shapes, dtype, seed=0)
    second = case.make_args(shapes, dtype, seed=1)  # new values, same signature
    out = case.fun(*first)
    cotangent = tp.tree_util.tree_map(lambda o: np.ones(np.shape(o), np.result_type(o)), out)

    def pullback(*args):
        return tp.vjp(case.fun, *args)[1](cotangent)

    compiled = tp.jit(case.fun)
    compiled_pullback = tp.jit(pullback)
    try:
        compiled(*first)
        compiled_pullback(*first)
    except ConcretizationError as err:
        # A value-dependent output shape: jit must refuse clearly, never replay stale values.
        assert "jit" in str(err)
        return
    for args in (first, second):
        _assert_same(compiled(*args), case.fun(*args))
        _assert_same(compiled_pullback(*args), pullback(*args))
    assert compiled.trace_count == 1
