"""Differential testing: random numpy programs, every transform against every other.

Each example is a random composition of functions from the coverage table: elementwise
maps (numpy's and scipy.special's), binary operations with broadcast operands and Python
scalars, reductions over random axes (with ``keepdims``, ``where=``, ``initial=``), shape
changes, indexing and ``.at[]`` updates, joining, products, linear algebra, Fourier
transforms, convolution, sorting and padding. A program is real, complex, or mixed (its
value moves between real and complex, meeting operands of either kind), float32 or
float64. Its derivatives are checked

* in reverse and forward mode against central differences in float64
  (``tp.check_grads``), to second order (all four compositions of the two modes), with
  the dtype of every cotangent and tangent;
* forward against reverse mode, through ``<u, J v> == <J^T u, v>`` to rounding;
* under ``tp.vmap`` (a batch of inputs; the function, its VJP and its JVP) against a loop;
* under ``tp.jit`` (the function, its VJP and its JVP, and ``jit(vmap(f))``) against the
  eager results, on the traced inputs and on new ones.

The examples are seeded (hypothesis, derandomized) and bounded, so the suite stays fast.
``python -m pytest tests/test_differential.py --slow -s`` checks 10,000 programs
(``--slow-examples N`` changes the number, ``--slow-shard i/n`` runs the i-th of n
disjoint sets, for parallel runs) and prints how many ran and failed, by kind and dtype.

Finite differences and single precision have limits; the generator keeps programs
inside them rather than loosening the tolerances, and ``LIMITS`` says how and why
(docs/testing.md shows the same table).
"""

from __future__ import annotations

import collections
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import tapeflow as tp
import tapeflow.numpy as tnp
import tapeflow.scipy.signal as tss
import tapeflow.scipy.special as tsp
from tapeflow.core import tape as tape_module
from tapeflow.numpy import linalg as L
from tapeflow.vmap import BatchingFallbackWarning

# What central differences (and float32) cannot check, and what the generator does about
# it: (situation, what the programs do, why).
LIMITS = [
    (
        "kinks and ties",
        "max, min, ptp, sort, median, quantile, std, the maximum/minimum/median pad modes "
        "and .at[].max/min receive values made distinct by a ramp (spacing 3)",
        "at a tie the derivative is a convention; a central difference straddling the tie "
        "measures the mean of two one-sided slopes, or a slope of a different branch",
    ),
    (
        "zero variance",
        "std reduces at least two ramped entries",
        "the square root has an infinite slope at zero variance, which tiled or broadcast "
        "values reach exactly",
    ),
    (
        "overflow",
        "exp, power, products, cumprod and the gamma-type functions receive bounded values "
        "(tanh, sin, 1 + 0.3 tanh, 1 + x**2); a program whose value is not finite is skipped",
        "an infinite or NaN value has no derivative to compare",
    ),
    (
        "branch cuts and poles",
        "complex sqrt, log, angle, log_ndtr, digamma and reciprocals are shifted away from "
        "them (4 + z/10, 3 + z/10...); real ones likewise (xlogy's y > 0, ndtri's p in "
        "(0.1, 0.9), erfinv's |x| < 0.9)",
        "near a cut or pole the step of a central difference crosses it or its truncation "
        "error explodes",
    ),
    (
        "ill-conditioned matrices",
        "solve, lstsq, inv, det, slogdet, cholesky, eigvalsh and svdvals receive 3 I + 0.3 A "
        "(A bounded, or a normal draw of standard deviation 0.7)",
        "the rounding error of a derivative grows with the condition number (its square at "
        "second order): lstsq of a random 2 x 2 float32 matrix was 5e-4 off at second order",
    ),
    (
        "rules that cancel, under a small step",
        "betaln's first argument stays in (2.1, 3.9)",
        "betaln's derivative in a, digamma(a) - digamma(a + b), carries rounding of relative "
        "size 1e-16 a / b, which a central difference of it (step 1e-6) magnifies a "
        "millionfold: a float64 second-order check with a in the thousands was 5e-5 off, "
        "and agreed with steps 1e-5 and 1e-4",
    ),
    (
        "float32 rounding",
        "float32 programs are compared with float64 central differences at 2e-4 relative "
        "(float64 ones at 1e-5), other transforms at 2e-5 (float64 at 1e-9)",
        "a float32 derivative carries the rounding of its rule's formula, amplified where "
        "the formula cancels: betaln's digamma(a) - digamma(a + b) at a >> b loses "
        "log10(a / b) digits (4.6e-5 relative was seen at second order)",
    ),
    (
        "derivatives that cancel to zero",
        "forward and reverse mode agree within rtol * (the terms' moduli) + atol * |u| |v|",
        "the derivative of a constant such as |exp(ix)| is a rounding error of the size of "
        "the terms that cancelled, not 0",
    ),
]

MAX_SIZE = 48  # entries of any intermediate value
RAMP = 3.0  # spacing that makes bounded values distinct before a kinked function

