"""Matrix rows for tapeflow/numpy/elementwise.py.

Complex rules are checked through real-in, real-out compositions (the complex
values live inside the function), so the finite differences stay real while
every complex cotangent on the way is exercised.
"""

import numpy as np

import tapeflow.numpy as tnp
from tests.numpy.spec import BINARY_SHAPES, UNARY_SHAPES, Case, above_one, positive, real, unit


def _times(k):  # noqa: ANN001, ANN202
    return lambda z: k * real(z)


def _complex(a, b):  # noqa: ANN001, ANN202
    return a + 1j * b


def _piecewise(x):  # noqa: ANN001, ANN202
    # Zero-gradient functions must pass values through and contribute nothing.
    steps = (
        tnp.floor(x)
        + tnp.ceil(x)
        + tnp.trunc(x)
        + tnp.rint(x)
        + tnp.round(x, decimals=1)
        + tnp.fix(x)
        + tnp.sign(x)
        + tnp.floor_divide(x, 0.7)
        + tnp.heaviside(x, 0.5)
    )
    flags = tnp.logical_or(tnp.logical_and(x > 0, tnp.isfinite(x)), tnp.logical_not(tnp.isnan(x)))
    flags = tnp.logical_xor(flags, tnp.isinf(x)) & ~tnp.signbit(x)
    return x * steps + tnp.where(flags, x, 2 * x)


_CLIP_SHAPES = (((), (), ()), ((3,), (), ()), ((2, 3), (3,), (2, 1)), ((2, 3, 4), (3, 4), ()))
_CLIP_DOMAINS = [_times(2.0), lambda z: -0.5 + 0.1 * np.tanh(z), lambda z: 0.5 + 0.1 * np.tanh(z)]
_PAIR = (((), ()), ((3,), (3,)), ((2, 3), (2, 3)), ((2, 3), (3,)))

