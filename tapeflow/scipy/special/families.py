"""Functions declared with all their partial derivatives at once ("derivative families").

A family is one primitive ``f(*args, orders=(i, j, ...))`` whose kernel computes the
partial derivative of the given orders; ``orders`` all 0 is the function itself. Its rule
for argument ``k`` is the same primitive with ``orders[k]`` one higher, so derivatives of
every order and in every combination of arguments exist, each computed by the kernel as
accurately as the value. The incomplete gamma and beta functions and the zeta function
are declared this way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tapeflow.core.primitive import defelementwise, primitive, vjp_needs

__all__ = ["derivative_family"]

DECLARES_FOR_CALLER = True  # the primitive belongs to the module that calls the helper


def _raise_order(orders: tuple[int, ...], k: int) -> tuple[int, ...]:
    return orders[:k] + (orders[k] + 1,) + orders[k + 1 :]


def derivative_family(kernel: Callable[..., Any], name: str, arity: int) -> Any:
    """Declare ``kernel(*args, orders=...)`` as an elementwise, broadcasting primitive whose
    derivative in argument ``k`` is itself with ``orders[k] + 1``."""
    family = primitive(kernel, name=name, broadcasts=True)
    zero = (0,) * arity

    def rule(k: int) -> Callable[..., Any]:
        def derivative(u: Any, ans: Any, *args: Any, orders: tuple[int, ...] = zero) -> Any:
            return u * family(*args, orders=_raise_order(orders, k))

        return derivative

    defelementwise(family, *(rule(k) for k in range(arity)))
    vjp_needs(family, ans=False, args=True)
    return family