# ----- the functions a program draws from -----------------------------------------------
# Unary maps by kind of value: (name, function). Each keeps values bounded.
REAL_UNARY: dict[str, Callable[[Any], Any]] = {
    "sin": tnp.sin,
    "cos": tnp.cos,
    "tanh": tnp.tanh,
    "arctan": tnp.arctan,
    "exp(tanh)": lambda x: tnp.exp(tnp.tanh(x)),
    "log1p(x^2)": lambda x: tnp.log1p(x * x),
    "sqrt(1+x^2)": lambda x: tnp.sqrt(1 + x * x),
    "square(tanh)": lambda x: tnp.square(tnp.tanh(x)) * 2.0,
    "expm1(tanh)": lambda x: tnp.expm1(tnp.tanh(x)),
    "x/(1+x^2)": lambda x: x / (1.0 + x**2),
    "abs(ramped)": lambda x: tnp.abs(tnp.tanh(x) + 1.5),
    "cbrt(1+x^2)": lambda x: tnp.cbrt(1 + x * x),
    "log(cosh)": lambda x: tnp.logaddexp(x, -x),
    "arcsinh": tnp.arcsinh,
    "sinc": lambda x: tnp.sinc(tnp.tanh(x) + 2.0),
    "np.sin": np.sin,
    "np.exp(-x^2)": lambda x: np.exp(-(x**2)),
    "erf": tsp.erf,
    "erfc": tsp.erfc,
    "erfcx(tanh)": lambda x: tsp.erfcx(tnp.tanh(x)),
    "erfinv(0.9tanh)": lambda x: tsp.erfinv(0.9 * tnp.tanh(x)),
    "expit": tsp.expit,
    "log_expit": lambda x: tsp.log_expit(tnp.tanh(x) * 3.0),
    "logit(expit(tanh))": lambda x: tsp.logit(tsp.expit(tnp.tanh(x))),
    "ndtr": tsp.ndtr,
    "log_ndtr": lambda x: tsp.log_ndtr(tnp.tanh(x) * 3.0),
    "ndtri": lambda x: tsp.ndtri(0.5 + 0.4 * tnp.tanh(x)),
    "gammaln(2+x^2)": lambda x: tsp.gammaln(2.0 + x * x),
    "digamma(2+x^2)": lambda x: tsp.digamma(2.0 + x * x),
    "polygamma(1,2+x^2)": lambda x: tsp.polygamma(1, 2.0 + x * x),
    "entr(1+x^2)": lambda x: tsp.entr(1.0 + x * x),
}
COMPLEX_UNARY: dict[str, Callable[[Any], Any]] = {
    "sin(z/2)": lambda z: tnp.sin(z * 0.5),
    "exp(z/4)": lambda z: tnp.exp(z * 0.25),
    "square/4": lambda z: tnp.square(z) * 0.25,
    "conj": tnp.conj,
    "z*(0.3-0.2j)": lambda z: z * (0.3 - 0.2j),
    "sqrt(4+z/10)": lambda z: tnp.sqrt(4 + z * 0.1),
    "log(4+z/10)": lambda z: tnp.log(4 + z * 0.1),
    "1/(2+z/10)": lambda z: 1 / (2 + z * 0.1),
    "np.cos(z/2)": lambda z: np.cos(z * 0.5),
    "erf(z/4)": lambda z: tsp.erf(z * 0.25),
    "digamma(3+z/10)": lambda z: tsp.digamma(3 + z * 0.1),
    "log_ndtr(1+z/10)": lambda z: tsp.log_ndtr(1 + z * 0.1),
}
# Complex to real.
TO_REAL: dict[str, Callable[[Any], Any]] = {
    "real": tnp.real,
    "imag": tnp.imag,
    "abs": tnp.abs,  # a kink at 0 only, which random complex values avoid
    "abs^2": lambda z: tnp.abs(z) ** 2,
    "angle(3+z/10)": lambda z: tnp.angle(3 + z * 0.1),
    "np.real": np.real,
}
# Real to complex (mixed programs).
TO_COMPLEX: dict[str, Callable[[Any], Any]] = {
    "x*(0.6-0.8j)": lambda x: x * (0.6 - 0.8j),
    "exp(1j*x)": lambda x: tnp.exp(1j * x),
    "x+0.5j": lambda x: x + 0.5j,
}
# Binary operations of the value x and an operand y; "real"/"complex": which x they take.
REAL_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "add": tnp.add,
    "subtract": tnp.subtract,
    "multiply": tnp.multiply,
    "divide": lambda x, y: x / (1.5 + tnp.tanh(y)),
    "power": lambda x, y: tnp.power(1.2 + tnp.tanh(x), y),
    "maximum": tnp.maximum,
    "minimum": tnp.minimum,
    "fmax": tnp.fmax,
    "arctan2": lambda x, y: tnp.arctan2(x, 1.5 + tnp.tanh(y)),
    "hypot": lambda x, y: tnp.hypot(x, y + 2.0),
    "logaddexp": tnp.logaddexp,
    "clip": lambda x, y: tnp.clip(x, -1.0 + 0.1 * tnp.tanh(y), 1.0 + 0.1 * tnp.tanh(y)),
    "where": lambda x, y: tnp.where(tnp.sin(7 * y) > 0, x, y),
    "np.multiply": np.multiply,
    "x*y+x": lambda x, y: x * y + x,
    "xlogy": lambda x, y: tsp.xlogy(x, 1.5 + tnp.tanh(y)),
    "xlog1py": lambda x, y: tsp.xlog1py(x, 0.5 + 0.4 * tnp.tanh(y)),
    "rel_entr": lambda x, y: tsp.rel_entr(1.0 + x * x, _squashed(y)),
    "kl_div": lambda x, y: tsp.kl_div(_squashed(x), 1.0 + y * y),
    "beta": lambda x, y: tsp.beta(_squashed(x), _squashed(y)),
    "betaln": lambda x, y: tsp.betaln(3.0 * _squashed(x), _squashed(y)),  # (LIMITS)
    "gammainc": lambda x, y: tsp.gammainc(1.0 + 0.5 * x * x, _squashed(y)),
    "gammaincc": lambda x, y: tsp.gammaincc(_squashed(x), 1.0 + 0.5 * y * y),
    "betainc": lambda x, y: tsp.betainc(
        _squashed(x) * 2.0, _squashed(y), 0.3 + 0.1 * tnp.tanh(x * y)
    ),
}
COMPLEX_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "add": tnp.add,
    "subtract": tnp.subtract,
    "multiply": tnp.multiply,
    "divide": lambda x, y: x / (3.0 + 0.3 * y),
    "where": lambda x, y: tnp.where(np.array(True), x, y) * 0.5 + y,
    "np.add": np.add,
}
# x op scalar (a Python float or complex), either side.
SCALAR_BINARY: dict[str, Callable[[Any], Any]] = {
    "x*0.37": lambda x: x * 0.37,
    "0.1+x": lambda x: 0.1 + x,
    "x/1.3": lambda x: x / 1.3,
    "x**2": lambda x: x**2,
    "1.3-x": lambda x: 1.3 - x,
}
REAL_SCALAR_BINARY: dict[str, Callable[[Any], Any]] = {
    "maximum(x,0.1)": lambda x: tnp.maximum(x, 0.1),
    "clip(x,-0.37,0.61)": lambda x: tnp.clip(x, -0.37, 0.61),
    "2**tanh(x)": lambda x: 2.0 ** tnp.tanh(x),
    "where(x>0,x,0.3)": lambda x: tnp.where(x > 0, x, 0.3),
}


def _const(values: Any, like: Any) -> np.ndarray:
    """A constant in the real dtype of ``like`` (float32 programs stay float32)."""
    return np.asarray(values, np.finfo(tnp.result_type(like)).dtype)


def _distinct(x: Any) -> Any:
    """Bounded and ramped: no two entries within RAMP - 2 of each other."""
    shape = tnp.shape(x)
    ramp = np.arange(int(np.prod(shape))).reshape(shape) * RAMP
    return _bounded(x) + _const(ramp, x)


