"""Matrix rows with a Python float next to an array.

A Python float is weak: with a float32 array the result stays float32, and the float
itself is rounded to float32 where numpy stores it. The matrix runs every row at
float32 (no promotion allowed) and float64, against finite differences; the floats
below are chosen inexact in float32 (0.1, -1.97, 1/3...), so that a rule comparing
them with float32 values (ties of max/min, .at[] updates) meets the rounding.
"""

import numpy as np

import tapeflow.numpy as tnp
import tapeflow.scipy.special as tsp
from tests.numpy.spec import Case, positive, real

_S = (((3,),), ((2, 3),))  # one array argument
_AT_INDICES = {"slice": slice(None, 2), "array": [0, 2], "ellipsis": Ellipsis}


def _binary(name, f, covers, left=real, right=real, scalar=0.37, **kw):  # noqa: ANN001, ANN003, ANN202
    """Rows f(x, scalar) and f(scalar, x)."""
    return [
        Case(f"scalar-{name}-right", lambda x: f(x, scalar), _S, domains=left, covers=covers, **kw),
        Case(f"scalar-{name}-left", lambda x: f(scalar, x), _S, domains=right, covers=covers, **kw),
    ]


CASES = [
    *_binary("add", tnp.add, ["add"], scalar=0.1),
    *_binary("subtract", tnp.subtract, ["subtract"], scalar=0.1),
    *_binary("multiply", tnp.multiply, ["multiply"], scalar=1 / 3),
    *_binary("divide", tnp.divide, ["divide"], right=positive, scalar=1 / 3),
    *_binary("power", tnp.power, ["power"], left=positive, scalar=1.3),
    *_binary("arctan2", tnp.arctan2, ["arctan2"], scalar=0.1),
    *_binary("hypot", tnp.hypot, ["hypot"], scalar=0.1),
    *_binary("logaddexp", tnp.logaddexp, ["logaddexp"], scalar=0.1),
    *_binary("logaddexp2", tnp.logaddexp2, ["logaddexp2"], scalar=0.1),
    *_binary("maximum", tnp.maximum, ["maximum"], scalar=0.1),
    *_binary("minimum", tnp.minimum, ["minimum"], scalar=0.1),
    *_binary("fmax", tnp.fmax, ["fmax"], scalar=0.1),
    *_binary("fmin", tnp.fmin, ["fmin"], scalar=0.1),
    Case("scalar-fmod", lambda x: tnp.fmod(x, 1.37), _S, covers=["fmod"]),
    Case("scalar-remainder", lambda x: tnp.remainder(x, 1.37), _S, covers=["remainder"]),
    Case("scalar-clip", lambda x: tnp.clip(x, -0.37, 0.61), _S, covers=["clip"]),
    Case("scalar-clip-low", lambda x: tnp.clip(x, -0.37, None), _S, covers=["clip"]),
    Case("scalar-where", lambda x: tnp.where(x > 0, x, 0.3), _S, covers=["where"]),
    Case("scalar-where-left", lambda x: tnp.where(x > 0, 0.7, x * x), _S, covers=["where"]),
    Case(
        "scalar-linspace",
        lambda x: tnp.linspace(x, 2.3, 5) + tnp.linspace(-1.1, x, 4, endpoint=False)[1],
        _S,
        covers=["multiply", "add"],
    ),
]


def _in_unit_interval(z: np.ndarray) -> np.ndarray:
    return 0.5 + 0.4 * np.tanh(z)


# scipy.special's functions of two or three arguments
_SP = "scipy.special."
CASES += [
    *_binary("xlogy", tsp.xlogy, [_SP + "xlogy"], right=positive, scalar=0.37),
    *_binary("xlog1py", tsp.xlog1py, [_SP + "xlog1py"], right=positive, scalar=0.37),
    *_binary("kl_div", tsp.kl_div, [_SP + "kl_div"], positive, positive, scalar=0.37),
    *_binary("rel_entr", tsp.rel_entr, [_SP + "rel_entr"], positive, positive, scalar=0.37),
    *_binary("beta", tsp.beta, [_SP + "beta"], positive, positive, scalar=1.3),
    *_binary("betaln", tsp.betaln, [_SP + "betaln"], positive, positive, scalar=1.3),
    *_binary("gammainc", tsp.gammainc, [_SP + "gammainc"], positive, positive, scalar=1.3),
    *_binary("gammaincc", tsp.gammaincc, [_SP + "gammaincc"], positive, positive, scalar=1.3),
    Case("scalar-betainc-a", lambda x: tsp.betainc(x, 1.3, 0.37), _S, domains=positive,
         covers=[_SP + "betainc"]),
    Case("scalar-betainc-b", lambda x: tsp.betainc(1.3, x, 0.37), _S, domains=positive,
         covers=[_SP + "betainc"]),
    Case("scalar-betainc-x", lambda x: tsp.betainc(1.3, 0.7, x), _S, domains=_in_unit_interval,
         covers=[_SP + "betainc"]),
]  # fmt: skip
for _label, _index in _AT_INDICES.items():
    CASES += [
        Case(
            f"scalar-at-{method}-{_label}",
            (lambda m, i, v: lambda x: getattr(tnp.at(x)[i], m)(v))(method, _index, value),
            (((3,),), ((3, 2),)),
            covers=[f"at_{name}"],
        )
        for method, name, value in (
            ("set", "set", -1.97),
            ("add", "add", 0.1),
            ("subtract", "add", 0.1),
            ("multiply", "multiply", 1 / 3),
            ("divide", "multiply", 3.1),
            ("max", "max", -0.1),
            ("min", "min", 0.1),
        )
    ]
