"""Matrix rows for tapeflow/scipy/special.py."""

import numpy as np

import tapeflow.scipy.special as sp
from tests.numpy.spec import BINARY_SHAPES, Case, positive, real

# Every axis / keepdims combination of a 3-d array, plus vectors and scalars.
_AXES = (None, 0, 1, -1, (0, 2), (0, 1, 2))


def _reduction_rows(name, fun, cover):  # noqa: ANN001, ANN202
    rows = [Case(f"{name}-vector", lambda x: fun(x, axis=-1), (((3,),),), covers=[cover])]
    for axis in _AXES:
        for keepdims in (False, True):
            label = "all" if axis is None else str(axis).replace(" ", "")
            rows.append(
                Case(
                    f"{name}-axis{label}-keep{int(keepdims)}",
                    lambda x, axis=axis, keepdims=keepdims: fun(x, axis=axis, keepdims=keepdims),
                    (((2, 3, 4),),),
                    covers=[cover],
                )
            )
    return rows


def _normalizer_rows(name, fun, cover):  # noqa: ANN001, ANN202
    rows = [Case(f"{name}-scalar", fun, (((),),), covers=[cover])]
    for axis in _AXES:
        label = "all" if axis is None else str(axis).replace(" ", "")
        rows.append(
            Case(
                f"{name}-axis{label}",
                lambda x, axis=axis: fun(x, axis=axis),
                (((3,),), ((2, 3, 4),)) if axis in (None, -1, 0) else (((2, 3, 4),),),
                covers=[cover],
            )
        )
    return rows


def _scaled(k):  # noqa: ANN001, ANN202
    return lambda z: k * z


def _negative_non_integer(z):  # noqa: ANN001, ANN202
    # Between the poles at the negative integers, away from them.
    return -np.floor(np.abs(3 * z)) - 0.5 + 0.3 * np.tanh(z)


def _probability(z):  # noqa: ANN001, ANN202
    return 0.5 + 0.4 * np.tanh(z)


def _above_minus_one(z):  # noqa: ANN001, ANN202
    return np.abs(z) - 0.5


CASES = [
    *_reduction_rows("logsumexp", sp.logsumexp, "logsumexp"),
    Case(
        "logsumexp-large",
        lambda x: sp.logsumexp(x * 1e3, axis=-1),
        (((2, 3),),),
        covers=["logsumexp"],
    ),
    Case(
        "logsumexp-weights",
        lambda a, b: sp.logsumexp(a, axis=-1, b=b),
        (((3,), (3,)), ((2, 3), (2, 3)), ((2, 3), (3,)), ((1, 3), (2, 1))),
        domains=[real, positive],
        covers=["logsumexp"],
    ),
    *_normalizer_rows("softmax", sp.softmax, "scipy.special.softmax"),
    *_normalizer_rows("log_softmax", sp.log_softmax, "scipy.special.log_softmax"),
    Case("expit", sp.expit, covers=["scipy.special.expit"]),
    Case("expit-wide", sp.expit, domains=_scaled(8.0), covers=["scipy.special.expit"]),
    Case("logit", sp.logit, domains=_probability, covers=["scipy.special.logit"]),
    Case("log_expit", sp.log_expit, domains=_scaled(5.0), covers=["logaddexp"]),
    Case("erf", sp.erf, domains=_scaled(1.5), covers=["scipy.special.erf"]),
    Case("erfc", sp.erfc, domains=_scaled(1.5), covers=["scipy.special.erfc"]),
    Case(
        "gammaln",
        sp.gammaln,
        domains=lambda z: 4 * positive(z) - 1.9,
        covers=["scipy.special.gammaln"],
    ),
    Case(
        "gammaln-negative",
        sp.gammaln,
        domains=_negative_non_integer,
        covers=["scipy.special.gammaln"],
    ),
    Case(
        "digamma",
        sp.digamma,
        domains=lambda z: 3 * positive(z) - 1.4,
        covers=["scipy.special.polygamma"],
    ),
    Case(
        "digamma-negative",
        sp.digamma,
        domains=_negative_non_integer,
        covers=["scipy.special.polygamma"],
    ),
    Case(
        "polygamma1",
        lambda x: sp.polygamma(1, x),
        domains=positive,
        covers=["scipy.special.polygamma"],
    ),
    Case(
        "polygamma2-negative",
        lambda x: sp.polygamma(2, x),
        domains=_negative_non_integer,
        covers=["scipy.special.polygamma"],
    ),
    Case(
        "xlogy", sp.xlogy, BINARY_SHAPES, domains=[real, positive], covers=["scipy.special.xlogy"]
    ),
    Case(
        "xlog1py",
        sp.xlog1py,
        BINARY_SHAPES,
        domains=[real, _above_minus_one],
        covers=["scipy.special.xlog1py"],
    ),
    Case("entr", sp.entr, domains=positive, covers=["scipy.special.entr"]),
    Case("erfcx", sp.erfcx, domains=_scaled(1.5), covers=["scipy.special.erfcx"]),
    Case("erfinv", sp.erfinv, domains=lambda z: 0.9 * np.tanh(z), covers=["scipy.special.erfinv"]),
    Case(
        "erfinv-tails",
        sp.erfinv,
        domains=lambda z: 0.99 * np.tanh(3 * z),
        covers=["scipy.special.erfinv"],
    ),
    Case("ndtr", sp.ndtr, domains=_scaled(3.0), covers=["scipy.special.erfc"]),
    Case("log_ndtr", sp.log_ndtr, domains=_scaled(4.0), covers=["scipy.special.log_ndtr"]),
    Case(
        "log_ndtr-tail",
        sp.log_ndtr,
        domains=lambda z: -30 - np.abs(z),
        covers=["scipy.special.log_ndtr"],
    ),
    Case("ndtri", sp.ndtri, domains=_probability, covers=["scipy.special.ndtri"]),
    Case(
        "gamma", sp.gamma, domains=lambda z: 3 * positive(z) - 1.4, covers=["scipy.special.gamma"]
    ),
    Case("gamma-negative", sp.gamma, domains=_negative_non_integer, covers=["scipy.special.gamma"]),
    Case(
        "betaln",
        sp.betaln,
        BINARY_SHAPES,
        domains=[positive, positive],
        covers=["scipy.special.gammaln"],
    ),
    Case(
        "rel_entr",
        sp.rel_entr,
        BINARY_SHAPES,
        domains=[positive, positive],
        covers=["scipy.special.rel_entr"],
    ),
    Case(
        "kl_div",
        sp.kl_div,
        BINARY_SHAPES,
        domains=[positive, positive],
        covers=["scipy.special.kl_div"],
    ),
]
