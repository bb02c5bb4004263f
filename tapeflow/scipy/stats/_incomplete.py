"""The regularized incomplete gamma and beta functions, for the stats CDFs (private).

``gammainc(a, x) = P(a, x)``, ``gammaincc(a, x) = Q(a, x) = 1 - P(a, x)`` and
``betainc(a, b, x) = I_x(a, b)``, with derivatives of every order in ``x`` and in the
shape parameters. (``tapeflow.scipy.special`` gains public versions of these in
parallel; the stats module can move to them once they land.)

Values: ``P`` by its power series for ``x < a + 1`` and ``Q`` by Legendre's continued
fraction otherwise; ``I_x(a, b)`` by its continued fraction, on ``I_{1-x}(b, a)`` when
``x > (a + 1) / (a + b + 2)``; both evaluated by the modified Lentz method until the
last update is below float64's resolution (relative error about 1e-14 for shape
parameters up to a few thousand; an entry that does not converge within
``_MAX_TERMS`` terms is nan, never a silently wrong number).

Derivatives: in ``x`` they are the densities (``x^(a-1) e^-x / Gamma(a)`` and
``x^(a-1) (1-x)^(b-1) / B(a, b)``). In the shape parameters there is no closed form, so
the kernels run the same series and continued fractions on truncated Taylor
expansions in ``a`` (and ``b``) instead of numbers (:class:`_Taylor`), which gives
``d^i/da^i d^j/db^j`` exactly up to the truncation of the series. Each primitive takes
the orders ``da`` (and ``db``) as static keywords, so its derivative in a shape
parameter is the same primitive one order higher, and its derivative in ``x`` the
corresponding derivative of the density, written with tapeflow operations: every
order of every mix works.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapeflow.core.primitive import defelementwise, primitive, vjp_needs
from tapeflow.numpy.elementwise import exp as _exp
from tapeflow.numpy.elementwise import log as _log
from tapeflow.numpy.elementwise import log1p as _log1p
from tapeflow.scipy.kernels import float_dtype, np_gammaln, np_polygamma
from tapeflow.scipy.special import gammaln as _gammaln
from tapeflow.scipy.special import polygamma as _polygamma

__all__ = ["gammainc", "gammaincc", "betainc"]

_EPS = 1e-16  # a series or fraction has converged when its update is this small, relatively
_MAX_TERMS = 20_000
_TINY = 1e-300  # Lentz's guard against a zero denominator


class _Backend:
    """The functions a :class:`_Taylor` needs: numpy's in the kernels, tapeflow's in rules."""

    def __init__(self, exp: Any, log: Any, gammaln: Any, polygamma: Any) -> None:
        self.exp, self.log, self.gammaln, self.polygamma = exp, log, gammaln, polygamma


_NUMPY = _Backend(np.exp, np.log, np_gammaln, lambda n, x: np_polygamma(x, n=n))
_TAPEFLOW = _Backend(_exp, _log, _gammaln, _polygamma)


class _Taylor:
    """A truncated Taylor expansion in two variables (the shape parameters ``a``, ``b``).

    ``c[i][j]`` is ``d^i/da^i d^j/db^j f / (i! j!)`` for ``i <= I`` and ``j <= J``; None
    stands for a zero coefficient (most of them, so products skip them). Coefficients are
    numpy arrays in the kernels and tapeflow arrays in the rules: the same code serves
    both, and in the rules it is differentiated like any other.
    """

    __slots__ = ("c", "ops")
    __array_ufunc__ = None  # ``ndarray - taylor`` defers to __rsub__ instead of an object array

    def __init__(self, c: list[list[Any]], ops: _Backend) -> None:
        self.c, self.ops = c, ops

    @classmethod
    def variable(cls, value: Any, orders: tuple[int, int], which: int, ops: _Backend) -> _Taylor:
        """The expansion of the variable ``which`` (0: ``a``, 1: ``b``) at ``value``."""
        c: list[list[Any]] = [[None] * (orders[1] + 1) for _ in range(orders[0] + 1)]
        c[0][0] = value
        if orders[which] > 0:
            c[1 - which][which] = 1.0  # the first-order coefficient of a or b
        return cls(c, ops)

    @property
    def value(self) -> Any:
        return self.c[0][0]

    def coefficient(self, i: int, j: int) -> Any:
        """``d^i/da^i d^j/db^j f``: the coefficient times ``i! j!``."""
        c = self.c[i][j]
        return 0.0 * self.c[0][0] if c is None else c * float(math.factorial(i) * math.factorial(j))

    def _map(self, fn: Any) -> _Taylor:
        return _Taylor([[None if c is None else fn(c) for c in row] for row in self.c], self.ops)

    def take(self, mask: Any) -> _Taylor:
        """The entries selected by ``mask`` (kernels: coefficients are flat arrays)."""
        return self._map(lambda c: c[mask] if np.ndim(c) else c)

    def __add__(self, other: Any) -> _Taylor:
        if not isinstance(other, _Taylor):
            c = [row[:] for row in self.c]
            c[0][0] = c[0][0] + other
            return _Taylor(c, self.ops)
        rows = zip(self.c, other.c, strict=True)
        return _Taylor(
            [[_plus(p, q) for p, q in zip(r1, r2, strict=True)] for r1, r2 in rows], self.ops
        )

    __radd__ = __add__

    def __neg__(self) -> _Taylor:
        return self._map(lambda c: -c)

    def __sub__(self, other: Any) -> _Taylor:
        return self.__add__(-other)

    def __rsub__(self, other: Any) -> _Taylor:
        return self.__neg__().__add__(other)

    def __mul__(self, other: Any) -> _Taylor:
        if not isinstance(other, _Taylor):
            return self._map(lambda c: c * other)
        rows, cols = len(self.c), len(self.c[0])
        out: list[list[Any]] = [[None] * cols for _ in range(rows)]
        for i1, row in enumerate(self.c):
            for j1, p in enumerate(row):
                if p is None:
                    continue
                for i2 in range(rows - i1):
                    for j2 in range(cols - j1):
                        q = other.c[i2][j2]
                        if q is not None:
                            out[i1 + i2][j1 + j2] = _plus(out[i1 + i2][j1 + j2], p * q)
        return _Taylor(out, self.ops)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> _Taylor:
        if isinstance(other, _Taylor):
            return self * other.reciprocal()
        return self._map(lambda c: c / other)

    def _compose(self, derivatives: list[Any]) -> _Taylor:
        """``f(self)`` from ``derivatives[m] = f^(m)(self.value)``: sum of f^(m) N^m / m!."""
        nilpotent = _Taylor([row[:] for row in self.c], self.ops)
        nilpotent.c[0][0] = None
        out = _Taylor([[None] * len(self.c[0]) for _ in self.c], self.ops)
        out.c[0][0] = derivatives[0]
        power = None
        for m in range(1, len(derivatives)):
            power = nilpotent if power is None else power * nilpotent
            out = out + power * (derivatives[m] / math.factorial(m))
        return out

    @property
    def _degree(self) -> int:
        return len(self.c) + len(self.c[0]) - 2  # powers of N above it vanish

    def exp(self) -> _Taylor:
        e = self.ops.exp(self.value)
        return self._compose([e] * (self._degree + 1))

    def log(self) -> _Taylor:
        u = self.value
        terms = [self.ops.log(u)]
        terms += [
            (-1) ** (m - 1) * math.factorial(m - 1) / u**m for m in range(1, self._degree + 1)
        ]
        return self._compose(terms)

    def reciprocal(self) -> _Taylor:
        u = self.value
        return self._compose(
            [(-1) ** m * math.factorial(m) / u ** (m + 1) for m in range(self._degree + 1)]
        )

    def gammaln(self) -> _Taylor:
        u = self.value
        terms = [self.ops.gammaln(u)]
        terms += [self.ops.polygamma(m - 1, u) for m in range(1, self._degree + 1)]
        return self._compose(terms)

    def guarded(self) -> _Taylor:
        """Lentz's guard: a value that is exactly 0 becomes tiny (kernels only)."""
        c = [row[:] for row in self.c]
        c[0][0] = np.where(np.abs(c[0][0]) < _TINY, _TINY, c[0][0])
        return _Taylor(c, self.ops)

    def finite(self) -> Any:
        """Per entry: is every coefficient finite? (kernels only)"""
        ok: Any = True
        for row in self.c:
            for c in row:
                if c is not None:
                    ok = ok & np.isfinite(c)
        return ok

    def settled(self, update: _Taylor) -> Any:
        """Per entry: is ``update`` negligible against ``self`` in every coefficient?"""
        done: Any = True
        for row, urow in zip(self.c, update.c, strict=True):
            for c, u in zip(row, urow, strict=True):
                if u is not None:
                    scale = np.abs(c) if c is not None else 0.0
                    done = done & (np.abs(u) <= _EPS * scale)
        return done


