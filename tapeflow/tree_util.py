"""Pytrees: nested containers of arrays, the one container mechanism of tapeflow.

The functions follow ``jax.tree_util`` name for name: the structural ones are the
core's (:mod:`tapeflow.core.pytree`), the registration helpers and the key-path
functions are here, and ``ravel_pytree`` flattens a pytree of arrays into one
differentiable vector (:mod:`tapeflow.numpy.pytrees`).

Example:
    >>> import tapeflow as tp
    >>> tp.tree_util.tree_leaves({"b": 2.0, "a": (1.0, None)})
    [1.0, 2.0]
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from tapeflow.core import pytree as _pytree
from tapeflow.core.pytree import (
    LEAF_DEF,
    DictKey,
    FlattenedIndexKey,
    GetAttrKey,
    PyTreeDef,
    SequenceKey,
    flatten_with_keys,
    node_of,
    register_pytree_node,
    tree_flatten,
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
    "tree_leaves_with_path",
    "tree_unflatten",
    "tree_leaves",
    "tree_structure",
    "tree_map",
    "tree_map_with_path",
    "tree_reduce",
    "tree_all",
    "tree_transpose",
    "all_leaves",
    "register_pytree_node",
    "register_pytree_node_class",
    "register_pytree_with_keys",
    "register_dataclass",
    "Partial",
    "keystr",
    "SequenceKey",
    "DictKey",
    "GetAttrKey",
    "FlattenedIndexKey",
    "ravel_pytree",
]

T = TypeVar("T")


class _NoInitializer:
    def __repr__(self) -> str:  # (shown in the signature on the API page)
        return "<no initializer>"


_NO_INITIALIZER = _NoInitializer()


# ----- key paths ---------------------------------------------------------------------
def tree_flatten_with_path(
    tree: Any, is_leaf: Callable[..., bool] | None = None, is_leaf_takes_path: bool = False
) -> tuple[list[tuple[tuple[Any, ...], Any]], PyTreeDef]:
    """Like :func:`tree_flatten`, pairing each leaf with its key path (a tuple of key
    entries: :class:`SequenceKey`, :class:`DictKey`, :class:`GetAttrKey`...).

    With ``is_leaf_takes_path=True``, ``is_leaf`` is called as ``is_leaf(path, x)``.

    Example:
        >>> import tapeflow as tp
        >>> pairs, _ = tp.tree_util.tree_flatten_with_path({"w": [1.0, 2.0]})
        >>> [(tp.tree_util.keystr(p), x) for p, x in pairs]
        [("['w'][0]", 1.0), ("['w'][1]", 2.0)]
    """
    return flatten_with_keys(tree, is_leaf, is_leaf_takes_path)


def tree_leaves_with_path(
    tree: Any, is_leaf: Callable[..., bool] | None = None, is_leaf_takes_path: bool = False
) -> list[tuple[tuple[Any, ...], Any]]:
    """The ``(key path, leaf)`` pairs of :func:`tree_flatten_with_path`.

    Example:
        >>> import tapeflow as tp
        >>> tp.tree_util.tree_leaves_with_path([5.0])
        [((SequenceKey(idx=0),), 5.0)]
    """
    return flatten_with_keys(tree, is_leaf, is_leaf_takes_path)[0]


def tree_map_with_path(
    f: Callable[..., Any],
    tree: Any,
    *rest: Any,
    is_leaf: Callable[..., bool] | None = None,
    is_leaf_takes_path: bool = False,
) -> Any:
    """:func:`tree_map` with each leaf's key path passed first: ``f(path, x, *others)``.

    Example:
        >>> import tapeflow as tp
        >>> tp.tree_util.tree_map_with_path(lambda p, x: x + p[0].idx, [1.0, 2.0])
        [1.0, 3.0]
    """
    pairs, treedef = flatten_with_keys(tree, is_leaf, is_leaf_takes_path)
    others = [treedef.flatten_up_to(r) for r in rest]
    return tree_unflatten(
        treedef, [f(p, x, *xs) for (p, x), *xs in zip(pairs, *others, strict=True)]
    )


def keystr(keys: Any, *, simple: bool = False, separator: str = "") -> str:
    """A key path as a string: ``"['w'][0].x"``; with ``simple=True`` the bare keys
    joined by ``separator`` (``"w/0/x"`` with ``separator="/"``).

    A string (the paths tapeflow's own messages carry) is returned as it is, the
    root's empty path as ``<root>``.

    Example:
        >>> import tapeflow as tp
        >>> path = tp.tree_util.tree_leaves_with_path({"w": [1.0]})[0][0]
        >>> tp.tree_util.keystr(path), tp.tree_util.keystr(path, simple=True, separator="/")
        ("['w'][0]", 'w/0')
    """
    if isinstance(keys, str):
        return _pytree.keystr(keys)
    if not simple:
        return separator.join(str(k) for k in keys)
    return separator.join(str(k[0]) for k in keys)  # each key entry holds one value


# ----- reductions and transposition -------------------------------------------------------
def tree_reduce(
    function: Callable[[Any, Any], Any],
    tree: Any,
    initializer: Any = _NO_INITIALIZER,
    is_leaf: Callable[[Any], bool] | None = None,
) -> Any:
    """``functools.reduce(function, leaves[, initializer])`` over the leaves of ``tree``.

    Example:
        >>> import tapeflow as tp
        >>> tp.tree_util.tree_reduce(lambda a, b: a + b, {"a": 1, "b": [2, 3]})
        6
    """
    leaves = tree_leaves(tree, is_leaf)
    if initializer is _NO_INITIALIZER:
        return functools.reduce(function, leaves)
    return functools.reduce(function, leaves, initializer)


def tree_all(tree: Any, *, is_leaf: Callable[[Any], bool] | None = None) -> bool:
    """True when every leaf of ``tree`` is true.

    Example:
        >>> import tapeflow as tp
        >>> tp.tree_util.tree_all([True, {"a": 1}])
        True
    """
    return all(tree_leaves(tree, is_leaf))


def all_leaves(iterable: Iterable[Any], is_leaf: Callable[[Any], bool] | None = None) -> bool:
    """True when every element of ``iterable`` is a leaf (``None`` is not: it is a node).

    Example:
        >>> import tapeflow as tp
        >>> tp.tree_util.all_leaves([1.0, "a"]), tp.tree_util.all_leaves([1.0, (2.0,)])
        (True, False)
    """
    if is_leaf is None:
        return all(node_of(x) is None for x in iterable)
    return all(tree_structure(x, is_leaf) == LEAF_DEF for x in iterable)


def tree_transpose(
    outer_treedef: PyTreeDef, inner_treedef: PyTreeDef | None, pytree_to_transpose: Any
) -> Any:
    """Turn a tree of structure ``outer`` of trees of structure ``inner`` into an ``inner``
    tree of ``outer`` trees. ``inner_treedef=None`` takes the first inner tree's structure.

    Example:
        >>> import tapeflow as tp
        >>> tu = tp.tree_util
        >>> tu.tree_transpose(tu.tree_structure([0, 0]), tu.tree_structure((0, 0)),
        ...                   [(1, 2), (3, 4)])
        ([1, 3], [2, 4])
    """
    outer = outer_treedef.flatten_up_to(pytree_to_transpose)
    if inner_treedef is None:
        if not outer:
            raise ValueError(
                "tree_transpose: the outer structure has no leaves, so the inner structure "
                "cannot be inferred; pass inner_treedef"
            )
        inner_treedef = tree_structure(outer[0])
    rows = [inner_treedef.flatten_up_to(sub) for sub in outer]
    columns = [
        tree_unflatten(outer_treedef, [row[k] for row in rows])
        for k in range(inner_treedef.num_leaves)
    ]
    return tree_unflatten(inner_treedef, columns)


# ----- registering containers ---------------------------------------------------------
def register_pytree_with_keys(
    nodetype: type,
    flatten_with_keys: Callable[[Any], tuple[Iterable[tuple[Any, Any]], Any]],
    unflatten_func: Callable[[Any, Iterable[Any]], Any],
    flatten_func: Callable[[Any], tuple[Iterable[Any], Any]] | None = None,
) -> None:
    """Register a container whose children have names: ``flatten_with_keys(x)`` returns
    ``((key, child) pairs, aux)``; ``flatten_func`` (optional) returns the children alone.

    Example:
        >>> import tapeflow as tp
        >>> class Pair:
        ...     def __init__(self, a, b): self.a, self.b = a, b
        >>> key = tp.tree_util.GetAttrKey
        >>> tp.tree_util.register_pytree_with_keys(
        ...     Pair, lambda p: (((key("a"), p.a), (key("b"), p.b)), None),
        ...     lambda aux, ch: Pair(*ch))
        >>> tp.tree_util.keystr(tp.tree_util.tree_leaves_with_path(Pair(1.0, 2.0))[1][0])
        '.b'
    """
    if flatten_func is None:

        def flatten_func(x: Any) -> tuple[list[Any], Any]:
            pairs, aux = flatten_with_keys(x)
            return [c for _, c in pairs], aux

    register_pytree_node(nodetype, flatten_func, unflatten_func, flatten_with_keys)


def register_pytree_node_class(cls: type[T]) -> type[T]:
    """Class decorator: register ``cls`` by its ``tree_flatten`` method and its
    ``tree_unflatten(aux, children)`` class method.

    Example:
        >>> import tapeflow as tp
        >>> @tp.tree_util.register_pytree_node_class
        ... class Scale:
        ...     def __init__(self, w, name): self.w, self.name = w, name
        ...     def tree_flatten(self): return (self.w,), self.name
        ...     @classmethod
        ...     def tree_unflatten(cls, name, children): return cls(*children, name)
        >>> tp.tree_util.tree_leaves(Scale(2.0, "s"))
        [2.0]
    """
    register_pytree_node(
        cls,
        lambda x: x.tree_flatten(),
        cls.tree_unflatten,  # type: ignore[attr-defined]
    )
    return cls


def register_dataclass(
    nodetype: type[T],
    data_fields: Sequence[str] | None = None,
    meta_fields: Sequence[str] | None = None,
    drop_fields: Sequence[str] = (),
) -> type[T]:
    """Register a dataclass: ``data_fields`` are children (arrays), ``meta_fields`` static
    values kept in the structure (hashable). Without them, a dataclass's fields are data
    unless declared ``dataclasses.field(metadata={"static": True})``. Usable as a
    decorator; ``drop_fields`` are left out (rebuilt by the constructor's defaults).

    Example:
        >>> import tapeflow as tp
        >>> class Params:
        ...     def __init__(self, w, name): self.w, self.name = w, name
        >>> _ = tp.tree_util.register_dataclass(Params, data_fields=["w"], meta_fields=["name"])
        >>> tp.tree_util.tree_leaves(Params(3.0, "p"))
        [3.0]
    """
    if data_fields is None or meta_fields is None:
        if (data_fields is None) != (meta_fields is None):
            raise TypeError(
                "register_dataclass: pass both data_fields and meta_fields, or neither (then "
                "the dataclass's own fields are used)"
            )
        if not dataclasses.is_dataclass(nodetype):
            raise TypeError(
                f"register_dataclass: {nodetype.__name__} is not a dataclass; pass "
                "data_fields and meta_fields to name its attributes"
            )
        fields = [f for f in dataclasses.fields(nodetype) if f.init and f.name not in drop_fields]
        meta_fields = [f.name for f in fields if f.metadata.get("static", False)]
        data_fields = [f.name for f in fields if not f.metadata.get("static", False)]
    data, meta = tuple(data_fields), tuple(meta_fields)

    def flatten_keys(x: Any) -> tuple[list[tuple[Any, Any]], tuple[Any, ...]]:
        return [(GetAttrKey(n), getattr(x, n)) for n in data], tuple(getattr(x, n) for n in meta)

    def flatten(x: Any) -> tuple[list[Any], tuple[Any, ...]]:
        return [getattr(x, n) for n in data], tuple(getattr(x, n) for n in meta)

    def unflatten(aux: Any, children: Iterable[Any]) -> Any:
        return nodetype(
            **dict(zip(data, children, strict=True)), **dict(zip(meta, aux, strict=True))
        )

    register_pytree_node(nodetype, flatten, unflatten, flatten_keys)
    return nodetype


class Partial(functools.partial):
    """``functools.partial`` as a pytree: the bound arguments are its children, the
    function is part of its structure, so a partial can be passed through transforms.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> scale = tp.tree_util.Partial(np.multiply, 2.0)
        >>> tp.tree_util.tree_leaves(scale), scale(3.0)
        ([2.0], np.float64(6.0))
    """


# (functools.partial has no signature that inspect can read; this is the one it takes)
Partial.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [
        inspect.Parameter("func", inspect.Parameter.POSITIONAL_ONLY),
        inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL),
        inspect.Parameter("kw", inspect.Parameter.VAR_KEYWORD),
    ]
)


def _rebuild_partial(func: Any, children: list[Any]) -> Partial:
    args, keywords = children
    return Partial(func, *args, **keywords)


register_pytree_node(
    Partial,
    lambda p: ((p.args, p.keywords), p.func),
    lambda func, children: _rebuild_partial(func, list(children)),
)