def _bounded(x: Any) -> Any:
    """Entries of modulus below 1: tanh for real values, z / (1 + |z|) for complex ones."""
    if np.iscomplexobj(np.empty(0, tnp.result_type(x))):
        return x / (1 + tnp.abs(x))
    return tnp.tanh(x)


def _squashed(x: Any) -> Any:
    """Positive, near 1 (products and powers of many entries stay bounded)."""
    return 1.0 + 0.3 * tnp.tanh(x)


# ----- programs ---------------------------------------------------------------------------
# The choices a program is made of, each a function of a numpy generator. hypothesis
# draws the generator's seed: its own strategies favour their first options so strongly
# (they shrink well) that the combining steps below would seldom meet.
def pick(options: Any) -> Callable[[np.random.Generator], Any]:
    options = list(options)
    return lambda rng: options[int(rng.integers(len(options)))]


def integer(low: int, high: int) -> Callable[[np.random.Generator], int]:
    return lambda rng: int(rng.integers(low, high + 1))


def flip() -> Callable[[np.random.Generator], bool]:
    return lambda rng: bool(rng.integers(2))


def int_list(
    low: int, high: int, min_size: int, max_size: int, unique: bool = False
) -> Callable[[np.random.Generator], list[int]]:
    def choose(rng: np.random.Generator) -> list[int]:
        size = int(rng.integers(min_size, max_size + 1))
        if unique:
            return [int(i) for i in rng.choice(np.arange(low, high + 1), size, replace=False)]
        return [int(i) for i in rng.integers(low, high + 1, size)]

    return choose


def perm(n: int) -> Callable[[np.random.Generator], list[int]]:
    return lambda rng: [int(i) for i in rng.permutation(n)]


# A program is (mode, dtype, input shape, steps, operand specs). Each step is a tuple
# whose first entry names what it does; operands are extra inputs ("r"/"c", shape).


def random_program(draw: Callable[[Any], Any]) -> dict[str, Any]:
    """A random program; ``draw(choice)`` makes each choice (see ``pick``...)."""
    mode = draw(pick(["real", "complex", "mixed"]))
    dtype = draw(pick(["float64", "float32"]))
    ndim = draw(integer(0, 3))
    shape = tuple(draw(int_list(1, 3, ndim, ndim)))
    # mixed: a real or complex input, operands of either kind, and the value moves between
    # real and complex (a real value computed from a complex one, then meeting complex
    # operands, is where a cotangent's imaginary part must be dropped)
    kind = "c" if mode == "complex" or (mode == "mixed" and draw(flip())) else "r"
    input_kind = kind
    steps: list[tuple[Any, ...]] = []
    operands: list[tuple[str, tuple[int, ...]]] = []
    cur = shape

    def operand(shape: tuple[int, ...], kind: str) -> int:
        operands.append((kind, shape))
        return len(operands) - 1

    def operand_kind() -> str:
        if mode == "real":
            return "r"
        if mode == "complex":
            return "c"
        return draw(pick(["r", "c"]))

    def axis(shape: tuple[int, ...]) -> int:
        return draw(integer(-len(shape), len(shape) - 1))

    for _ in range(draw(integer(1, 6))):
        # (repeats weight the draw towards steps that combine values)
        kinds = ["unary", "scalar", "binary", "binary"]
        if cur:
            kinds += ["reduce", "reduce", "shape", "index", "join", "join", "product"]
            kinds += ["product", "pad", "at", "sort", "misc", "misc", "linalg", "fft"]
        if kind == "c":
            kinds += ["to_real"] * (3 if mode == "mixed" else 1)
        elif mode == "mixed":
            kinds += ["to_complex"] * 2
        what = draw(pick(kinds))
        size = int(np.prod(cur))
        if what == "unary":
            table = REAL_UNARY if kind == "r" else COMPLEX_UNARY
            steps.append(("unary", kind, draw(pick(sorted(table)))))
        elif what == "to_real":
            steps.append(("to_real", draw(pick(sorted(TO_REAL)))))
            kind = "r"
        elif what == "to_complex":
            steps.append(("to_complex", draw(pick(sorted(TO_COMPLEX)))))
            kind = "c"
        elif what == "scalar":
            table = dict(SCALAR_BINARY, **(REAL_SCALAR_BINARY if kind == "r" else {}))
            steps.append(("scalar", draw(pick(sorted(table)))))
        elif what == "binary":
            k = draw(integer(0, len(cur)))  # the operand broadcasts: a suffix, some 1s
            other = tuple(n if draw(flip()) else 1 for n in cur[len(cur) - k :])
            okind = operand_kind()
            ops_kind = "c" if "c" in (kind, okind) else "r"
            table = REAL_BINARY if ops_kind == "r" else COMPLEX_BINARY
            name = draw(pick(sorted(table)))
            steps.append(("binary", ops_kind, name, operand(other, okind)))
            kind = ops_kind
        elif what == "reduce":
            step, cur, kind = _draw_reduction(draw, cur, kind, operand_kind)
            steps.append(step)
        elif what == "shape":
            step, cur = _draw_shape_change(draw, cur)
            steps.append(step)
        elif what == "index":
            step, cur = _draw_index(draw, cur)
            steps.append(step)
        elif what == "join":
            ax = axis(cur) % len(cur)
            okind = operand_kind()
            if draw(flip()):
                extra = draw(integer(1, 2))
                other = cur[:ax] + (extra,) + cur[ax + 1 :]
                steps.append(("concatenate", ax, operand(other, okind)))
                cur = other[:ax] + (cur[ax] + extra,) + cur[ax + 1 :]
            else:
                steps.append(("stack", ax, operand(cur, okind)))
                cur = cur[:ax] + (2,) + cur[ax:]
            kind = "c" if "c" in (kind, okind) else "r"
        elif what == "product":
            okind = operand_kind()
            k = draw(integer(1, 3))
            name = draw(pick(["matmul", "einsum", "tensordot", "dot", "np.matmul"]))
            steps.append(("product", name, operand((cur[-1], k), okind)))
            cur = cur[:-1] + (k,)
            kind = "c" if "c" in (kind, okind) else "r"
        elif what == "linalg":
            step, cur, kind = _draw_linalg(draw, cur, kind, operand, operand_kind)
            steps.append(step)
        elif what == "pad":
            modes = ["constant", "edge", "wrap", "reflect", "symmetric", "linear_ramp", "mean"]
            if kind == "r":
                modes += ["maximum", "minimum", "median"]
            pad_mode = draw(pick(modes))
            widths = tuple((draw(integer(0, 2)), draw(integer(0, 2))) for _ in cur)
            odd = pad_mode in ("reflect", "symmetric") and draw(flip())
            steps.append(("pad", pad_mode, widths, odd))
            cur = tuple(n + lo + hi for n, (lo, hi) in zip(cur, widths, strict=True))
        elif what == "at":
            methods = ["set", "add", "multiply"] + (["max", "min"] if kind == "r" else [])
            method = draw(pick(methods))
            ax0 = cur[0]
            index = draw(pick([slice(None, max(1, ax0 - 1)), Ellipsis, 0, (ax0 - 1,)]))
            target = np.broadcast_to(np.zeros((), np.int8), cur)[index].shape
            # (a complex update of a real array would drop its imaginary part, as numpy)
            okind = operand_kind() if kind == "c" else "r"
            steps.append(("at", method, index, operand(target, okind)))
        elif what == "misc":
            step, cur, kind = _draw_misc(draw, cur, kind, operand, operand_kind)
            steps.append(step)
        elif what == "fft":
            step, cur, kind = _draw_fft(draw, cur, kind)
            steps.append(step)
        elif what == "sort":
            if kind == "r":
                name = draw(pick(["sort", "cumsum", "cumprod", "diff", "flip-sort"]))
            else:
                name = draw(pick(["cumsum", "cumprod", "diff"]))
            ax = axis(cur)
            steps.append(("sort", name, ax))
            if name == "diff":
                cur = tuple(n - 1 if i == ax % len(cur) else n for i, n in enumerate(cur))
                if 0 in cur:  # a zero-size result: undo, keep the program meaningful
                    steps.pop()
                    cur = tuple(n + 1 if i == ax % len(cur) else n for i, n in enumerate(cur))
        if int(np.prod(cur)) > MAX_SIZE or (size == 0):
            break
    return {
        "mode": mode,
        "dtype": dtype,
        "input": input_kind,
        "shape": shape,
        "steps": steps,
        "operands": operands,
    }


