"""Matrix rows for tapeflow/numpy/elementwise.py."""

import tapeflow.numpy as tnp
from tests.numpy.spec import BINARY_SHAPES, Case, positive, real

CASES = [
    Case("add", tnp.add, BINARY_SHAPES, covers=["add"]),
    Case("subtract", tnp.subtract, BINARY_SHAPES, covers=["subtract"]),
    Case("multiply", tnp.multiply, BINARY_SHAPES, covers=["multiply"]),
    Case("true_divide", tnp.true_divide, BINARY_SHAPES, domains=[real, positive], covers=["divide"]),
    Case("power", tnp.power, BINARY_SHAPES, domains=[positive, real], covers=["power"]),
    Case("negative", tnp.negative, covers=["negative"]),
    Case("square", tnp.square, covers=["square"]),
    Case("sqrt", tnp.sqrt, domains=positive, covers=["sqrt"]),
    Case("absolute", tnp.absolute, covers=["absolute"]),
    Case("exp", tnp.exp, covers=["exp"]),
    Case("log", tnp.log, domains=positive, covers=["log"]),
    Case("sin", tnp.sin, covers=["sin"]),
    Case("cos", tnp.cos, covers=["cos"]),
    Case("tanh", tnp.tanh, covers=["tanh"]),
    Case("mod", lambda x, y: tnp.mod(x, y), BINARY_SHAPES[:4], domains=[positive, lambda z: positive(z) + 3.0], covers=["remainder"]),
    Case("where", lambda x, y: tnp.where(x > 0, x, y), BINARY_SHAPES, covers=["where"]),
    Case("real", tnp.real, covers=["real"]),
    Case("astype", lambda x: tnp.astype(x * 2, x.dtype), covers=["astype"]),
]
