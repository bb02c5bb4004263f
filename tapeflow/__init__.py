"""tapeflow: small, fast, exact automatic differentiation for NumPy.

Example:
    >>> import tapeflow as tp
    >>> import tapeflow.numpy as tnp
    >>> f = lambda x: tnp.sum(tnp.tanh(x) ** 2)
    >>> g = tp.grad(f)
"""

from tapeflow import datasets, distributed, lax, nn, optim, random, scipy, tree_util  # noqa: F401

# The legacy module tapeflow.primitive is imported first: that binds the package attribute
# `primitive`, which the function tp.primitive, imported below, then takes back.
from tapeflow import primitive as _primitive_module  # noqa: F401
from tapeflow.arguments import float0
from tapeflow.checkpoint import checkpoint, checkpoint_policies, remat
from tapeflow.config import config
from tapeflow.core import tracer  # noqa: F401  (tp.tracer.unwrap)
from tapeflow.core.debug_nans import debug_nans
from tapeflow.core.primitive import (
    defbatch,
    defelementwise,
    defjvp,
    defjvp_argnum,
    deflinear,
    defvjp,
    defvjp_argnum,
    defvjp_direct,  # noqa: F401  (deprecated; importable as before)
    nondifferentiable,
    primitive,
    vjp_needs,
)
from tapeflow.core.tracer import Array, Tracer, is_traced
from tapeflow.core.user_frames import attribute_numpy_warnings as _attribute_numpy_warnings
from tapeflow.custom import custom_jvp, custom_vjp, stop_gradient
from tapeflow.forward import jvp
from tapeflow.jacobians import elementwise_grad, hessian, hvp, jacfwd, jacobian, jacrev, linearize
from tapeflow.jit import jit
from tapeflow.reverse import grad, value_and_grad, vjp
from tapeflow.serialization import load_params, save_params
from tapeflow.staging import ShapeDtypeStruct, closure_convert, eval_shape, named_call
from tapeflow.testing import check_grads
from tapeflow.tree_util import ravel_pytree
from tapeflow.vmap import vmap

__version__ = "0.1.0"

# numpy's RuntimeWarnings (divide by zero, invalid value) from inside tapeflow point at
# the user's line, not at tapeflow's (see tapeflow.core.user_frames).
_attribute_numpy_warnings()

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
    "eval_shape",
    "ShapeDtypeStruct",
    "closure_convert",
    "named_call",
    "checkpoint",
    "remat",
    "checkpoint_policies",
    "vmap",
    "jit",
    "debug_nans",
    "config",
    "primitive",
    "defvjp",
    "defjvp",
    "defvjp_argnum",
    "defjvp_argnum",
    "defelementwise",
    "deflinear",
    "defbatch",
    "nondifferentiable",
    "vjp_needs",
    "tree_util",
    "lax",
    "random",
    "datasets",
    "nn",
    "optim",
    "distributed",
    "save_params",
    "load_params",
    "ravel_pytree",
    "check_grads",
    "Array",
    "Tracer",
    "is_traced",
    "float0",
]