def _draw_reduction(draw: Any, cur: tuple[int, ...], kind: str, operand_kind: Any) -> Any:
    names = ["sum", "mean", "prod", "cumsum-free-sum", "sum-where", "mean-where", "nansum"]
    names += ["var", "std", "norm"]
    if kind == "r":
        names += ["max", "min", "logsumexp", "median", "max-where"]
    name = draw(pick(names))
    axes = tuple(sorted(draw(int_list(0, len(cur) - 1, 1, len(cur), unique=True))))
    if draw(flip()) and name not in ("median",):
        axes_param: Any = None
        reduced = cur
    else:
        axes_param = axes if len(axes) > 1 or draw(flip()) else axes[0]
        reduced = tuple(cur[a] for a in axes)
    if name == "std" and int(np.prod(reduced)) < 2:
        name = "var"
    if name == "norm":
        axes_param = axes[0] if axes_param is not None else None
        if axes_param is None:
            reduced = cur
    keep = draw(flip())
    mask = tuple(draw(flip()) for _ in range(int(np.prod(cur))))
    if name in ("max-where",):
        mask = (True,) + mask[1:]
    if axes_param is None:
        new = tuple(1 for _ in cur) if keep else ()
    else:
        ax_set = {axes_param} if isinstance(axes_param, int) else set(axes_param)
        new = tuple((1 if keep else None) if i in ax_set else n for i, n in enumerate(cur) if True)
        new = tuple(n for n in new if n is not None)
    if name == "norm":
        keep = False
        if axes_param is None:
            new = ()
        else:
            new = tuple(n for i, n in enumerate(cur) if i != axes_param)
    real = name in ("var", "std", "norm")  # (of complex values too)
    return ("reduce", name, axes_param, keep, mask), new, "r" if real else kind


def _draw_shape_change(draw: Any, cur: tuple[int, ...]) -> Any:
    name = draw(
        pick(["reshape", "transpose", "swapaxes", "flip", "roll", "expand", "broadcast", "repeat"])
    )
    n = len(cur)
    if name == "reshape":
        return ("shape", "reshape", None), (int(np.prod(cur)),)
    if name == "transpose":
        order = tuple(draw(perm(n)))
        return ("shape", "transpose", order), tuple(cur[p] for p in order)
    if name == "swapaxes":
        a, b = draw(integer(0, n - 1)), draw(integer(0, n - 1))
        new = list(cur)
        new[a], new[b] = new[b], new[a]
        return ("shape", "swapaxes", (a, b)), tuple(new)
    if name == "flip":
        return ("shape", "flip", draw(integer(0, n - 1))), cur
    if name == "roll":
        return ("shape", "roll", (draw(integer(-3, 3)), draw(integer(0, n - 1)))), cur
    if name == "expand":
        at = draw(integer(0, n))
        return ("shape", "expand", at), cur[:at] + (1,) + cur[at:]
    if name == "broadcast":
        return ("shape", "broadcast", None), (2,) + cur
    ax = draw(integer(0, n - 1))
    return ("shape", "repeat", ax), tuple(2 * m if i == ax else m for i, m in enumerate(cur))


def _draw_index(draw: Any, cur: tuple[int, ...]) -> Any:
    n = len(cur)
    ax = draw(integer(0, n - 1))
    length = cur[ax]
    pre = (slice(None),) * ax
    choice = draw(pick(["int", "slice", "reverse", "array", "mask", "newaxis"]))
    if choice == "int":
        i = draw(integer(-length, length - 1))
        return ("index", pre + (i,)), cur[:ax] + cur[ax + 1 :]
    if choice == "slice":
        start = draw(integer(0, length - 1))
        return ("index", pre + (slice(start, None),)), cur[:ax] + (length - start,) + cur[ax + 1 :]
    if choice == "reverse":
        return ("index", pre + (slice(None, None, -1),)), cur
    if choice == "array":
        picks = tuple(draw(int_list(0, length - 1, 1, 4)))
        return ("index", pre + (np.array(picks),)), cur[:ax] + (len(picks),) + cur[ax + 1 :]
    if choice == "mask":
        mask = [draw(flip()) for _ in range(length)]
        mask[0] = True
        return ("index", pre + (np.array(mask),)), cur[:ax] + (sum(mask),) + cur[ax + 1 :]
    return ("index", pre + (None,)), cur[:ax] + (1,) + cur[ax:]


