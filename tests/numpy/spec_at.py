"""Matrix rows for tapeflow/numpy/at.py (functional index updates)."""

import numpy as np

import tapeflow.numpy as tnp
from tests.numpy.spec import Case, distinct, positive, real

# (index, shape of x, shape of v): slices, integer arrays, masks, broadcasting v.
_INDEXES = [
    ("slice", (slice(1, 3),), (4,), (2,)),
    ("int-array-2d", (slice(None), np.array([0, 2])), (3, 4), (3, 2)),
    ("scalar-v", (np.array([3, 0]),), (4, 2), ()),
    ("row-broadcast", (np.array([1]),), (3, 4), (4,)),
    ("mask", (np.array([True, False, True]),), (3,), (2,)),
]


def _case(method, label, index, xs, vs, domains=real, covers=None, order=2):
    fun = lambda x, v: getattr(tnp.at(x)[index], method)(v)  # noqa: E731
    return Case(
        f"at-{method}-{label}",
        fun,
        ((xs, vs),),
        domains=domains,
        covers=[covers or f"at_{method}"],
        order=order,
    )


CASES = []
for _label, _index, _xs, _vs in _INDEXES:
    CASES.append(_case("set", _label, _index, _xs, _vs))
    CASES.append(_case("add", _label, _index, _xs, _vs))
    CASES.append(_case("multiply", _label, _index, _xs, _vs))
    CASES.append(_case("min", _label, _index, _xs, _vs, domains=distinct))
    CASES.append(_case("max", _label, _index, _xs, _vs, domains=distinct))
# Repeated indices: set keeps the last write, add accumulates, min/max compete.
_REPEAT = (np.array([0, 2, 0]),)
CASES += [
    _case("set", "repeat", _REPEAT, (4,), (3,)),
    _case("add", "repeat", _REPEAT, (4,), (3,)),
    _case("max", "repeat", _REPEAT, (4,), (3,), domains=distinct),
    _case("min", "repeat", _REPEAT, (4,), (3,), domains=distinct),
    _case(
        "divide",
        "slice",
        (slice(0, 2),),
        (3,),
        (2,),
        domains=[real, positive],
        covers="at_multiply",
    ),
]
