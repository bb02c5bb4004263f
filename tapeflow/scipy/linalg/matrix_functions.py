"""expm, sqrtm, solve_sylvester: matrix functions and the Sylvester equation, differentiable.

* ``solve_sylvester(a, b, q)`` solves ``a x + x b = q``; its derivatives solve the same
  kind of equation (with ``a^T, b^T`` in reverse mode).
* ``expm``'s derivative in the direction ``e`` is the Frechet derivative
  ``L(a, e)``, the upper-right block of ``expm([[a, e], [0, a]])``; its transpose is
  ``L(a^T, g)``. Both are ``expm`` again, so every order works.
* ``sqrtm``'s derivative solves ``x dx + dx x = da`` (a Sylvester equation in ``x``).

Transposes, not conjugate transposes, throughout: complex matrices follow the convention
of docs/coverage.md. All three call SciPy (``tapeflow[scipy]``) and batch over leading
axes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.core.primitive import defbatch, defjvp, defvjp, primitive, vjp_needs
from tapeflow.core.tracer import unwrap
from tapeflow.numpy.elementwise import real
from tapeflow.numpy.fitting import unbroadcast
from tapeflow.numpy.joining import concatenate
from tapeflow.numpy.linalg.matrices import mm, swap_last
from tapeflow.numpy.meta import dtype_of, is_complex, shape_of
from tapeflow.scipy.linalg.batching import stacked_batch_rule
from tapeflow.scipy.linalg.kernels import np_expm, np_solve_sylvester, np_sqrtm

__all__ = ["expm", "sqrtm", "solve_sylvester"]

_sylvester = primitive(np_solve_sylvester, name="scipy.linalg.solve_sylvester")


def _adjoint_solve(a: Any, b: Any, g: Any) -> Any:
    """z with a^T z + z b^T = g: the transpose of q -> x."""
    return _sylvester(swap_last(a), swap_last(b), g)


def _sylvester_vjp(k: int) -> Any:
    # a x + x b = q: with z the adjoint solution, the cotangents are -z x^T, -x^T z, z.
    def rule(ans: Any, a: Any, b: Any, q: Any) -> Any:
        def vjp(g: Any) -> Any:
            z = _adjoint_solve(a, b, g)
            ct = (-mm(z, swap_last(ans)), -mm(swap_last(ans), z), z)[k]
            return unbroadcast(ct, shape_of((a, b, q)[k]))

        return vjp

    return rule


defvjp(_sylvester, _sylvester_vjp(0), _sylvester_vjp(1), _sylvester_vjp(2))
defjvp(
    _sylvester,
    lambda t, ans, a, b, q: -_sylvester(a, b, mm(t, ans)),
    lambda t, ans, a, b, q: -_sylvester(a, b, mm(ans, t)),
    lambda t, ans, a, b, q: _sylvester(a, b, t) + 0 * ans,
)
vjp_needs(_sylvester, ans=True, args={0: (0, 1, "ans"), 1: (0, 1, "ans"), 2: (0, 1)})
defbatch(_sylvester, stacked_batch_rule(_sylvester, (2, 2, 2)))


def solve_sylvester(a: Any, b: Any, q: Any) -> Any:
    """Solve the Sylvester equation ``a x + x b = q`` (scipy.linalg.solve_sylvester).

    ``a`` is (M, M), ``b`` (N, N), ``q`` (M, N); stacks broadcast over leading axes.
    Differentiable in all three (a unique solution needs no common eigenvalue of ``a``
    and ``-b``).

    Example:
        >>> solve_sylvester(np.diag([1.0, 2.0]), np.diag([3.0]), np.array([[4.0], [10.0]]))
        array([[1.],
               [2.]])
    """
    return _sylvester(a, b, q)


_expm = primitive(np_expm, name="scipy.linalg.expm")


def _frechet(a: Any, e: Any) -> Any:
    """L(a, e) = the upper-right block of expm([[a, e], [0, a]])."""
    n = shape_of(a)[-1]
    zeros = np.zeros(
        np.broadcast_shapes(shape_of(a), shape_of(e)), np.result_type(dtype_of(a), dtype_of(e))
    )
    top = concatenate([a + zeros, e + zeros], axis=-1)
    bottom = concatenate([zeros, a + zeros], axis=-1)
    return _expm(concatenate([top, bottom], axis=-2))[..., :n, n:]


def _real_like(ct: Any, primal: Any) -> Any:
    return ct if is_complex(primal) or not is_complex(ct) else real(ct)


defvjp(_expm, lambda ans, a: lambda g: unbroadcast(_frechet(swap_last(a), g), shape_of(a)))
defjvp(_expm, lambda t, ans, a: _frechet(a, t))
vjp_needs(_expm, ans=False, args=True)
defbatch(_expm, stacked_batch_rule(_expm, (2,)))


def expm(A: Any) -> Any:
    """The matrix exponential (scipy.linalg.expm), of a matrix or a stack of them.

    Example:
        >>> expm(np.zeros((2, 2)))
        array([[1., 0.],
               [0., 1.]])
    """
    return _expm(A)


_sqrtm = primitive(np_sqrtm, name="scipy.linalg.sqrtm")
defvjp(
    _sqrtm,
    lambda ans, a: lambda g: _real_like(_adjoint_solve(ans, ans, g), a),
)
defjvp(_sqrtm, lambda t, ans, a: _sylvester(ans, ans, t))
vjp_needs(_sqrtm, ans=True, args={0: ("ans",)})
defbatch(_sqrtm, stacked_batch_rule(_sqrtm, (2,)))


def sqrtm(A: Any, disp: bool = True, blocksize: int = 64) -> Any:
    """The principal square root ``x`` of a matrix, ``x @ x = A`` (scipy.linalg.sqrtm).

    A real matrix with eigenvalues on the negative real axis has a complex square root,
    which is returned (as SciPy does). Differentiable where the square root is (no
    eigenvalue 0). With ``disp=False``, returns ``(x, errest)`` where ``errest`` is the
    plain Frobenius norm of ``x @ x - A`` relative to ``A``'s; ``blocksize`` is SciPy's
    and ignored here.

    Example:
        >>> sqrtm(np.array([[4.0, 0.0], [0.0, 9.0]]))
        array([[2., 0.],
               [0., 3.]])
    """
    x = _sqrtm(A)
    if disp:
        return x
    xv, av = np.asarray(unwrap(x)), np.asarray(unwrap(A))
    errest = np.linalg.norm(xv @ xv - av, axis=(-2, -1)) / np.linalg.norm(av, axis=(-2, -1))
    return x, errest