def _draw_misc(draw: Any, cur: tuple[int, ...], kind: str, operand: Any, okind: Any) -> Any:
    """Diagonals, triangles, gathers, tiling, splitting, outer products, convolution,
    statistics, softmax: (step, new shape, new kind)."""
    names = ["take", "tile", "split", "outer", "average", "linspace", "signal.convolve"]
    if len(cur) >= 2:
        names += ["trace", "diagonal", "tril", "triu"]
    if len(cur) == 1:
        names += ["convolve", "kron"]
    if cur[-1] == 3:
        names.append("cross")
    if kind == "r":
        names += ["ptp", "quantile", "take_along_axis-sort", "softmax", "log_softmax"]
    name = draw(pick(names))
    n = len(cur)
    if name in ("trace", "diagonal"):
        new = cur[2:] + ((min(cur[0], cur[1]),) if name == "diagonal" else ())
        return ("misc", name, None), new, kind
    if name in ("tril", "triu"):
        return ("misc", name, draw(integer(-1, 1))), cur, kind
    if name == "take":
        picks = tuple(draw(int_list(0, cur[-1] - 1, 1, 3)))
        return ("misc", name, picks), cur[:-1] + (len(picks),), kind
    if name == "tile":
        return ("misc", name, None), cur[:-1] + (2 * cur[-1],), kind
    if name == "split":
        ax = draw(integer(0, n - 1))
        if cur[ax] < 2:
            return ("misc", "tile", None), cur[:-1] + (2 * cur[-1],), kind
        return ("misc", name, ax), tuple(1 if i == ax else m for i, m in enumerate(cur)), kind
    if name == "outer":
        k = okind()
        size = int(np.prod(cur))
        return ("misc", name, operand((2,), k)), (size, 2), ("c" if "c" in (kind, k) else "r")
    if name == "kron":
        k = okind()
        return ("misc", name, operand((2,), k)), (2 * cur[0],), ("c" if "c" in (kind, k) else "r")
    if name == "convolve":
        k = okind()
        m = draw(integer(1, 3))
        mode = draw(pick(["full", "same", "valid"]))
        new = {"full": cur[0] + m - 1, "same": max(cur[0], m), "valid": abs(cur[0] - m) + 1}
        return (
            ("misc", name, (operand((m,), k), mode)),
            (new[mode],),
            ("c" if "c" in (kind, k) else "r"),
        )
    if name == "cross":
        k = okind()
        return ("misc", name, operand((3,), k)), cur, ("c" if "c" in (kind, k) else "r")
    if name == "average":
        return ("misc", name, operand(cur, "r")), cur[:-1], kind
    if name in ("softmax", "log_softmax"):
        return ("misc", name, draw(integer(0, n - 1))), cur, kind
    if name == "signal.convolve":  # N-d, the operand no larger than x on any axis
        k = okind()
        mode = draw(pick(["full", "same", "valid"]))
        method = draw(pick(["direct", "fft"]))
        other = tuple(min(m, draw(integer(1, 2))) for m in cur)
        new = {
            "full": tuple(a + b - 1 for a, b in zip(cur, other, strict=True)),
            "same": cur,
            "valid": tuple(a - b + 1 for a, b in zip(cur, other, strict=True)),
        }[mode]
        step = ("misc", name, (operand(other, k), mode, method))
        return step, new, ("c" if "c" in (kind, k) else "r")
    if name == "ptp":
        return ("misc", name, None), (), kind
    if name == "linspace":
        return ("misc", name, None), cur + (3,), kind
    if name == "quantile":
        return ("misc", name, draw(pick([0.3, 0.5, 0.9]))), cur[:-1], kind
    return ("misc", name, None), cur, kind  # take_along_axis of the sort order


def _draw_fft(draw: Any, cur: tuple[int, ...], kind: str) -> Any:
    """A discrete Fourier transform along an axis (or the last two): (step, shape, kind)."""
    names = ["fft", "ifft", "fftshift"]
    names += ["rfft"] if kind == "r" else ["irfft", "hfft"]
    if len(cur) >= 2:
        names.append("fft2")
    name = draw(pick(names))
    ax = draw(integer(0, len(cur) - 1))
    norm = draw(pick([None, "ortho", "forward"]))
    n = None if draw(flip()) else max(1, cur[ax] + draw(integer(-1, 1)))  # crop or pad
    new = list(cur)
    length = cur[ax] if n is None else n
    if name == "fftshift":
        return ("fft", name, ax, None, None), cur, kind
    if name == "fft2":
        return ("fft", name, None, None, norm), cur, "c"
    if name == "rfft":
        new[ax] = length // 2 + 1
    elif name in ("irfft", "hfft"):
        n = draw(integer(1, 4))  # (the default, 2 (m - 1), is 0 for one entry)
        new[ax] = n
    else:
        new[ax] = length
    return ("fft", name, ax, n, norm), tuple(new), "r" if name in ("irfft", "hfft") else "c"


def _draw_linalg(draw: Any, cur: tuple[int, ...], kind: str, operand: Any, okind: Any) -> Any:
    names = ["solve", "norm-last"]
    if len(cur) in (1, 2) and cur[0] >= 2:
        names.append("lstsq")
    if len(cur) >= 2 and cur[-1] == cur[-2]:
        names += ["inv", "det", "cholesky", "slogdet", "eigvalsh", "svdvals"]
    name = draw(pick(names))
    if name == "solve":
        n = cur[-2] if len(cur) >= 2 else cur[-1]
        k = okind()
        return ("linalg", name, operand((n, n), k)), cur, ("c" if "c" in (kind, k) else "r")
    if name == "norm-last":
        return ("linalg", name, None), cur[:-1], "r"
    if name == "lstsq":  # a (m, 2) operand, x the right-hand side: a (2,) or (2, k) answer
        k = okind()
        new_kind = "c" if "c" in (kind, k) else "r"
        return ("linalg", name, operand((cur[0], 2), k)), (2,) + cur[1:], new_kind
    if name in ("det", "slogdet"):
        return ("linalg", name, None), cur[:-2], kind if name == "det" else "r"
    if name in ("eigvalsh", "svdvals"):
        return ("linalg", name, None), cur[:-1], "r"
    return ("linalg", name, None), cur, kind


