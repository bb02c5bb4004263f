"""Every primitive against finite differences, in reverse and forward mode,
over the shapes and dtypes of its row in a ``spec_*`` module."""

from __future__ import annotations

import importlib
import pkgutil

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.core.tape
from tapeflow.core.primitive import MISSING_RULE, registered_primitives
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


@pytest.fixture(autouse=True)
def _every_array_is_dropped_unless_declared(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tape keeps small arrays whole, so at the matrix's shapes a rule reading a value
    its ``vjp_needs`` did not declare would pass unnoticed. Here every array is replaced
    by its shape-and-dtype stand-in unless declared: such a rule fails in this matrix,
    not first on a user's large arrays."""
    monkeypatch.setattr(tapeflow.core.tape, "_KEEP_BELOW", 1)


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


def _differentiable_arguments(prim) -> int:  # noqa: ANN001
    """How many positional arguments of ``prim`` have reverse-mode rules (2 for n-ary)."""
    if prim.vjp_joint is not None or (prim.vjp_rest is not MISSING_RULE and prim.vjp_rest):
        return 2
    return len([rule for rule in prim.vjps if rule is not None])


def test_every_primitive_with_several_arguments_has_a_mixed_row() -> None:
    """A real argument next to a complex one must get a real cotangent: every
    primitive with two or more differentiable arguments has a ``spec_mixed`` row, or is
    listed there as real-only with the reason."""
    from tests.numpy import spec_mixed

    several = {
        name
        for name, prim in registered_primitives(builtin_only=True).items()
        if not prim.zero_gradient and _differentiable_arguments(prim) >= 2
    }
    mixed = {name for case in spec_mixed.CASES for name in case.covers}
    missing = sorted(several - mixed - set(spec_mixed.REAL_ONLY))
    assert not missing, f"primitives without a mixed real/complex row in spec_mixed.py: {missing}"
    stale = sorted(set(spec_mixed.REAL_ONLY) - several)
    assert not stale, f"spec_mixed.REAL_ONLY lists primitives that no longer need a row: {stale}"


def _one_argument_params() -> list:
    """float64 rows of the cases with several arguments: each is differentiated alone."""
    return [p for p in _params() if len(p.values[1]) > 1 and p.values[2] == np.float64]


@pytest.mark.parametrize("case,shapes,dtype", _one_argument_params())
def test_each_argument_alone_against_finite_differences(case: spec.Case, shapes, dtype) -> None:
    # With one argument traced the tape keeps only what that argument's rule reads (the
    # per-argument form of vjp_needs), so this path differs from tracing them all.
    args = case.make_args(shapes, dtype)
    # ``x.dot(y)`` is an ndarray method when ``x`` is plain: only ``x`` can go alone.
    for i, arg in enumerate(args[:1] if case.name == "np.dot-method" else args):

        def alone(x, i=i):  # type: ignore[no-untyped-def]
            return case.fun(*args[:i], x, *args[i + 1 :])

        tp.check_grads(alone, (arg,), order=1, modes=case.modes, atol=case.atol, rtol=case.rtol)
