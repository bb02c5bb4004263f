"""tapeflow: small, fast, exact automatic differentiation for NumPy.

Example:
    >>> import tapeflow as tp
    >>> import tapeflow.numpy as tnp
    >>> f = lambda x: tnp.sum(tnp.tanh(x) ** 2)
    >>> g = tp.grad(f)
"""

from tapeflow import tracer, tree_util
from tapeflow.checkpoint import checkpoint
from tapeflow.custom import custom_jvp, custom_vjp, stop_gradient
from tapeflow.forward import jvp
from tapeflow.jacobians import elementwise_grad, hessian, hvp, jacfwd, jacobian, jacrev, linearize
from tapeflow.jit import jit
from tapeflow.primitive import (
    defjvp,
    defjvp_argnum,
    defvjp,
    defvjp_argnum,
    defvjp_direct,
    nondifferentiable,
    primitive,
    vjp_needs,
)
from tapeflow.testing import check_grads
from tapeflow.tracer import Tracer, is_traced
from tapeflow.transforms import grad, value_and_grad, vjp
from tapeflow.tree_util import ravel_pytree
from tapeflow.vmap import vmap

# isort: off
# Registration order: the numpy layer and nn register their primitives before
# mark_builtin_primitives runs, so these imports stay after the ones above.
import tapeflow.numpy  # noqa: E402,F401  (registers every primitive)
from tapeflow import datasets  # noqa: E402
from tapeflow import nn, optim  # noqa: E402  (nn registers its primitives)
from tapeflow.serialization import load_params, save_params  # noqa: E402
from tapeflow.primitive import mark_builtin_primitives as _mark_builtin_primitives
# isort: on

_mark_builtin_primitives()
tracer.install_operators(tapeflow.numpy)
tracer.install_methods(tapeflow.numpy)

__version__ = "0.1.0"

__all__ = [
    "grad",
    "value_and_grad",
    "vjp",
    "jvp",
    "linearize",
    "jacrev",
    "jacfwd",
    "jacobian",
    "hessian",
    "hvp",
    "elementwise_grad",
    "custom_vjp",
    "custom_jvp",
    "stop_gradient",
    "checkpoint",
    "vmap",
    "jit",
    "primitive",
    "defvjp",
    "defvjp_direct",
    "defjvp",
    "defvjp_argnum",
    "defjvp_argnum",
    "nondifferentiable",
    "vjp_needs",
    "tree_util",
    "datasets",
    "nn",
    "optim",
    "save_params",
    "load_params",
    "ravel_pytree",
    "check_grads",
    "Tracer",
    "is_traced",
]