def _plus(p: Any, q: Any) -> Any:
    if p is None:
        return q
    if q is None:
        return p
    return p + q


# ----- the kernels (float64 numpy, on the entries that need each method) ------------------
def _iterate(step: Any, state: Any, total: _Taylor) -> tuple[_Taylor, Any]:
    """Apply ``step`` until every entry settles; (total, entries that did not, or went nan)."""
    todo = np.ones(np.shape(total.value), bool)
    for _ in range(_MAX_TERMS):
        state, new_total = step(state, total)
        finite = new_total.finite()
        todo = todo & finite & ~new_total.settled(new_total - total)
        total = new_total
        if not todo.any():
            break
    return total, todo | ~total.finite()


def _gamma_series(a: _Taylor, x: np.ndarray) -> tuple[_Taylor, Any]:
    """``P(a, x) = x^a e^-x / Gamma(a + 1) * sum_n x^n / ((a + 1) ... (a + n))``."""
    one = a * 0.0 + 1.0

    def step(state: Any, total: _Taylor) -> Any:
        n, term = state
        term = term * (a + n).reciprocal() * x
        return (n + 1, term), total + term

    total, failed = _iterate(step, (1, one), one)
    prefactor = (a * np.log(x) - x - (a + 1.0).gammaln()).exp()
    return prefactor * total, failed


