"""Truncated Taylor series ("jets") on numpy arrays: derivatives of a numerical algorithm.

The incomplete gamma and beta functions and the zeta function have no closed-form
derivative in their parameters (``a`` of ``gammainc(a, x)``, ``s`` of ``zeta(s, q)``).
Their kernels therefore run on jets: each number carries the coefficients of its Taylor
series in one or more perturbations, truncated at given orders, and every arithmetic step
and elementary function propagates them. Running a series or a continued fraction on jets
gives its value and its derivatives, to the accuracy of the algorithm, in one pass.

A :class:`Jet` in the variables ``e_1, ..., e_d`` truncated at orders ``(K_1, ..., K_d)``
holds one coefficient array per monomial ``e_1^i_1 ... e_d^i_d`` with ``i_k <= K_k``;
the partial derivative of that order is the coefficient times ``i_1! ... i_d!``.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["Jet", "Basis", "basis", "exp", "expm1", "log", "log1p", "log1pmx", "sin", "where"]


class Basis:
    """The monomials of a truncation and how they multiply."""

    def __init__(self, orders: tuple[int, ...]) -> None:
        self.orders = orders
        monomials = sorted(itertools.product(*(range(k + 1) for k in orders)), key=sum)
        self.monomials = monomials
        self.index = {m: i for i, m in enumerate(monomials)}
        self.size = len(monomials)
        self.degree = sum(orders)
        # products[m]: the pairs (p, q) of monomial numbers whose product is monomial m.
        self.products: list[list[tuple[int, int]]] = [[] for _ in monomials]
        for p, mp in enumerate(monomials):
            for q, mq in enumerate(monomials):
                m = tuple(a + b for a, b in zip(mp, mq, strict=True))
                if m in self.index:
                    self.products[self.index[m]].append((p, q))

    def unit(self, k: int) -> int:
        """The number of the monomial e_k."""
        return self.index[tuple(int(i == k) for i in range(len(self.orders)))]

    def factorial(self, m: tuple[int, ...]) -> float:
        return float(math.prod(math.factorial(i) for i in m))


@functools.lru_cache(maxsize=64)
def basis(orders: tuple[int, ...]) -> Basis:
    return Basis(orders)


class Jet:
    """A truncated Taylor series: ``c[m]`` is the coefficient of monomial ``m`` (arrays)."""

    __slots__ = ("c", "basis")

    def __init__(self, c: np.ndarray, basis: Basis) -> None:
        self.c = c
        self.basis = basis

    @classmethod
    def variable(cls, value: np.ndarray, k: int, orders: tuple[int, ...]) -> Jet:
        """The jet of ``value + e_k``."""
        b = basis(orders)
        c = np.zeros((b.size,) + np.shape(value), np.result_type(value, np.float64))
        c[0] = value
        if orders[k] > 0:
            c[b.unit(k)] = 1.0
        return cls(c, b)

    @classmethod
    def constant(cls, value: Any, like: Jet) -> Jet:
        value = np.asarray(value)
        c = np.zeros((like.basis.size,) + value.shape, np.result_type(value, like.c))
        c[0] = value
        return cls(c, like.basis)

    @property
    def value(self) -> np.ndarray:
        return np.asarray(self.c[0])

    def derivative(self, orders: tuple[int, ...]) -> np.ndarray:
        """The partial derivative of the given orders."""
        out: np.ndarray = self.c[self.basis.index[orders]] * self.basis.factorial(orders)
        return out

    def __getitem__(self, mask: Any) -> Jet:
        return Jet(self.c[(slice(None),) + (mask,)], self.basis)

    def _aligned(self, other: Any) -> tuple[np.ndarray, np.ndarray]:
        """The coefficients and a constant, shaped to broadcast entry by entry."""
        other = np.asarray(other)
        c = self.c
        extra = other.ndim - (c.ndim - 1)
        if extra > 0:  # the constant has more axes than the jet's values
            c = c.reshape((c.shape[0],) + (1,) * extra + c.shape[1:])
        return c, other[None]

    def __add__(self, other: Any) -> Jet:
        if isinstance(other, Jet):
            return Jet(self.c + other.c, self.basis)
        c, k = self._aligned(other)
        c = c + np.zeros_like(k)  # a copy with the broadcast shape and dtype
        c[0] = c[0] + k[0]
        return Jet(c, self.basis)

    __radd__ = __add__

    def __neg__(self) -> Jet:
        return Jet(-self.c, self.basis)

    def __sub__(self, other: Any) -> Jet:
        return self.__add__(-other)

    def __rsub__(self, other: Any) -> Jet:
        return self.__neg__().__add__(other)

    def __mul__(self, other: Any) -> Jet:
        if not isinstance(other, Jet):
            c, k = self._aligned(other)
            return Jet(c * k, self.basis)
        a, b = self.c, other.c
        shape = np.broadcast_shapes(a.shape, b.shape)
        out = np.zeros(shape, np.result_type(a, b))
        for m, pairs in enumerate(self.basis.products):
            for p, q in pairs:
                out[m] += a[p] * b[q]
        return Jet(out, self.basis)

    __rmul__ = __mul__

    def reciprocal(self) -> Jet:
        a = self.c
        out = np.zeros_like(a)
        out[0] = 1.0 / a[0]
        # r * a = 1, solved monomial by monomial in order of degree.
        for m, pairs in enumerate(self.basis.products[1:], start=1):
            acc = np.zeros_like(a[0])
            for p, q in pairs:
                if p != 0:
                    acc = acc + a[p] * out[q]
            out[m] = -acc * out[0]
        return Jet(out, self.basis)

    def __truediv__(self, other: Any) -> Jet:
        if not isinstance(other, Jet):
            c, k = self._aligned(other)
            return Jet(c / k, self.basis)
        return self * other.reciprocal()

    def __rtruediv__(self, other: Any) -> Jet:
        return self.reciprocal().__mul__(other)

    def compose(self, coeffs: list[Any]) -> Jet:
        """f(self) from f's Taylor coefficients at the value, ``coeffs[k] = f^(k)(v) / k!``."""
        delta = Jet(self.c.copy(), self.basis)
        delta.c[0] = 0.0
        out: Jet = (delta * 0.0).__add__(coeffs[-1])
        for c in reversed(coeffs[:-1]):
            out = (out * delta).__add__(c)
        return out


