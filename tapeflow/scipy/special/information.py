"""xlogy, xlog1py, entr, rel_entr, kl_div: the terms of entropies and divergences.

Each is 0 where its first argument is 0, even where the logarithm is infinite; the
derivatives carry that convention over (documented beside each rule). xlogy and xlog1py
take complex input, as in SciPy; the entropies are real.
"""

from __future__ import annotations

import numpy as np

from tapeflow.core.primitive import defelementwise, primitive
from tapeflow.numpy.elementwise import log, log1p, where
from tapeflow.numpy.meta import dtype_of
from tapeflow.scipy.kernels.common import float_dtype
from tapeflow.scipy.kernels.elementary import (
    np_entr,
    np_kl_div,
    np_rel_entr,
    np_xlog1py,
    np_xlogy,
)

__all__ = ["xlogy", "xlog1py", "entr", "rel_entr", "kl_div"]


def _x_slope(log_fun, x, y, pole):  # type: ignore[no-untyped-def]
    """d/dx x log(y) = log(y); 0 (by convention) where x == 0 and y is the log's pole."""
    corner = (x == 0) & (y == pole)
    return log_fun(where(corner, 1 + pole, y))


def _y_slope(x, y, pole):  # type: ignore[no-untyped-def]
    """d/dy x log(y - pole) = x / (y - pole); 0 at the corner x == 0, y == pole, where
    neither rule's own derivative is taken through the other (so that the Hessian stays
    symmetric: at x == 0 away from the corner, both mixed partials are 1 / (y - pole))."""
    corner = (x == 0) & (y == pole)
    return where(corner, 0, x / (where(corner, 1 + pole, y) - pole))


xlogy = primitive(np_xlogy, name="scipy.special.xlogy", broadcasts=True)
defelementwise(
    xlogy,
    lambda u, ans, x, y: u * _x_slope(log, x, y, 0),
    lambda u, ans, x, y: u * _y_slope(x, y, 0),
)
xlogy.__doc__ = """``x * log(y)``, and 0 where ``x == 0`` (even for ``y == 0``).

    Example:
        >>> xlogy(np.array([0.0, 2.0]), np.array([0.0, np.e]))
        array([0., 2.])
    """

xlog1py = primitive(np_xlog1py, name="scipy.special.xlog1py", broadcasts=True)
defelementwise(
    xlog1py,
    lambda u, ans, x, y: u * _x_slope(log1p, x, y, -1),
    lambda u, ans, x, y: u * _y_slope(x, y, -1),
)
xlog1py.__doc__ = """``x * log1p(y)``, and 0 where ``x == 0`` (even for ``y == -1``).

    Example:
        >>> xlog1py(np.array([0.0, 1.0]), np.array([-1.0, 0.0]))
        array([0., 0.])
    """


def _entr_slope(x):  # type: ignore[no-untyped-def]
    # -(1 + log x) for x > 0; +inf at 0 (the one-sided limit); 0 where entr is -inf.
    dtype = float_dtype(dtype_of(x))  # constants in x's dtype: float32 stays float32
    inside = -(log(where(x > 0, x, 1)) + 1)
    return where(x > 0, inside, where(x == 0, np.array(np.inf, dtype), np.array(0, dtype)))


entr = primitive(np_entr, name="scipy.special.entr")
defelementwise(entr, lambda u, ans, x: u * _entr_slope(x))
entr.__doc__ = """The entropy term ``-x log x`` for ``x > 0``, 0 at 0 and ``-inf`` for ``x < 0``.

    Example:
        >>> float(entr(0.5))
        0.34657359027997264
    """


def _rel_entr_mask(x, y):  # type: ignore[no-untyped-def]
    return (x > 0) & (y > 0)


def _log_ratio(x, y):  # type: ignore[no-untyped-def]
    """log(x / y) where both are positive, 0 elsewhere (guarded so no log of 0 is taken)."""
    inside = _rel_entr_mask(x, y)
    return where(inside, log(where(inside, x, 1) / where(inside, y, 1)), 0)


def _ratio(x, y):  # type: ignore[no-untyped-def]
    """x / y where both are positive, 0 elsewhere."""
    inside = _rel_entr_mask(x, y)
    return where(inside, x / where(inside, y, 1), 0)


# Slopes inside x > 0, y > 0. Outside, where the value is 0 or inf, they are taken as 0
# (the one-sided x-slope at x = 0 is really -inf); kl_div's y-slope is 1 along x = 0.
rel_entr = primitive(np_rel_entr, name="scipy.special.rel_entr", broadcasts=True)
defelementwise(
    rel_entr,
    lambda u, ans, x, y: u * where(_rel_entr_mask(x, y), _log_ratio(x, y) + 1, 0),
    lambda u, ans, x, y: -u * _ratio(x, y),
)
rel_entr.__doc__ = """``x log(x / y)`` for x, y > 0; 0 at x == 0 (y >= 0); inf elsewhere.

    Example:
        >>> float(rel_entr(1.0, np.e))
        -1.0
    """


def _kl_div_y_slope(x, y):  # type: ignore[no-untyped-def]
    # 1 - x / y inside; 1 along x == 0 (where kl_div(0, y) = y); 0 where the value is inf.
    return where(_rel_entr_mask(x, y) | ((x == 0) & (y >= 0)), 1 - _ratio(x, y), 0)


kl_div = primitive(np_kl_div, name="scipy.special.kl_div", broadcasts=True)
defelementwise(
    kl_div,
    lambda u, ans, x, y: u * _log_ratio(x, y),
    lambda u, ans, x, y: u * _kl_div_y_slope(x, y),
)
kl_div.__doc__ = """``x log(x / y) - x + y`` for x, y > 0; ``y`` at x == 0 (y >= 0); inf elsewhere.

    Example:
        >>> float(kl_div(1.0, 1.0))
        0.0
    """