def _gamma_fraction(a: _Taylor, x: np.ndarray) -> tuple[_Taylor, Any]:
    """``Q(a, x) = x^a e^-x / Gamma(a) / (x + 1 - a - 1 (1 - a) / (x + 3 - a - ...))``."""
    b = (x + 1.0) - a
    d = b.guarded().reciprocal()
    c = a * 0.0 + 1.0 / _TINY

    def step(state: Any, h: _Taylor) -> Any:
        i, b, c, d = state
        an = (a - float(i)) * float(i)
        b = b + 2.0
        d = (an * d + b).guarded().reciprocal()
        c = (b + an * c.reciprocal()).guarded()
        return (i + 1, b, c, d), h * d * c

    h, failed = _iterate(step, (1, b, c, d), d)
    prefactor = (a * np.log(x) - x - a.gammaln()).exp()
    return prefactor * h, failed


def _beta_fraction(a: _Taylor, b: _Taylor, x: np.ndarray) -> tuple[_Taylor, Any]:
    """``I_x(a, b) = x^a (1 - x)^b / (a B(a, b)) / (1 + d_1 / (1 + d_2 / (1 + ...)))``."""
    d = (1.0 - (a + b) * x * (a + 1.0).reciprocal()).guarded().reciprocal()
    c = a * 0.0 + 1.0

    def update(aa: _Taylor, c: _Taylor, d: _Taylor) -> tuple[_Taylor, _Taylor]:
        d = (aa * d + 1.0).guarded().reciprocal()
        c = (aa * c.reciprocal() + 1.0).guarded()
        return c, d

    def step(state: Any, h: _Taylor) -> Any:
        m, c, d = state
        even = (b - float(m)) * (float(m) * x) / ((a + float(2 * m - 1)) * (a + float(2 * m)))
        c, d = update(even, c, d)
        h = h * d * c
        odd = (
            -(a + float(m)) * (a + b + float(m)) * x / ((a + float(2 * m)) * (a + float(2 * m + 1)))
        )
        c, d = update(odd, c, d)
        return (m + 1, c, d), h * d * c

    h, failed = _iterate(step, (1, c, d), d)
    log_beta = a.gammaln() + b.gammaln() - (a + b).gammaln()
    prefactor = (a * np.log(x) + b * np.log1p(-x) - log_beta).exp() / a
    return prefactor * h, failed


def _prepare(*args: Any) -> tuple[list[np.ndarray], tuple[int, ...], Any]:
    """The arguments as flat float64 arrays of their broadcast shape, and the result dtype."""
    # Python numbers are weak, as in numpy: betainc(0.5, df, w) keeps a float32 df float32.
    dtype = float_dtype(
        np.result_type(*(x if isinstance(x, (int, float)) else np.result_type(x) for x in args))
    )
    arrays = np.broadcast_arrays(*(np.asarray(x, np.float64) for x in args))
    return [x.ravel() for x in arrays], arrays[0].shape, dtype


def _np_gammainc(a: Any, x: Any, da: int = 0, upper: bool = False) -> Any:
    """``P(a, x)`` (``Q`` if ``upper``), or for ``da > 0`` its ``da``-th derivative in ``a``."""
    (av, xv), shape, dtype = _prepare(a, x)
    out = np.full(av.shape, np.nan)
    with np.errstate(all="ignore"):
        ok = (av > 0) & (xv >= 0)
        edge = ok & ((xv == 0) | np.isinf(xv))  # P = 0 at x = 0 and 1 at inf, flat in a
        lower_edge = np.where(xv == 0, 0.0, 1.0)
        out[edge] = (np.where(upper, 1.0 - lower_edge, lower_edge) if da == 0 else 0.0 * xv)[edge]
        seed = _Taylor.variable(av, (da, 0), 0, _NUMPY)
        for use_series in (True, False):
            part = ok & ~edge & ((xv < av + 1) == use_series)
            if not part.any():
                continue
            method = _gamma_series if use_series else _gamma_fraction
            result, failed = method(seed.take(part), xv[part])
            value = result.coefficient(da, 0)
            if da == 0 and use_series == upper:  # computed P, asked Q, or the other way
                value = 1.0 - value
            elif da > 0 and use_series == upper:  # d^k Q = -d^k P
                value = -value
            out[part] = np.where(failed, np.nan, value)
    return out.reshape(shape).astype(dtype, copy=False)[()]


