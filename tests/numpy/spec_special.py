"""Matrix rows for tapeflow/scipy/special.py."""

import numpy as np

import tapeflow.numpy as tnp
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


def _complex_row(name, fun, cover, scale=1.0, shift=0.0):  # noqa: ANN001, ANN202
    """``fun`` at complex points built inside the function from two real arrays, and a real
    mix of the real and imaginary parts of its value: the finite differences stay real
    while the complex derivative rules are exercised."""
    return Case(
        f"{name}-complex",
        lambda a, b: tnp.real(fun((a * scale + shift) + 1j * (b * scale)) * (0.6 - 0.8j)),
        (((), ()), ((3,), (3,)), ((2, 3), (3,))),
        domains=[real, real],
        covers=[cover],
    )


def _unit_interval(z):  # noqa: ANN001, ANN202
    return 0.5 + 0.45 * np.tanh(z)


_TERNARY_SHAPES = (((), (), ()), ((3,), (3,), (3,)), ((2, 3), (3,), (2, 1)))


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
    Case("log_expit", sp.log_expit, domains=_scaled(5.0), covers=["scipy.special.log_expit"]),
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
        covers=["scipy.special.gammaln", "scipy.special.psi_gap"],
    ),
    Case(
        "betaln-a-much-below-b",  # psi(b) - psi(a + b) from its Taylor series in a
        sp.betaln,
        BINARY_SHAPES,
        domains=[positive, lambda z: 4000.0 + 1000.0 * positive(z)],
        covers=["scipy.special.psi_gap"],
    ),
    Case(
        "rel_entr",
        sp.rel_entr,
        BINARY_SHAPES,
        domains=[positive, positive],
        covers=["scipy.special.rel_entr"],
    ),
    Case(
        "erfcinv",
        sp.erfcinv,
        domains=lambda z: 1 + 0.9 * np.tanh(z),
        covers=["scipy.special.erfcinv"],
    ),
    Case(
        "erfcinv-tail",
        sp.erfcinv,
        domains=lambda z: 1e-3 * (1.5 + np.tanh(z)),
        covers=["scipy.special.erfcinv"],
    ),
    Case("rgamma", sp.rgamma, domains=lambda z: 3 * z, covers=["scipy.special.rgamma"]),
    Case(
        "rgamma-poles",  # through the zeros at 0, -1, -2: no pole in the derivative
        sp.rgamma,
        domains=lambda z: np.round(np.clip(z, -2, 1)) + 1e-3 * np.tanh(z),
        covers=["scipy.special.rgamma"],
    ),
    Case(
        "beta", sp.beta, BINARY_SHAPES, domains=[positive, positive], covers=["scipy.special.beta"]
    ),
    Case(
        "beta-negative",
        sp.beta,
        BINARY_SHAPES,
        domains=[_negative_non_integer, positive],
        covers=["scipy.special.beta"],
    ),
    Case(
        "betaln-large",
        sp.betaln,
        BINARY_SHAPES,
        domains=[lambda z: 20 + 5 * positive(z), lambda z: 15 + 3 * positive(z)],
        covers=["scipy.special.betaln"],
    ),
    Case(
        "multigammaln",
        lambda a: sp.multigammaln(a, 3),
        domains=lambda z: 1.5 + positive(z),
        covers=["scipy.special.gammaln"],
    ),
    Case(
        "gammainc",
        sp.gammainc,
        BINARY_SHAPES,
        domains=[positive, positive],
        covers=["scipy.special.gammainc"],
    ),
    Case(
        "gammainc-large",  # both algorithms, near the median where they meet
        sp.gammainc,
        BINARY_SHAPES,
        domains=[lambda z: 30 + 0 * z, lambda z: 30 + 4 * z],
        covers=["scipy.special.gammainc"],
    ),
    Case(
        "gammainc-small",  # a < 1, x <= 1.1: Q's own series
        sp.gammaincc,
        BINARY_SHAPES,
        domains=[lambda z: 0.5 + 0.3 * np.tanh(z), lambda z: 0.6 + 0.4 * np.tanh(z)],
        covers=["scipy.special.gammaincc"],
    ),
    Case(
        "gammaincc",
        sp.gammaincc,
        BINARY_SHAPES,
        domains=[positive, lambda z: 2 * positive(z)],
        covers=["scipy.special.gammaincc"],
    ),
    Case(
        "betainc",
        sp.betainc,
        _TERNARY_SHAPES,
        domains=[positive, positive, _unit_interval],
        covers=["scipy.special.betainc"],
    ),
    Case(
        "betainc-large",
        sp.betainc,
        _TERNARY_SHAPES,
        domains=[lambda z: 20 + 3 * positive(z), lambda z: 30 + positive(z), _unit_interval],
        covers=["scipy.special.betainc"],
    ),
    Case(
        "betainc-small-b",  # b x <= 1: the power series
        sp.betainc,
        _TERNARY_SHAPES,
        domains=[positive, lambda z: 0.05 + 0.04 * np.tanh(z), _unit_interval],
        covers=["scipy.special.betainc"],
    ),
    _complex_row("erf", sp.erf, "scipy.special.erf"),
    _complex_row("erfc", sp.erfc, "scipy.special.erfc"),
    _complex_row("erfcx", sp.erfcx, "scipy.special.erfcx", shift=1.0),
    _complex_row("ndtr", sp.ndtr, "scipy.special.erfc"),
    _complex_row("log_ndtr", sp.log_ndtr, "scipy.special.log_ndtr"),
    _complex_row("digamma", sp.digamma, "scipy.special.polygamma", shift=1.5),
    _complex_row("digamma-left", sp.digamma, "scipy.special.polygamma", 0.3, shift=-2.5),
    _complex_row("polygamma", lambda z: sp.polygamma(2, z), "scipy.special.polygamma", shift=2.0),
    _complex_row("gamma", sp.gamma, "scipy.special.gamma", 0.5, shift=1.5),
    _complex_row("rgamma", sp.rgamma, "scipy.special.rgamma", 0.5, shift=-1.0),
    _complex_row("xlogy", lambda z: sp.xlogy(z, z + 3.0), "scipy.special.xlogy"),
    _complex_row("xlog1py", lambda z: sp.xlog1py(z * 0.5, z + 2.0), "scipy.special.xlog1py"),
    _complex_row("softmax", lambda z: sp.softmax(z, axis=-1), "scipy.special.softmax"),
    _complex_row("log_softmax", lambda z: sp.log_softmax(z, axis=-1), "scipy.special.log_softmax"),
    *[
        Case(name, getattr(sp, name), domains=_scaled(4.0), covers=[f"scipy.special.{name}"])
        for name in ("j0", "j1", "i0", "i1", "i0e", "i1e")
    ],
    *[
        Case(
            name,
            getattr(sp, name),
            domains=lambda z: 0.5 + 2 * positive(z),
            covers=[f"scipy.special.{name}"],
        )
        for name in ("y0", "y1")
    ],  # fmt: skip
    Case("jn", lambda x: sp.jn(2, x), domains=_scaled(4.0), covers=["scipy.special.jv"]),
    Case("jn-fractional", lambda x: sp.jn(-1.5, x), domains=positive, covers=["scipy.special.jv"]),
    Case(
        "yn",
        lambda x: sp.yn(3, x),
        domains=lambda z: 1 + positive(z),
        covers=["scipy.special.yn", "scipy.special.yv"],
    ),
    Case("iv", lambda x: sp.iv(1.5, x), domains=positive, covers=["scipy.special.iv"]),
    Case("ive", lambda x: sp.ive(2, x), domains=_scaled(4.0), covers=["scipy.special.ive"]),
    # Far from 0 (either sign) the scaled functions' derivatives come from the asymptotic
    # series (its own primitive).
    *[
        Case(
            f"{name}-far",
            fun,
            domains=lambda z: np.sign(z) * (45 + 20 * np.abs(z)),
            covers=["scipy.special.ive_asymptotic"],
        )
        for name, fun in (
            ("i0e", sp.i0e),
            ("i1e", sp.i1e),
            ("ive", lambda x: sp.ive(2, x)),
        )
    ],
    _complex_row("jn", lambda z: sp.jn(1.5, z), "scipy.special.jv", shift=1.0),
    _complex_row("iv", lambda z: sp.iv(0.5, z), "scipy.special.iv", shift=1.0),
    _complex_row("ive", lambda z: sp.ive(1, z), "scipy.special.ive"),
    Case("zeta-riemann", sp.zeta, domains=lambda z: 3 * z, covers=["scipy.special.riemann_zeta"]),
    Case(
        "zeta-hurwitz",
        sp.zeta,
        BINARY_SHAPES,
        domains=[lambda z: 1.2 + positive(z), positive],
        covers=["scipy.special.zeta"],
    ),
    _complex_row("zeta", sp.zeta, "scipy.special.riemann_zeta", shift=2.0),
    _complex_row("zeta-left", sp.zeta, "scipy.special.riemann_zeta", shift=-3.0),
    Case(
        "spence",
        sp.spence,
        domains=lambda z: 2 * positive(z) - 0.9,
        covers=["scipy.special.spence"],
    ),
    Case("spence-at-1", sp.spence, domains=lambda z: 1 + 1e-3 * z, covers=["scipy.special.spence"]),
    _complex_row("spence", sp.spence, "scipy.special.spence", shift=1.0),
    Case(
        "log_ndtr-upper-tail",  # the slope is 0, not nan, where the pdf underflows
        sp.log_ndtr,
        domains=lambda z: 38 + np.abs(z),
        covers=["scipy.special.log_ndtr", "scipy.special.log_ndtr_slope"],
    ),
    Case(
        "kl_div",
        sp.kl_div,
        BINARY_SHAPES,
        domains=[positive, positive],
        covers=["scipy.special.kl_div"],
    ),
]
