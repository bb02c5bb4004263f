"""Matrix rows for tapeflow/numpy/selection.py and tapeflow/numpy/polynomials.py.

NaN and infinite entries sit at fixed places of the inputs (finite differences do not
move them), so ``nan_to_num``'s replaced entries stay replaced; ``real_if_close`` rows
keep their imaginary parts either far from or exactly at zero for the same reason.
"""

import numpy as np

import tapeflow.numpy as tnp
from tests.numpy.spec import Case, complex_of, parts, real


def with_nonfinite(z: np.ndarray) -> np.ndarray:
    """Real values with NaN, +inf and -inf at flat positions 0, 1 and 2."""
    out = real(z).copy()
    out.reshape(-1)[:3] = [np.nan, np.inf, -np.inf][: out.size]
    return out


SHAPES = (((4,),), ((2, 3),))

CASES = [
    Case(
        "select",
        lambda x, y, d: tnp.select([x > 0.5, x < -0.5], [x * y, -y], d),
        (((3,), (3,), (3,)), ((2, 3), (3,), ()), ((2, 3), (2, 3), (2, 1))),
        covers=["where", "broadcast_to"],
    ),
    Case(
        "select-default",
        lambda x, y: tnp.select([x > 0, y > 1], [x, y]),
        (((3,), (3,)), ((2, 3), (2, 3))),
        covers=["where"],
    ),
    Case(
        "np.select",
        lambda x, y: np.select([x > 0, x < -1], [y, x], default=0.5),
        (((2, 3), (2, 3)),),
        covers=["where"],
    ),
    Case(
        "select-complex",
        lambda a, b: parts(tnp.select([a > 0], [complex_of(a, b)], default=b * 1j)),
        (((3,), (3,)),),
        covers=["where"],
    ),
    # (the default replacements, the largest floats, only overflow the checks' sums: their
    # values are checked against numpy in test_numpy_breadth.py)
    Case(
        "nan_to_num",
        lambda x: tnp.nan_to_num(x, posinf=7.0, neginf=-7.0),
        SHAPES,
        domains=with_nonfinite,
        covers=["where"],
    ),
    Case(
        "nan_to_num-values",
        lambda x: tnp.nan_to_num(x, nan=1.0, posinf=2.0, neginf=-3.0) ** 2,
        SHAPES,
        domains=with_nonfinite,
        covers=["where"],
    ),
    Case(
        "nan_to_num-complex",
        lambda a, b: parts(tnp.nan_to_num(complex_of(a, b), posinf=5.0, neginf=-5.0)),
        (((4,), (4,)),),
        domains=[with_nonfinite, lambda z: with_nonfinite(z)[::-1].copy()],
        covers=["where", "real", "imag"],
    ),
    Case(
        "real_if_close-complex-kept",
        lambda a, b: parts(tnp.real_if_close(complex_of(a, b))),
        (((3,), (3,)),),
        covers=["real", "imag"],
    ),
    Case(
        "real_if_close-real-part",
        lambda a: tnp.real_if_close(a * (1.5 + 0j)),
        (((3,),), ((2, 3),)),
        covers=["real"],
    ),
    Case(
        "polyval",
        tnp.polyval,
        (((3,), ()), ((4,), (5,)), ((1,), (2, 3))),
        covers=["getitem", "multiply", "add"],
    ),
    Case("np.polyval", np.polyval, (((3,), (2, 3)),), covers=["getitem"]),
    Case(
        "polyval-complex",
        lambda a, b, x: parts(tnp.polyval(complex_of(a, b), x * (1 - 1j))),
        (((3,), (3,), (4,)),),
        covers=["getitem"],
    ),
]
