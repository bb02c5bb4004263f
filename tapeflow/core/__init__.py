"""The core of tapeflow: traces, traced arrays, primitives, the tape and pytrees.

It imports nothing else from tapeflow. What it needs from arrays (zero cotangents,
adding them, fitting them to a value's shape and dtype, moving batch axes) comes
from the protocol in :mod:`tapeflow.core.arrays`, which an array layer
(``tapeflow.numpy``) installs; operators and methods of :class:`Tracer` are
installed the same way.
"""

from tapeflow.core.primitive import (
    Primitive,
    defbatch,
    defelementwise,
    defjvp,
    defjvp_argnum,
    deflinear,
    defvjp,
    defvjp_argnum,
    get_primitive,
    nondifferentiable,
    primitive,
    registered_primitives,
    vjp_needs,
)
from tapeflow.core.tape import ShapeDtype, Tape, backward, pull_back
from tapeflow.core.trace import Trace, active_traces, new_trace
from tapeflow.core.tracer import Tracer, is_traced, unwrap

__all__ = [
    "Primitive",
    "primitive",
    "defvjp",
    "defjvp",
    "defvjp_argnum",
    "defjvp_argnum",
    "defelementwise",
    "deflinear",
    "defbatch",
    "vjp_needs",
    "nondifferentiable",
    "get_primitive",
    "registered_primitives",
    "Tape",
    "ShapeDtype",
    "backward",
    "pull_back",
    "Trace",
    "new_trace",
    "active_traces",
    "Tracer",
    "is_traced",
    "unwrap",
]