def _np_betainc(a: Any, b: Any, x: Any, da: int = 0, db: int = 0) -> Any:
    """``I_x(a, b)``, or its derivative ``d^da/da^da d^db/db^db``."""
    (av, bv, xv), shape, dtype = _prepare(a, b, x)
    out = np.full(av.shape, np.nan)
    with np.errstate(all="ignore"):
        ok = (av > 0) & (bv > 0) & (xv >= 0) & (xv <= 1)
        edge = ok & ((xv == 0) | (xv == 1))
        out[edge] = (xv if da + db == 0 else 0.0 * xv)[edge]
        orders = (da, db)
        seed_a = _Taylor.variable(av, orders, 0, _NUMPY)
        seed_b = _Taylor.variable(bv, orders, 1, _NUMPY)
        swap = xv > (av + 1) / (av + bv + 2)
        for swapped in (False, True):
            part = ok & ~edge & (swap == swapped)
            if not part.any():
                continue
            sa, sb = seed_a.take(part), seed_b.take(part)
            if swapped:  # I_x(a, b) = 1 - I_{1-x}(b, a)
                result, failed = _beta_fraction(sb, sa, 1.0 - xv[part])
                result = 1.0 - result
            else:
                result, failed = _beta_fraction(sa, sb, xv[part])
            out[part] = np.where(failed, np.nan, result.coefficient(da, db))
    return out.reshape(shape).astype(dtype, copy=False)[()]


# ----- the primitives and their rules -------------------------------------------------------
def _gamma_density(a: Any, x: Any, da: int) -> Any:
    """``d^da/da^da`` of ``x^(a-1) e^-x / Gamma(a)``, in tapeflow operations."""
    t = _Taylor.variable(a, (da, 0), 0, _TAPEFLOW)
    return ((t - 1.0) * _log(x) - x - t.gammaln()).exp().coefficient(da, 0)


def _beta_density(a: Any, b: Any, x: Any, da: int, db: int) -> Any:
    """``d^da/da^da d^db/db^db`` of ``x^(a-1) (1-x)^(b-1) / B(a, b)``."""
    ta = _Taylor.variable(a, (da, db), 0, _TAPEFLOW)
    tb = _Taylor.variable(b, (da, db), 1, _TAPEFLOW)
    log_beta = ta.gammaln() + tb.gammaln() - (ta + tb).gammaln()
    log_density = (ta - 1.0) * _log(x) + (tb - 1.0) * _log1p(-x) - log_beta
    return log_density.exp().coefficient(da, db)


_incomplete_gamma = primitive(_np_gammainc, name="scipy.stats.incomplete_gamma", broadcasts=True)
defelementwise(
    _incomplete_gamma,
    lambda u, ans, a, x, da=0, upper=False: u * _incomplete_gamma(a, x, da=da + 1, upper=upper),
    lambda u, ans, a, x, da=0, upper=False: u * (-1.0 if upper else 1.0) * _gamma_density(a, x, da),
)
vjp_needs(_incomplete_gamma, ans=False, args=True)

_incomplete_beta = primitive(_np_betainc, name="scipy.stats.incomplete_beta", broadcasts=True)
defelementwise(
    _incomplete_beta,
    lambda u, ans, a, b, x, da=0, db=0: u * _incomplete_beta(a, b, x, da=da + 1, db=db),
    lambda u, ans, a, b, x, da=0, db=0: u * _incomplete_beta(a, b, x, da=da, db=db + 1),
    lambda u, ans, a, b, x, da=0, db=0: u * _beta_density(a, b, x, da, db),
)
vjp_needs(_incomplete_beta, ans=False, args=True)


def gammainc(a: Any, x: Any) -> Any:
    """The regularized lower incomplete gamma function ``P(a, x)`` (a > 0, x >= 0).

    Example:
        >>> round(float(gammainc(1.0, 2.0)), 12)  # 1 - exp(-2)
        0.864664716763
    """
    return _incomplete_gamma(a, x)


def gammaincc(a: Any, x: Any) -> Any:
    """The regularized upper incomplete gamma function ``Q(a, x) = 1 - P(a, x)``.

    Example:
        >>> round(float(gammaincc(1.0, 2.0)), 12)  # exp(-2)
        0.135335283237
    """
    return _incomplete_gamma(a, x, upper=True)


def betainc(a: Any, b: Any, x: Any) -> Any:
    """The regularized incomplete beta function ``I_x(a, b)`` (a, b > 0, 0 <= x <= 1).

    Example:
        >>> round(float(betainc(2.0, 1.0, 0.5)), 12)  # x ** 2
        0.25
    """
    return _incomplete_beta(a, b, x)
