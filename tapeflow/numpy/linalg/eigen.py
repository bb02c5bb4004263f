"""``eig`` and ``eigvals``: eigenvalues and eigenvectors of general square matrices.

As numpy does, a real matrix whose eigenvalues are all real gives real arrays and any
other matrix complex ones (the dtype of the result depends on the values); each
eigenvector has unit 2-norm. The derivative needs distinct eigenvalues (a
diagonalizable matrix with no repeated eigenvalue).

The gauge of the eigenvectors. An eigenvector is only determined up to a factor of
modulus one, ``v_k -> v_k * exp(i theta_k)`` (for a real one, its sign); LAPACK picks
one by a rule of its own. The derivative tapeflow returns is that of eigenvectors
whose phases do not turn: along every direction ``dA``, ``v_k^H dv_k = 0`` (the unit
norm is kept and the phase is not moved). So the derivatives of anything that does not
depend on the phases (``|v|``, the projector ``v v^H``, ``V diag(f(w)) V^-1``) are
exact, whatever LAPACK chose; a function that reads a phase (``v[0, k].real``, the sign
of a real eigenvector) has a derivative that follows tapeflow's gauge, not LAPACK's
rule, and finite differences of it will disagree. (Real eigenvectors of a real matrix
stay real along real directions, and their sign does not turn: the same holds.)

Written with tapeflow operations (``solve``, products), so derivatives of any order
work; ``vmap`` moves the batch axis first (numpy maps over leading axes).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.batching import to_front
from tapeflow.core.primitive import defbatch, defjvp, defvjp, primitive
from tapeflow.numpy.items import items
from tapeflow.numpy.linalg.kernels import EigResult, np_eig, square_check
from tapeflow.numpy.linalg.matrices import (
    adjoint,
    col,
    conj_of,
    diag_embed,
    diag_part,
    gap_inverse,
    mm,
    row,
    swap_last,
)
from tapeflow.numpy.linalg.primitives import solve

__all__ = ["eig", "eigvals"]


_eig = primitive(np_eig, name="linalg.eig")


def _eig_jvp(t: Any, ans: Any, a: Any) -> Any:
    w, v = items(ans, 2)
    m = solve(v, mm(t, v))  # V^-1 dA V
    c = gap_inverse(w) * m  # dV = V C, each column moved within the other eigenvectors
    # ... then along its own eigenvector so that v_k^H dv_k = 0 (norm and phase kept)
    c = c - diag_embed(diag_part(mm(mm(adjoint(v), v), c)))
    return (diag_part(m), mm(v, c))


def _eig_vjp(ans: Any, a: Any) -> Any:
    w, v = items(ans, 2)

    def vjp(g: Any) -> Any:
        # The transpose of _eig_jvp under the pairing Re sum(g * t).
        gw, gv = g
        inner = None if gw is None else diag_embed(gw)
        if gv is not None:
            j = mm(swap_last(v), gv)  # V^T gV
            gram_t = mm(swap_last(v), conj_of(v))  # (V^H V)^T
            part = gap_inverse(w) * (j - gram_t * row(diag_part(j)))
            inner = part if inner is None else inner + part
        return solve(swap_last(v), mm(inner, swap_last(v)))  # V^-T inner V^T

    return vjp


defvjp(_eig, _eig_vjp)
defjvp(_eig, _eig_jvp)


_eigvals = primitive(np.linalg.eigvals, name="linalg.eigvals")


def _eigvals_vjp(ans: Any, a: Any) -> Any:
    def vjp(g: Any) -> Any:
        _, v = items(_eig(a), 2)  # LAPACK orders them as eigvals does
        return solve(swap_last(v), col(g) * swap_last(v))  # V^-T diag(g) V^T

    return vjp


def _eigvals_jvp(t: Any, ans: Any, a: Any) -> Any:
    _, v = items(_eig(a), 2)
    return diag_part(solve(v, mm(t, v)))


defvjp(_eigvals, _eigvals_vjp)
defjvp(_eigvals, _eigvals_jvp)


def _stack_first(fun: Any, outputs: int) -> Any:
    def rule(args: Any, dims: Any) -> Any:
        return fun(to_front(args[0], dims[0])), (0,) * outputs if outputs > 1 else 0

    return rule


defbatch(_eig, _stack_first(_eig, 2))
defbatch(_eigvals, _stack_first(_eigvals, 1))


def eig(a: Any) -> Any:
    """Eigenvalues and right eigenvectors (unit columns) of a (stack of) square matrices
    (numpy.linalg.eig), as ``EigResult(eigenvalues, eigenvectors)``.

    Differentiable where the eigenvalues are distinct; eigenvector derivatives are those
    of phase-free eigenvectors (see the module notes), so differentiate quantities that do
    not depend on the phases.

    Example:
        >>> import tapeflow as tp
        >>> w, v = eig(np.array([[2.0, 1.0], [0.0, 3.0]]))
        >>> w
        array([2., 3.])
        >>> tp.grad(lambda a: eig(a).eigenvalues[1])(np.array([[2.0, 1.0], [0.0, 3.0]]))
        array([[0., 0.],
               [1., 1.]])
    """
    square_check(a, "eig")
    w, v = items(_eig(a), 2)
    return EigResult(w, v)


def eigvals(a: Any) -> Any:
    """Eigenvalues of a (stack of) general square matrices (numpy.linalg.eigvals).

    Their derivative, ``V^-T diag(g) V^T``, needs distinct eigenvalues.

    Example:
        >>> eigvals(np.array([[0.0, -1.0], [1.0, 0.0]]))
        array([0.+1.j, 0.-1.j])
    """
    square_check(a, "eigvals")
    return _eigvals(a)
