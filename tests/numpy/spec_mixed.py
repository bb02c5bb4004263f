"""Matrix rows where a real value meets a complex one.

Every primitive with two or more differentiable arguments gets a row
``f(real(z), w)`` with complex ``w``, the real argument in each position: the real
argument is computed from a complex value, so an imaginary part left in its cotangent
would reach the input through the complex product and disagree with finite
differences. A primitive that takes no complex values is listed in ``REAL_ONLY`` with
the reason; ``test_matrix.py`` fails for a primitive that is in neither.

Inputs are real (the finite differences stay real); outputs may be complex.
"""

import numpy as np

import tapeflow.numpy as tnp
import tapeflow.scipy.linalg as tsl
import tapeflow.scipy.signal as tss
import tapeflow.scipy.special as tsp
from tapeflow import lax
from tapeflow import nn as tnn
from tapeflow.numpy import linalg as L
from tests.numpy.spec import Case, positive


def _r(a):  # noqa: ANN001, ANN202
    """A real intermediate computed from a complex value: 0.8 a + 0.18."""
    return tnp.real((a + 0.3j) * (0.8 - 0.6j))


def _w(b):  # noqa: ANN001, ANN202
    """A complex value of the real input b."""
    return b * (0.7 - 1.1j) + 0.2


def _out(z):  # noqa: ANN001, ANN202
    """A real output that reads both parts of a complex result (the matrix's harnesses
    take real losses): 0.6 Re z - 0.8 Im z."""
    return tnp.real(z * (0.6 + 0.8j))


def _both(name, f, shapes, covers, **kw):  # noqa: ANN001, ANN003, ANN202
    """Rows f(real, complex) and f(complex, real)."""
    first = lambda a, b: _out(f(_r(a), _w(b)))  # noqa: E731
    second = lambda a, b: _out(f(_w(a), _r(b)))  # noqa: E731
    return [
        Case(f"mixed-{name}-real-first", first, shapes, covers=covers, **kw),
        Case(f"mixed-{name}-real-second", second, shapes, covers=covers, **kw),
    ]


_EW = (((2, 3), (2, 3)), ((2, 3), (3,)), ((), (2,)))
_MM = (((2, 3), (3, 2)), ((3,), (3, 2)), ((2, 3), (3,)))


def _real(a):  # noqa: ANN001, ANN202
    """The real dtype of ``a`` (float32 rows stay float32)."""
    return np.finfo(a.dtype).dtype


def _well_posed(a):  # noqa: ANN001, ANN202
    return a + 3 * np.eye(a.shape[-1], dtype=a.dtype)


CASES = [
    *_both("add", tnp.add, _EW, ["add"]),
    *_both("subtract", tnp.subtract, _EW, ["subtract"]),
    *_both("multiply", tnp.multiply, _EW, ["multiply"]),
    *_both("divide", tnp.divide, _EW, ["divide"], domains=positive),
    *_both("power", tnp.power, _EW, ["power"], domains=positive),
    # numpy computes float_power in 64 bits whatever the inputs: float64 rows only.
    *_both(
        "float_power", tnp.float_power, _EW, ["float_power"], domains=positive, dtypes=(np.float64,)
    ),
    *_both("matmul", tnp.matmul, _MM, ["matmul"]),
    *_both("dot", tnp.dot, _MM, ["matmul"]),
    *_both("tensordot", lambda x, y: tnp.tensordot(x, y, axes=1), _MM[:1], ["einsum"]),
    *_both("outer", tnp.outer, (((3,), (2,)),), ["multiply"]),
    *_both("kron", tnp.kron, (((2,), (3,)),), ["multiply"]),
    *_both("einsum", lambda x, y: tnp.einsum("ij,jk->ik", x, y), _MM[:1], ["einsum"]),
    *_both("concatenate", lambda x, y: tnp.concatenate([x, y]), _EW[:1], ["concatenate"]),
    *_both("stack", lambda x, y: tnp.stack([x, y]), _EW[:1], ["concatenate"]),
    *_both(
        "where",
        lambda x, y: tnp.where(np.array([True, False, True]), x, y),
        _EW[1:2],
        ["where"],
    ),
    *_both("convolve", tnp.convolve, (((4,), (3,)),), ["convolve"]),
    *_both(
        "signal.convolve-direct",
        lambda x, y: tss.convolve(x, y, mode="same", method="direct"),
        (((4, 3), (2, 2)),),
        ["scipy.signal.convolve"],
    ),
    *_both(
        "signal.convolve-fft",
        lambda x, y: tss.convolve(x, y, method="fft"),
        (((4,), (3,)),),
        ["scipy.signal.convolve"],
    ),
    # (x log y: y complex off the negative real axis, positive b keeps _w's real part > 0)
    *_both(
        "linalg.solve_triangular",
        lambda a, b: tsl.solve_triangular(_well_posed(a), b, lower=True),
        (((3, 3), (3,)), ((3, 3), (3, 2))),
        ["scipy.linalg.solve_triangular"],
    ),
    *_both(
        "linalg.solve_banded",
        lambda ab, b: tsl.solve_banded((1, 0), ab + np.array([[3.0], [0.0]], _real(ab)), b),
        (((2, 3), (3,)),),
        ["scipy.linalg.solve_banded"],
    ),
    *_both(
        "linalg.solve_sylvester",
        lambda a, q: tsl.solve_sylvester(_well_posed(a), _well_posed(a.T) * 0.5, q),
        (((2, 2), (2, 2)),),
        ["scipy.linalg.solve_sylvester"],
    ),
    *_both("xlogy", tsp.xlogy, _EW, ["scipy.special.xlogy"], domains=positive),
    *_both("xlog1py", tsp.xlog1py, _EW, ["scipy.special.xlog1py"], domains=positive),
    *_both(
        "linear_scan",
        lambda x, y: tnp.linear_scan(x * 0.5, y, axis=0),
        (((4, 2), (4, 2)),),
        ["linear_scan"],
    ),
    Case(
        "mixed-solve-real-matrix",
        lambda a, b: _out(L.solve(_well_posed(_r(a)), _w(b))),
        (((3, 3), (3,)), ((3, 3), (3, 2))),
        covers=["linalg.solve"],
    ),
    Case(
        "mixed-solve-real-rhs",
        lambda a, b: _out(L.solve(_well_posed(_w(a)), _r(b))),
        (((3, 3), (3,)), ((3, 3), (3, 2))),
        covers=["linalg.solve"],
    ),
    Case(
        "mixed-einsum-three",
        lambda a, b, c: _out(tnp.einsum("i,ij,j->", _r(a), _w(b), _r(c))),
        (((2,), (2, 3), (3,)),),
        covers=["einsum"],
    ),
    Case(
        "mixed-at",
        lambda a, b: _out(
            tnp.at(_w(a))[1:].set(_r(b))
            + tnp.at(_w(a))[:2].add(_r(b))
            + tnp.at(_w(a))[::2].multiply(_r(b))
        ),
        (((3,), ()), ((3,), (2,))),
        covers=["at_set", "at_add", "at_multiply"],
    ),
    Case(
        "mixed-nn.linear",
        lambda a, b, c: _out(tnn.linear(_r(a), _w(b), _r(c)) + tnn.linear(_w(a), _r(b), _w(c))),
        (((2, 3), (3, 4), (4,)),),
        covers=["nn.linear"],
    ),
    Case(
        "mixed-lax.scan",
        lambda a, b: _out(lax.scan(lambda c, x: (c * x + x, tnp.real(c)), _w(b), _r(a))[0]),
        (((4, 2), (2,)),),
        covers=["lax.scan"],
    ),
    Case(
        "mixed-lax.cond",
        lambda a, b: _out(lax.cond(True, lambda x, y: x * y, lambda x, y: x - y, _r(a), _w(b))),
        (((3,), (3,)),),
        covers=["lax.cond"],
    ),
]