# ----- running a program --------------------------------------------------------------------
def _reduce(x: Any, name: str, axis: Any, keep: bool, mask: tuple[bool, ...]) -> Any:
    m = np.array(mask, bool).reshape(tnp.shape(x))
    if name == "sum":
        return tnp.sum(x, axis=axis, keepdims=keep)
    if name == "mean":
        return tnp.mean(x, axis=axis, keepdims=keep)
    if name == "prod":
        return tnp.prod(_squashed_any(x), axis=axis, keepdims=keep)
    if name == "cumsum-free-sum":
        return np.sum(x, axis=axis, keepdims=keep)
    if name == "sum-where":
        return tnp.sum(x, axis=axis, keepdims=keep, where=m, initial=0.5)
    if name == "mean-where":
        return tnp.mean(x, axis=axis, keepdims=keep, where=m | _first_of_each(m, axis))
    if name == "nansum":
        return tnp.nansum(x, axis=axis, keepdims=keep)
    if name == "max":
        return tnp.max(_distinct(x), axis=axis, keepdims=keep)
    if name == "min":
        return np.min(_distinct(x), axis=axis, keepdims=keep)
    if name == "max-where":
        return tnp.max(_distinct(x), axis=axis, keepdims=keep, where=m, initial=-50.0)
    if name == "logsumexp":
        return tnp.logsumexp(x, axis=axis, keepdims=keep)
    if name == "var":
        return tnp.var(x, axis=axis, keepdims=keep)
    if name == "std":  # (ramped: equal entries, from tile or broadcast, have std 0)
        return tnp.std(_distinct(x), axis=axis, keepdims=keep)
    if name == "median":
        return tnp.median(_distinct(x), axis=axis, keepdims=keep)
    if name == "norm":
        return L.norm(x, axis=axis)
    raise AssertionError(name)


def _first_of_each(mask: np.ndarray, axis: Any) -> np.ndarray:
    """True at the first entry of every reduced slice (mean over an empty selection is 0/0)."""
    first = np.zeros_like(mask)
    if axis is None:
        first.flat[0] = True
        return first
    axes = (axis,) if isinstance(axis, int) else axis
    index = tuple(
        0 if i in {a % mask.ndim for a in axes} else slice(None) for i in range(mask.ndim)
    )
    first[index] = True
    return first


def _squashed_any(x: Any) -> Any:
    return _squashed(x) if not np.iscomplexobj(np.empty(0, tnp.result_type(x))) else 1 + 0.2 * x


def _apply(x: Any, step: tuple[Any, ...], operands: list[Any]) -> Any:
    what = step[0]
    if what == "unary":
        table = REAL_UNARY if step[1] == "r" else COMPLEX_UNARY
        return table[step[2]](x)
    if what == "to_real":
        return TO_REAL[step[1]](x)
    if what == "to_complex":
        return TO_COMPLEX[step[1]](x)
    if what == "scalar":
        return dict(SCALAR_BINARY, **REAL_SCALAR_BINARY)[step[1]](x)
    if what == "binary":
        table = REAL_BINARY if step[1] == "r" else COMPLEX_BINARY
        return table[step[2]](x, operands[step[3]])
    if what == "reduce":
        return _reduce(x, *step[1:])
    if what == "shape":
        name, arg = step[1], step[2]
        if name == "reshape":
            return tnp.reshape(x, (-1,))
        if name == "transpose":
            return tnp.transpose(x, arg)
        if name == "swapaxes":
            return tnp.swapaxes(x, *arg)
        if name == "flip":
            return tnp.flip(x, axis=arg)
        if name == "roll":
            return tnp.roll(x, arg[0], axis=arg[1])
        if name == "expand":
            return tnp.expand_dims(x, arg)
        if name == "broadcast":
            weights = _const([1.0, 0.5], x).reshape((2,) + (1,) * tnp.ndim(x))
            return tnp.broadcast_to(x, (2,) + tnp.shape(x)) * weights
        return tnp.repeat(x, 2, axis=arg)
    if what == "index":
        return x[step[1]]
    if what == "concatenate":
        return tnp.concatenate([x, operands[step[2]]], axis=step[1])
    if what == "stack":
        return tnp.stack([x, operands[step[2]]], axis=step[1])
    if what == "product":
        y = operands[step[2]]
        name = step[1]
        if name == "matmul":
            return x @ y
        if name == "np.matmul":
            return np.matmul(x, y)
        if name == "einsum":
            return tnp.einsum("...i,ij->...j", x, y)
        if name == "tensordot":
            return tnp.tensordot(x, y, axes=1)
        return tnp.dot(x, y)
    if what == "linalg":
        name = step[1]
        if name == "solve":
            a = operands[step[2]]
            a = _const(3.0 * np.eye(tnp.shape(a)[0]), a) + 0.3 * a
            return L.solve(a, x)
        if name == "norm-last":
            return L.norm(x, axis=-1)
        if name == "lstsq":
            a = operands[step[2]]
            a = _const(3.0 * np.eye(*tnp.shape(a)), a) + 0.3 * a  # (LIMITS: conditioning)
            solution, residuals, _, _ = L.lstsq(a, x)
            return solution + (tnp.sum(residuals) if tnp.size(residuals) else 0.0)
        n = tnp.shape(x)[-1]
        well = _const(3.0 * np.eye(n), x) + 0.3 * _bounded(x)  # far from singular
        if name == "inv":
            return L.inv(well)
        if name == "det":
            return L.det(well)
        if name == "slogdet":
            return L.slogdet(well)[1]
        if name == "svdvals":
            return L.svdvals(well + _const(np.diag(np.arange(n) * RAMP), x))  # distinct
        if name == "cholesky":  # (Hermitian positive definite)
            return L.cholesky(well @ tnp.conj(tnp.swapaxes(well, -1, -2)))
        sym = well + tnp.conj(tnp.swapaxes(well, -1, -2))  # distinct eigenvalues, by a ramp
        return L.eigvalsh(sym + _const(np.diag(np.arange(n) * RAMP), x))
    if what == "pad":
        _, mode, widths, odd = step
        kw: dict[str, Any] = {"reflect_type": "odd"} if odd else {}
        if mode == "linear_ramp":
            kw = {"end_values": 0.25}
        if mode in ("maximum", "minimum", "median"):
            x = _distinct(x)
        return tnp.pad(x, widths, mode=mode, **kw)
    if what == "at":
        _, method, index, k = step
        v = operands[k]
        if method in ("max", "min"):
            return getattr(tnp.at(_distinct(x) - 0.5)[index], method)(tnp.tanh(v) * 2.0)
        if method == "multiply":
            v = 1.0 + 0.2 * v
        return getattr(tnp.at(x)[index], method)(v)
    if what == "misc":
        return _apply_misc(x, step[1], step[2], operands)
    if what == "fft":
        _, name, ax, n, norm = step
        if name == "fftshift":
            return tnp.fft.fftshift(x, axes=ax)
        if name == "fft2":
            return tnp.fft.fft2(x, norm=norm)
        return getattr(tnp.fft, name)(x, n=n, axis=ax, norm=norm)
    if what == "sort":
        _, name, ax = step
        if name == "sort":
            return tnp.sort(_distinct(x), axis=ax)
        if name == "flip-sort":
            return np.sort(-_distinct(x), axis=ax)
        if name == "cumsum":
            return tnp.cumsum(x, axis=ax)
        if name == "cumprod":
            return tnp.cumprod(_squashed_any(x), axis=ax)
        return tnp.diff(x, axis=ax)
    raise AssertionError(what)


