"""Every primitive against finite differences, in reverse and forward mode,
over the shapes and dtypes of its row in a ``spec_*`` module."""

from __future__ import annotations

import importlib
import pkgutil

import numpy as np
import pytest

import tapeflow as tp
from tapeflow.primitive import registered_primitives
from tests.numpy import spec


def _all_cases() -> list[spec.Case]:
    import tests.numpy as pkg

    cases: list[spec.Case] = []
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("spec_"):
            cases.extend(importlib.import_module(f"tests.numpy.{info.name}").CASES)
    return cases


CASES = _all_cases()


def _params() -> list:
    params = []
    for case in CASES:
        for shapes in case.shapes:
            for dtype in case.dtypes:
                label = "-".join("x".join(map(str, s)) or "0d" for s in shapes)
                params.append(
                    pytest.param(
                        case, shapes, dtype, id=f"{case.name}-{label}-{np.dtype(dtype).name}"
                    )
                )
    return params


@pytest.mark.parametrize("case,shapes,dtype", _params())
def test_primitive_against_finite_differences(case: spec.Case, shapes, dtype) -> None:
    args = case.make_args(shapes, dtype)
    out = case.fun(*args)
    if dtype == np.float32:
        # float32 in, float32 out: no silent promotion anywhere.
        for leaf in tp.tree_util.tree_leaves(out):
            if np.issubdtype(np.result_type(leaf), np.floating):
                assert np.result_type(leaf) == np.float32, f"{case.name} promoted float32"
    order = case.order if dtype == np.float64 else 1
    tp.check_grads(case.fun, args, order=order, modes=case.modes, atol=case.atol, rtol=case.rtol)


def test_every_primitive_has_a_case() -> None:
    covered = {name for case in CASES for name in case.covers}
    missing = sorted(
        name
        for name, prim in registered_primitives(builtin_only=True).items()
        if not prim.zero_gradient and name not in covered
    )
    assert not missing, f"primitives without a row in a tests/numpy/spec_*.py table: {missing}"