# Primitives with two or more differentiable arguments that take no complex values
# (numpy refuses them, or they compare and order their arguments), and those whose
# mixed rows belong elsewhere.
REAL_ONLY = {
    "arctan2": "numpy.arctan2 takes real arguments only",
    "hypot": "numpy.hypot takes real arguments only",
    "logaddexp": "numpy.logaddexp takes real arguments only",
    "logaddexp2": "numpy.logaddexp2 takes real arguments only",
    "fmod": "numpy.fmod takes real arguments only",
    "remainder": "numpy.remainder takes real arguments only",
    "maximum": "orders its arguments (complex numbers have no order tapeflow differentiates)",
    "minimum": "orders its arguments",
    "fmax": "orders its arguments",
    "fmin": "orders its arguments",
    "clip": "orders its arguments",
    "at_max": "orders its arguments",
    "at_min": "orders its arguments",
    "logsumexp": "real logits (its shift by the maximum orders them)",
    "nn.binary_cross_entropy_with_logits": "real logits and labels",
    "nn.conv2d_weight_grad": "the VJP of nn.conv2d, real as it is",
    "nn.conv2d_from_patches": "real images and kernels (tapeflow.nn's layers are real)",
    "nn.conv2d_patches_grad": "the VJP of nn.conv2d_from_patches, real as it is",
    "lax.closed_call": "a checkpointed body: its mixed row is the body's own primitives'",
    "lax.while_recording": "while_loop's forward pass: real rows in spec_lax.py",
    "lax.while_replay": "while_loop's replay: real rows in spec_lax.py",
    "scipy.integrate.odeint": "scipy.integrate.odeint integrates real systems only",
    "scipy.special.zeta": "scipy.special.zeta takes real arguments only",
    "scipy.special.psi_gap": "a piece of betaln, which takes real arguments only",
    "scipy.special.yn": "scipy.special.yn takes real arguments only",
    # The order of a Bessel function has no derivative: one differentiable argument,
    # whose complex rows are in spec_special.py.
    "scipy.special.iv": "the order is not differentiable (complex rows: spec_special.py)",
    "scipy.special.ive": "the order is not differentiable (complex rows: spec_special.py)",
    "scipy.special.ive_asymptotic": "ive's large-|x| series: the order is not differentiable",
    "scipy.special.jv": "the order is not differentiable (complex rows: spec_special.py)",
    "scipy.special.yv": "the order is not differentiable",
    "scipy.special.kl_div": "scipy.special.kl_div takes real arguments only",
    "scipy.special.rel_entr": "scipy.special.rel_entr takes real arguments only",
    "scipy.special.beta": "scipy.special.beta takes real arguments only",
    "scipy.special.betaln": "scipy.special.betaln takes real arguments only",
    "scipy.special.betainc": "scipy.special.betainc takes real arguments only",
    "scipy.special.gammainc": "scipy.special.gammainc takes real arguments only",
    "scipy.special.gammaincc": "scipy.special.gammaincc takes real arguments only",
}