def _apply_misc(x: Any, name: str, arg: Any, operands: list[Any]) -> Any:
    if name == "trace":
        return tnp.trace(x)
    if name == "diagonal":
        return tnp.diagonal(x)
    if name == "tril":
        return tnp.tril(x, arg)
    if name == "triu":
        return np.triu(x, arg)
    if name == "take":
        return tnp.take(x, np.array(arg), axis=-1)
    if name == "tile":
        return tnp.tile(x, 2)
    if name == "split":
        return tnp.split(x, [1], axis=arg)[0]
    if name == "outer":
        return tnp.outer(x, operands[arg])
    if name == "kron":
        return tnp.kron(x, operands[arg])
    if name == "convolve":
        return tnp.convolve(x, operands[arg[0]], mode=arg[1])
    if name == "signal.convolve":
        return tss.convolve(x, operands[arg[0]], mode=arg[1], method=arg[2])
    if name == "cross":
        return tnp.cross(x, operands[arg])
    if name == "average":
        return tnp.average(x, axis=-1, weights=_squashed(operands[arg]))
    if name == "softmax":
        return tp.nn.softmax(x, axis=arg)
    if name == "log_softmax":
        return tp.nn.log_softmax(x, axis=arg)
    if name == "ptp":
        return tnp.ptp(_distinct(x))
    if name == "linspace":
        return tnp.linspace(x, x * 0.5 + 1.0, 3, axis=-1)
    if name == "quantile":
        return tnp.quantile(_distinct(x), arg, axis=-1)
    return tnp.take_along_axis(x, tnp.argsort(x, axis=-1), axis=-1)


def build(program: dict[str, Any], seed: int = 0) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """The function of (x, *operands) that ``program`` describes, and its arguments."""
    rng = np.random.default_rng(seed)
    real_dtype = np.dtype(program["dtype"])
    complex_dtype = np.result_type(real_dtype, np.complex64)

    def draw(kind: str, shape: tuple[int, ...], scale: float) -> np.ndarray:
        if kind == "r":
            return (scale * rng.standard_normal(shape)).astype(real_dtype)
        z = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
        return (scale * z).astype(complex_dtype)

    x = draw(program["input"], program["shape"], 1.0)
    operands = [draw(kind, shape, 0.7) for kind, shape in program["operands"]]
    steps = program["steps"]

    def fun(x: Any, *ops: Any) -> Any:
        for step in steps:
            x = _apply(x, step, list(ops))
        if np.iscomplexobj(np.empty(0, tnp.result_type(x))):
            x = tnp.real(x * (0.6 + 0.8j))  # a real output reading both parts
        return x

    return fun, (x, *operands)


# ----- the checks -----------------------------------------------------------------------------
COUNTS: collections.Counter[str] = collections.Counter()

# (atol, rtol) of the comparisons between transforms, which compute the same numbers in
# other orders: a float32 program's rounding errors reach a few times 1e-7 relative to
# the size of its values, a float64 one's 1e-15.
AGREEMENT = {"float64": (1e-9, 1e-9), "float32": (2e-5, 2e-5)}
# (atol, rtol) against central differences, which check_grads computes in float64 (it
# widens the inputs, and the programs' constants follow the inputs' dtype): float64
# keeps check_grads' defaults (the step's truncation and rounding errors near 1e-9);
# float32 derivatives are within float32 rounding of the float64 ones, amplified where
# a rule's formula cancels (LIMITS).
FINITE_DIFFERENCES = {"float64": (1e-6, 1e-5), "float32": (2e-4, 2e-4)}


def _close(a: Any, b: Any, dtype: str, what: str) -> None:
    atol, rtol = AGREEMENT[dtype]
    for x, y in zip(tp.tree_util.tree_leaves(a), tp.tree_util.tree_leaves(b), strict=True):
        assert np.result_type(x) == np.result_type(y), f"{what}: dtype {np.result_type(x)}"
        size = max(1.0, float(np.max(np.abs(y), initial=0.0)))
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol * size, err_msg=what)


def _inner(a: Any, b: Any) -> tuple[float, float]:
    """Re sum(a * b) over two pytrees, and the sum of the terms' moduli (its scale)."""
    total = scale = 0.0
    for x, y in zip(tp.tree_util.tree_leaves(a), tp.tree_util.tree_leaves(b), strict=True):
        terms = np.asarray(x, np.complex128) * np.asarray(y, np.complex128)
        total += float(np.real(np.sum(terms)))
        scale += float(np.sum(np.abs(terms)))
    return total, scale


def _norm(tree: Any) -> float:
    return float(np.sqrt(sum(np.sum(np.abs(x) ** 2) for x in tp.tree_util.tree_leaves(tree))))


