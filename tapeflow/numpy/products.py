"""Products: matmul, dot (and, with their rules, the core of linear algebra)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.numpy._cotangent import shape_of, unbroadcast
from tapeflow.primitive import defjvp, defvjp, primitive, register_numpy

__all__ = ["matmul", "dot"]


def _swap_last(x: Any) -> Any:
    from tapeflow.numpy.shape import swapaxes

    return swapaxes(x, -1, -2)


def _matmul_vjp_x(ans: Any, x: Any, y: Any) -> Any:
    from tapeflow.numpy.shape import reshape

    xs, ys = shape_of(x), shape_of(y)

    def vjp(g: Any) -> Any:
        if len(ys) == 1:  # (..., n) @ (n,) -> (...,)
            from tapeflow.numpy.elementwise import multiply

            return unbroadcast(multiply(reshape(g, shape_of(g) + (1,)), y), xs)
        if len(xs) == 1:  # (n,) @ (..., n, m) -> (..., m)
            gx = matmul(reshape(g, shape_of(g)[:-1] + (1, shape_of(g)[-1])), _swap_last(y))
            return unbroadcast(reshape(gx, shape_of(gx)[:-2] + (xs[0],)), xs)
        return unbroadcast(matmul(g, _swap_last(y)), xs)

    return vjp


def _matmul_vjp_y(ans: Any, x: Any, y: Any) -> Any:
    from tapeflow.numpy.shape import reshape

    xs, ys = shape_of(x), shape_of(y)

    def vjp(g: Any) -> Any:
        if len(xs) == 1 and len(ys) == 1:
            return g * x
        if len(xs) == 1:  # g: (..., m); gy = outer(x, g)
            return unbroadcast(reshape(x, (xs[0], 1)) * reshape(g, shape_of(g)[:-1] + (1,) + shape_of(g)[-1:]), ys)
        if len(ys) == 1:  # g: (..., k); gy = sum over batch of x^T g
            gy = matmul(_swap_last(x), reshape(g, shape_of(g) + (1,)))
            return unbroadcast(reshape(gy, shape_of(gy)[:-1]), ys)
        return unbroadcast(matmul(_swap_last(x), g), ys)

    return vjp


matmul = primitive(np.matmul, name="matmul")
register_numpy(np.matmul, matmul)
defvjp(matmul, _matmul_vjp_x, _matmul_vjp_y)
defjvp(matmul, lambda t, ans, x, y: matmul(t, y), lambda t, ans, x, y: matmul(x, t))


def dot(a: Any, b: Any) -> Any:
    """numpy.dot: matmul for 1-d and 2-d arrays, scalar multiply for 0-d ones."""
    if len(shape_of(a)) == 0 or len(shape_of(b)) == 0:
        from tapeflow.numpy.elementwise import multiply

        return multiply(a, b)
    if len(shape_of(a)) <= 2 and len(shape_of(b)) <= 2:
        return matmul(a, b)
    return tensordot(a, b, axes=([-1], [-2]))  # noqa: F821 - defined with the products family


register_numpy(np.dot, dot)
