"""The extension API under the name earlier releases documented: ``tapeflow.primitive``.

Everything here is :mod:`tapeflow.core.primitive`'s (also ``tp.primitive``,
``tp.defvjp``, ...); see docs/extending.md.

Example:
    >>> from tapeflow.primitive import defvjp, primitive
    >>> double = primitive(lambda x: 2 * x, name="double_legacy_example")
    >>> defvjp(double, lambda ans, x: lambda g: 2 * g)
"""

from tapeflow.core.primitive import (
    Primitive,
    defbatch,
    defelementwise,
    defjvp,
    defjvp_argnum,
    defjvp_joint,
    deflinear,
    defvjp,
    defvjp_argnum,
    defvjp_direct,
    defvjp_joint,
    get_primitive,
    nondifferentiable,
    primitive,
    registered_primitives,
    set_fast_impl,
    vjp_needs,
)

__all__ = [
    "Primitive",
    "primitive",
    "defvjp",
    "defjvp",
    "defvjp_argnum",
    "defjvp_argnum",
    "defjvp_joint",
    "defvjp_joint",
    "defelementwise",
    "deflinear",
    "defbatch",
    "vjp_needs",
    "nondifferentiable",
    "get_primitive",
    "registered_primitives",
    "set_fast_impl",
    "defvjp_direct",
]