CASES = [
    # arithmetic
    Case("add", tnp.add, BINARY_SHAPES, covers=["add"]),
    Case("subtract", tnp.subtract, BINARY_SHAPES, covers=["subtract"]),
    Case("multiply", tnp.multiply, BINARY_SHAPES, covers=["multiply"]),
    Case(
        "true_divide", tnp.true_divide, BINARY_SHAPES, domains=[real, positive], covers=["divide"]
    ),
    Case("power", tnp.power, BINARY_SHAPES, domains=[positive, real], covers=["power"]),
    Case("power_int_exponent", lambda x: x**3 + tnp.power(x, 2), covers=["power"]),
    Case(
        "power_constant_exponents",
        lambda x: x**1 + x**0 + x**2.0 + x**3.0 + x**0.5 + x**-1.5,
        domains=positive,
        covers=["power"],
    ),
    # numpy computes float_power in float64 whatever the inputs: no float32 row.
    Case(
        "float_power",
        tnp.float_power,
        BINARY_SHAPES,
        domains=[positive, real],
        dtypes=(np.float64,),
        covers=["float_power"],
    ),
    Case("negative", tnp.negative, covers=["negative"]),
    Case("positive", tnp.positive, covers=["positive"]),
    Case("square", tnp.square, covers=["square"]),
    Case("sqrt", tnp.sqrt, domains=positive, covers=["sqrt"]),
    Case("cbrt", tnp.cbrt, covers=["cbrt"]),
    Case("reciprocal", tnp.reciprocal, covers=["reciprocal"]),
    Case("absolute", tnp.absolute, covers=["absolute"]),
    Case("fabs", tnp.fabs, covers=["fabs"]),
    Case(
        "mod",
        lambda x, y: tnp.mod(x, y),
        BINARY_SHAPES[:4],
        domains=[positive, lambda z: positive(z) + 3.0],
        covers=["remainder"],
    ),
    Case(
        "fmod",
        tnp.fmod,
        BINARY_SHAPES[:4],
        domains=[_times(4.0), lambda z: positive(z) + 1.0],
        covers=["fmod"],
    ),
    # exponentials and logarithms
    Case("exp", tnp.exp, covers=["exp"]),
    Case("expm1", tnp.expm1, covers=["expm1"]),
    Case("exp2", tnp.exp2, covers=["exp2"]),
    Case("log", tnp.log, domains=positive, covers=["log"]),
    Case("log1p", tnp.log1p, domains=lambda z: np.abs(z) - 0.5, covers=["log1p"]),
    Case("log2", tnp.log2, domains=positive, covers=["log2"]),
    Case("log10", tnp.log10, domains=positive, covers=["log10"]),
    Case("logaddexp", tnp.logaddexp, BINARY_SHAPES, covers=["logaddexp"]),
    Case("logaddexp2", tnp.logaddexp2, BINARY_SHAPES, covers=["logaddexp2"]),
    # trigonometry
    Case("sin", tnp.sin, covers=["sin"]),
    Case("cos", tnp.cos, covers=["cos"]),
    Case("tan", tnp.tan, domains=unit, covers=["tan"]),
    Case("arcsin", tnp.arcsin, domains=unit, covers=["arcsin"]),
    Case("arccos", tnp.arccos, domains=unit, covers=["arccos"]),
    Case("arctan", tnp.arctan, covers=["arctan"]),
    Case("arctan2", tnp.arctan2, BINARY_SHAPES, covers=["arctan2"]),
    Case("sinh", tnp.sinh, covers=["sinh"]),
    Case("cosh", tnp.cosh, covers=["cosh"]),
    Case("tanh", tnp.tanh, covers=["tanh"]),
    Case("arcsinh", tnp.arcsinh, covers=["arcsinh"]),
    Case("arccosh", tnp.arccosh, domains=above_one, covers=["arccosh"]),
    Case("arctanh", tnp.arctanh, domains=unit, covers=["arctanh"]),
    Case("hypot", tnp.hypot, BINARY_SHAPES, covers=["hypot"]),
    Case("sinc", tnp.sinc, covers=["sinc"]),
    Case("deg2rad", tnp.deg2rad, covers=["deg2rad"]),
    Case(
        "rad2deg",
        lambda x: tnp.rad2deg(x) + tnp.degrees(x) * tnp.radians(x),
        covers=["rad2deg", "deg2rad"],
    ),
    # selection and extrema (ties: see the tie rows)
    Case("maximum", tnp.maximum, BINARY_SHAPES, covers=["maximum"]),
    Case("minimum", tnp.minimum, BINARY_SHAPES, covers=["minimum"]),
    Case("fmax", tnp.fmax, BINARY_SHAPES, covers=["fmax"]),
    Case("fmin", tnp.fmin, BINARY_SHAPES, covers=["fmin"]),
    # A tie splits the gradient equally, so the sum is the derivative of x.
    Case("maximum_tie", lambda x: tnp.maximum(x, x) + tnp.fmin(x, x), covers=["maximum", "fmin"]),
    Case("clip", tnp.clip, _CLIP_SHAPES, domains=_CLIP_DOMAINS, covers=["clip"]),
    Case(
        "clip_one_bound",
        lambda a, lo: tnp.clip(a, lo, None) + tnp.clip(a, None, lo),
        _PAIR,
        covers=["clip"],
    ),
    Case("where", lambda x, y: tnp.where(x > 0, x, y), BINARY_SHAPES, covers=["where"]),
    Case("copysign", tnp.copysign, BINARY_SHAPES, covers=["copysign"]),
    Case("piecewise_constant", _piecewise),
    # complex parts, through real-valued compositions
    Case("real", tnp.real, covers=["real"]),
    Case("imag_of_real", lambda x: x * tnp.imag(x) + tnp.real(x), covers=["imag"]),
    Case(
        "complex_real_imag",
        lambda a, b: (
            tnp.real(_complex(a, b) * _complex(b, 0.5)) * tnp.imag(_complex(a, b) ** 2 * (1 + 0.5j))
        ),
        _PAIR,
        covers=["real", "imag"],
    ),
    Case(
        "complex_conj",
        lambda a, b: (
            tnp.imag(tnp.conj(_complex(a, b) ** 2) * (1 + 2j))
            + tnp.real(_complex(a, b).conj() * _complex(b, 1.0))
        ),
        _PAIR,
        covers=["conjugate"],
    ),
    Case(
        "complex_angle",
        lambda a, b: tnp.angle(_complex(a, b)) + tnp.angle(_complex(b, a), deg=True) / 90,
        _PAIR,
        covers=["angle"],
    ),
    Case("angle_of_real", lambda x: x * tnp.angle(x), covers=["angle"]),
    Case(
        "complex_abs", lambda a, b: tnp.abs(_complex(a, b) * (2 - 1j)), _PAIR, covers=["absolute"]
    ),
    Case(
        "complex_holomorphic",
        lambda a, b: (
            tnp.real(tnp.exp(_complex(a, b)) * tnp.sin(_complex(b, a)) / (1 + _complex(a, b) ** 2))
            + tnp.imag(
                tnp.log(_complex(a, b)) * tnp.sqrt(_complex(a, b)) - tnp.tanh(_complex(a, b))
            )
        ),
        _PAIR,
        covers=["exp", "sin", "divide", "log", "sqrt", "tanh"],
    ),
    Case("astype", lambda x: tnp.astype(x * 2, x.dtype), covers=["astype"]),
    Case(
        "astype_complex",
        lambda x: tnp.real(tnp.astype(x, np.complex128) * (1 + 1j)) ** 2,
        UNARY_SHAPES,
        dtypes=(np.float64,),
        covers=["astype"],
    ),
]