def check_program(program: dict[str, Any], seed: int) -> bool:
    """Every check of the module's docstring on one program; False if its value overflows."""
    fun, args = build(program, seed)
    dtype = program["dtype"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (reductions of NaN-free data only)
        warnings.simplefilter("ignore", BatchingFallbackWarning)  # (a loop is still checked)
        out = fun(*args)
        if not np.all(np.isfinite(out)):
            return False  # (a program that overflows is not a test of derivatives)
        assert np.result_type(out) == np.dtype(dtype), f"{dtype} program gave {out.dtype}"
        # against finite differences, to second order (reverse of reverse, forward of
        # reverse, reverse of forward, forward of forward); check_grads also checks that
        # every cotangent and tangent has its primal's dtype
        fd_atol, fd_rtol = FINITE_DIFFERENCES[dtype]
        tp.check_grads(
            fun, args, order=2, modes=("rev", "fwd"), atol=fd_atol, rtol=fd_rtol, seed=seed
        )

        # forward against reverse: <u, J v> == <J^T u, v> to rounding
        rng = np.random.default_rng(seed + 1)
        v = tuple(_like(a, rng) for a in args)
        u = _like(out, rng)
        _, jv = tp.jvp(fun, args, v)
        cts = tp.vjp(fun, *args)[1](u)
        (lhs, lscale), (rhs, rscale) = _inner(u, jv), _inner(cts, v)
        # (the floor: a derivative that cancels to 0, such as that of |exp(ix)|, is a
        # rounding error of the size of the terms that cancelled, of order |u| |v|)
        atol, rtol = AGREEMENT[dtype]
        floor = atol * _norm(u) * _norm(v)
        assert abs(lhs - rhs) <= rtol * max(lscale, rscale) + floor, (
            f"<u, Jv> = {lhs} but <J^T u, v> = {rhs}"
        )

        def pullback(*a: Any) -> Any:
            return tp.vjp(fun, *a)[1](u)

        def pushforward(*a: Any) -> Any:
            return tp.jvp(fun, a, v)[1]

        # vmap: a batch of two, the function, its VJP and JVP, against a loop
        batch = tuple(np.stack([a, (a * 0.9 + 0.05).astype(a.dtype)]) for a in args)
        examples = [tuple(b[i] for b in batch) for i in range(2)]
        looped = np.stack([fun(*e) for e in examples])
        _close(tp.vmap(fun)(*batch), looped, dtype, "vmap")
        batched = tp.vmap(pullback)(*batch)
        pushed = tp.vmap(pushforward)(*batch)
        for i, e in enumerate(examples):
            _close(tuple(b[i] for b in batched), pullback(*e), dtype, "vmap of the VJP")
            _close(pushed[i], pushforward(*e), dtype, "vmap of the JVP")

        # jit: the compiled function, VJP and JVP equal the eager ones, on new inputs
        # too; and jit of vmap equals vmap
        compiled, compiled_pullback = tp.jit(fun), tp.jit(pullback)
        compiled_pushforward = tp.jit(pushforward)
        for e in examples:
            _close(compiled(*e), fun(*e), dtype, "jit")
            _close(compiled_pullback(*e), pullback(*e), dtype, "jit of the VJP")
            _close(compiled_pushforward(*e), pushforward(*e), dtype, "jit of the JVP")
        _close(tp.jit(tp.vmap(fun))(*batch), looped, dtype, "jit of vmap")
    COUNTS[f"{program['mode']}-{dtype}"] += 1
    for step in program["steps"]:
        COUNTS["step:" + str(step[0])] += 1
    return True


def _like(x: Any, rng: np.random.Generator) -> Any:
    shape = np.shape(x)
    v = rng.standard_normal(shape)
    if np.iscomplexobj(x):
        v = v + 1j * rng.standard_normal(shape)
    return np.asarray(v).astype(np.result_type(x))


# Programs in which a real value meets a complex one in a product, a stack or a join (from
# the seeds of a long run): with a replay that leaves the cotangents of non-broadcasting
# primitives as their rules computed them, the real value receives an imaginary part and
# every program here fails its checks. They show that the checks see that class of error.
REAL_MEETS_COMPLEX: list[tuple[int, dict[str, Any]]] = [
    (91, {"mode": "mixed", "dtype": "float64", "input": "r", "shape": (3,),
          "steps": [("linalg", "solve", 0), ("fft", "fft", 0, None, "forward"),
                    ("shape", "broadcast", None), ("to_real", "angle(3+z/10)"),
                    ("stack", 0, 1)],
          "operands": [("c", (3, 3)), ("c", (2, 3))]}),
    (438, {"mode": "mixed", "dtype": "float32", "input": "c", "shape": (3, 2),
           "steps": [("fft", "hfft", 1, 4, "forward"), ("product", "dot", 0),
                     ("sort", "diff", -1)],
           "operands": [("c", (4, 3))]}),
    (488, {"mode": "mixed", "dtype": "float64", "input": "c", "shape": (1, 1),
           "steps": [("product", "tensordot", 0), ("unary", "c", "log(4+z/10)"),
                     ("to_real", "angle(3+z/10)"), ("concatenate", 1, 1),
                     ("product", "matmul", 2)],
           "operands": [("r", (1, 2)), ("c", (1, 1)), ("c", (3, 2))]}),
]  # fmt: skip


@pytest.mark.parametrize(
    "seed,program", REAL_MEETS_COMPLEX, ids=[f"seed-{seed}" for seed, _ in REAL_MEETS_COMPLEX]
)
def test_the_checks_see_a_real_value_keep_an_imaginary_cotangent(
    seed: int, program: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from benchmarks.cotangent_check import replay_variant

    assert check_program(program, seed)
    monkeypatch.setattr(tape_module, "backward", replay_variant("broadcasting"))
    with pytest.raises(AssertionError):  # (GradientCheckError is one)
        check_program(program, seed)


def test_the_docs_show_every_limit() -> None:
    page = (Path(__file__).parent.parent / "docs" / "testing.md").read_text()
    rows = [line for line in page.splitlines() if line.startswith("| ")]
    assert [row.split(" | ")[0][2:] for row in rows[1:]] == [name for name, _, _ in LIMITS]


@pytest.fixture
def examples(request: pytest.FixtureRequest) -> int:
    if request.config.getoption("--slow"):
        return int(request.config.getoption("--slow-examples"))
    return 200


@pytest.fixture
def shard(request: pytest.FixtureRequest) -> tuple[int, int]:
    """(i, n): this run checks the i-th of n disjoint sets of programs."""
    i, n = (int(k) for k in str(request.config.getoption("--slow-shard")).split("/"))
    assert 0 <= i < n, "--slow-shard takes i/n with 0 <= i < n"
    return i, n


def test_random_programs_agree_across_transforms(examples: int, shard: tuple[int, int]) -> None:
    COUNTS.clear()
    failures: list[str] = []

    @settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.generate],  # (a smaller seed is another program: nothing to shrink)
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.integers(0, 2**32 // shard[1] - 1))
    def run(draw: int) -> None:
        seed = draw * shard[1] + shard[0]
        rng = np.random.default_rng(seed)
        program = random_program(lambda choice: choice(rng))
        try:
            if not check_program(program, seed % 2**16):
                COUNTS["overflowed (skipped)"] += 1
        except Exception as error:  # every failure, each with its program
            failures.append(f"seed {seed}: {type(error).__name__}: {error}\n  {program}")

    run()
    ran = sum(n for k, n in COUNTS.items() if k.endswith(("float32", "float64")))
    counts = ", ".join(f"{k} {n}" for k, n in sorted(COUNTS.items()))
    print(f"\ndifferential programs checked: {ran}, failed: {len(failures)}; {counts}")
    assert not failures, f"{len(failures)} programs failed:\n" + "\n".join(failures[:20])
    assert ran >= examples // 2  # (a few overflow and are skipped; most must run)
