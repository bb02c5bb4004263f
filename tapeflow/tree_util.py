"""Pytrees: nested containers of arrays, the one container mechanism of tapeflow.

The tree functions are the core's (:mod:`tapeflow.core.pytree`); ``ravel_pytree``
flattens a pytree of arrays into one differentiable vector (:mod:`tapeflow.numpy.pytrees`).

Example:
    >>> import tapeflow as tp
    >>> tp.tree_util.tree_leaves({"b": 2.0, "a": (1.0, None)})
    [1.0, 2.0]
"""

from tapeflow.core.pytree import (
    PyTreeDef,
    keystr,
    register_pytree_node,
    tree_flatten,
    tree_flatten_with_path,
    tree_leaves,
    tree_map,
    tree_structure,
    tree_unflatten,
)
from tapeflow.numpy.pytrees import ravel_pytree

__all__ = [
    "PyTreeDef",
    "tree_flatten",
    "tree_flatten_with_path",
    "tree_unflatten",
    "tree_leaves",
    "tree_structure",
    "tree_map",
    "register_pytree_node",
    "keystr",
    "ravel_pytree",
]