def _taylor(j: Jet, derivative: Callable[[np.ndarray, int], Any]) -> Jet:
    """f(j) given ``derivative(v, k)`` = the k-th derivative of f at v."""
    v = j.value
    return j.compose([derivative(v, k) / math.factorial(k) for k in range(j.basis.degree + 1)])


def exp(j: Jet) -> Jet:
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        e = np.exp(j.value)
        return _taylor(j, lambda v, k: e)


def expm1(j: Jet) -> Jet:
    with np.errstate(over="ignore", under="ignore"):
        e = np.exp(j.value)
        return _taylor(j, lambda v, k: np.expm1(v) if k == 0 else e)


def _log_derivative(v: np.ndarray, k: int) -> Any:
    # d^k/dv^k log v = (-1)^(k+1) (k-1)! / v^k
    return (-1.0) ** (k + 1) * math.factorial(k - 1) / v**k


def log(j: Jet) -> Jet:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _taylor(j, lambda v, k: np.log(v) if k == 0 else _log_derivative(v, k))


def log1p(j: Jet) -> Jet:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _taylor(j, lambda v, k: np.log1p(v) if k == 0 else _log_derivative(1.0 + v, k))


def _log1pmx_value(u: np.ndarray) -> np.ndarray:
    """log(1 + u) - u without cancellation near 0: with w = u / (2 + u),
    log1p(u) = 2 atanh(w), and 2w - u = -u^2 / (2 + u)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        direct = np.log1p(u) - u
    near = np.abs(u) < 0.5
    un = np.where(near, u, 0.0)
    w = un / (2.0 + un)
    w2 = w * w
    series = np.zeros_like(w)
    for k in range(14, 0, -1):
        series = series * w2 + 1.0 / (2 * k + 1)
    return np.where(near, -un * un / (2.0 + un) + 2.0 * w * w2 * series, direct)


def log1pmx(j: Jet) -> Jet:
    """log(1 + u) - u, accurate for small u."""

    def derivative(v: np.ndarray, k: int) -> Any:
        if k == 0:
            return _log1pmx_value(v)
        if k == 1:
            return -v / (1.0 + v)
        return _log_derivative(1.0 + v, k)

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _taylor(j, derivative)


def sin(j: Jet) -> Jet:
    """sin(j); sin(v + k pi / 2) is the k-th derivative (taken as sin/cos exactly)."""
    s, c = np.sin(j.value), np.cos(j.value)
    return _taylor(j, lambda v, k: (s, c, -s, -c)[k % 4])


def where(mask: np.ndarray, a: Jet, b: Jet) -> Jet:
    return Jet(np.where(mask, a.c, b.c), a.basis)
