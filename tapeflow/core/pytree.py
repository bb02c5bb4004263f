"""Pytrees: nested containers of arrays, the one container mechanism of tapeflow.

A pytree is a leaf (anything not registered as a container) or a container of
pytrees: tuple, list, dict (flattened in sorted key order), namedtuple, or
``None`` (a container with no children). Other types can be registered with
:func:`register_pytree_node`. Parameters of models, gradients and optimizer
states are all pytrees.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any, NamedTuple

__all__ = [
    "PyTreeDef",
    "is_plain_namedtuple",
    "tree_flatten",
    "tree_flatten_with_path",
    "flatten_with_keys",
    "tree_unflatten",
    "tree_leaves",
    "tree_structure",
    "tree_map",
    "register_pytree_node",
    "keystr",
    "SequenceKey",
    "DictKey",
    "GetAttrKey",
    "FlattenedIndexKey",
]


# ----- key entries: one step of a key path, as JAX names them ---------------------------
class SequenceKey(NamedTuple):
    """The position of a child of a list or tuple (``str`` gives ``[0]``)."""

    idx: int

    def __str__(self) -> str:
        return f"[{self.idx!r}]"


class DictKey(NamedTuple):
    """The key of a child of a dict (``str`` gives ``['w']``)."""

    key: Hashable

    def __str__(self) -> str:
        return f"[{self.key!r}]"


class GetAttrKey(NamedTuple):
    """The attribute of a named tuple or dataclass child (``str`` gives ``.x``)."""

    name: str

    def __str__(self) -> str:
        return f".{self.name}"


class FlattenedIndexKey(NamedTuple):
    """The position of a child of a node registered without keys."""

    key: int

    def __str__(self) -> str:
        return f"[<flat index {self.key}>]"


class _NodeType(NamedTuple):
    to_iterable: Callable[[Any], tuple[Iterable[Any], Hashable]]
    from_iterable: Callable[[Hashable, Iterable[Any]], Any]
    keys: Callable[[Any, Hashable], list[Any]]  # one key entry per child


_NODE_TYPES: dict[type, _NodeType] = {}
# Types already seen to be leaves (not registered, not namedtuples): flattening the
# parameters on every grad call then costs one set lookup per leaf. Cleared whenever a
# node type is registered.
_LEAF_TYPES: set[type] = set()


def register_pytree_node(
    nodetype: type,
    flatten_func: Callable[[Any], tuple[Iterable[Any], Hashable]],
    unflatten_func: Callable[[Hashable, Iterable[Any]], Any],
    flatten_with_keys_func: Callable[[Any], tuple[Iterable[tuple[Any, Any]], Hashable]]
    | None = None,
) -> None:
    """Register a container type: ``flatten_func(x) -> (children, aux)``,
    ``unflatten_func(aux, children) -> x``. ``flatten_with_keys_func(x)`` returns
    ``((key, child) pairs, aux)`` and names the children in key paths (by default
    they are numbered).

    Example:
        >>> import tapeflow as tp
        >>> class Pair:
        ...     def __init__(self, a, b): self.a, self.b = a, b
        >>> tp.tree_util.register_pytree_node(
        ...     Pair, lambda p: ((p.a, p.b), None), lambda aux, ch: Pair(*ch))
        >>> tp.tree_util.tree_leaves(Pair(1.0, [2.0, 3.0]))
        [1.0, 2.0, 3.0]
    """
    if nodetype in _NODE_TYPES:
        raise ValueError(f"{nodetype.__name__} is already registered as a pytree node")
    _LEAF_TYPES.clear()  # a type seen as a leaf may be this one (or a namedtuple of it)

    def keys(x: Any, aux: Hashable) -> list[Any]:
        if flatten_with_keys_func is not None:
            return [k for k, _ in flatten_with_keys_func(x)[0]]
        # the node itself need not be iterable: number its children
        return [FlattenedIndexKey(i) for i, _ in enumerate(flatten_func(x)[0])]

    _NODE_TYPES[nodetype] = _NodeType(flatten_func, unflatten_func, keys)


def _seq_keys(x: Any, aux: Hashable) -> list[Any]:
    return [SequenceKey(i) for i in range(len(x))]


_NODE_TYPES[tuple] = _NodeType(lambda t: (t, None), lambda aux, ch: tuple(ch), _seq_keys)
_NODE_TYPES[list] = _NodeType(lambda t: (t, None), lambda aux, ch: list(ch), _seq_keys)
_NODE_TYPES[type(None)] = _NodeType(lambda t: ((), None), lambda aux, ch: None, lambda x, aux: [])


def _dict_flatten(d: dict[Any, Any]) -> tuple[list[Any], Hashable]:
    keys = sorted(d)
    return [d[k] for k in keys], tuple(keys)


def _dict_unflatten(keys: Any, children: Iterable[Any]) -> dict[Any, Any]:
    return dict(zip(keys, children, strict=True))


def _dict_keys(d: Any, keys: Any) -> list[Any]:
    return [DictKey(k) for k in keys]


_NODE_TYPES[dict] = _NodeType(_dict_flatten, _dict_unflatten, _dict_keys)


def is_namedtuple(x: Any) -> bool:
    """True for instances of ``collections.namedtuple`` and ``typing.NamedTuple`` classes."""
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def is_plain_namedtuple(x: Any) -> bool:
    """True for a namedtuple whose type was not registered: a node of its fields, in order."""
    return is_namedtuple(x) and type(x) not in _NODE_TYPES


def node_of(x: Any) -> tuple[type, _NodeType] | None:
    """``(type, how to flatten it)`` when ``x`` is a container node, else None (a leaf)."""
    t = type(x)
    node = _NODE_TYPES.get(t)
    if node is not None:
        return t, node
    if is_namedtuple(x):
        return t, _NodeType(
            lambda nt: (tuple(nt), None),
            lambda aux, ch: t(*ch),
            lambda nt, aux: [GetAttrKey(f) for f in nt._fields],
        )
    return None


class PyTreeDef:
    """The shape of a pytree without its leaves; equal structures compare equal.

    Example:
        >>> tree_structure({"a": 1.0, "b": (2.0, 3.0)})
        PyTreeDef({'a': *, 'b': PyTreeDef(tuple(*, *))})
    """

    __slots__ = ("node_type", "aux", "children", "num_leaves", "_hash")
    node_type: type | None
    aux: Hashable
    children: tuple[PyTreeDef, ...]
    num_leaves: int

    def __init__(self, node_type: type | None, aux: Hashable, children: tuple[PyTreeDef, ...]):
        self.node_type = node_type  # None for a leaf
        self.aux = aux
        self.children = children
        self._hash: int | None = None  # computed on first use (a structure never changes)
        if node_type is None:
            self.num_leaves = 1
        else:
            n = 0
            for c in children:
                n += c.num_leaves
            self.num_leaves = n

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PyTreeDef):
            return NotImplemented
        return (
            self.node_type is other.node_type
            and self.aux == other.aux
            and self.children == other.children
        )

    def __hash__(self) -> int:
        h = self._hash
        if h is None:  # jit hashes the structure of its arguments on every call
            h = self._hash = hash((self.node_type, self.aux, self.children))
        return h

    @property
    def num_nodes(self) -> int:
        """The number of nodes and leaves in the structure."""
        return 1 + sum(c.num_nodes for c in self.children)

    def unflatten(self, leaves: Iterable[Any]) -> Any:
        """The pytree of this structure holding ``leaves`` (:func:`tree_unflatten`)."""
        return tree_unflatten(self, leaves)

    def flatten_up_to(self, tree: Any) -> list[Any]:
        """The subtrees of ``tree`` at this structure's leaves (``tree`` must have this
        structure down to them; below, anything goes).

        Example:
            >>> tree_structure([1, 2]).flatten_up_to([(3, 4), {"a": 5}])
            [(3, 4), {'a': 5}]
        """
        out: list[Any] = []
        stack: list[tuple[PyTreeDef, Any, str]] = [(self, tree, "")]
        while stack:
            d, x, path = stack.pop()
            if d.node_type is None:
                out.append(x)
                continue
            found = node_of(x)
            if found is None or found[0] is not d.node_type:
                raise ValueError(
                    f"the structure {self} expects {d.node_type.__name__} at {keystr(path)}, "
                    f"but the tree has {type(x).__name__} there"
                )
            children, aux = found[1].to_iterable(x)
            children = list(children)
            if aux != d.aux or len(children) != len(d.children):
                raise ValueError(
                    f"the structure {self} does not match the tree at {keystr(path)}: "
                    f"{PyTreeDef(found[0], aux, tuple(LEAF_DEF for _ in children))} there"
                )
            keys = found[1].keys(x, aux)
            for c_def, c, k in reversed(list(zip(d.children, children, keys, strict=True))):
                stack.append((c_def, c, path + str(k)))
        return out

    def __repr__(self) -> str:
        if self.node_type is None:
            return "*"
        inner = ", ".join(repr(c) for c in self.children)
        if self.node_type is dict:
            keys: Any = self.aux
            inner = ", ".join(f"{k!r}: {c!r}" for k, c in zip(keys, self.children, strict=True))
            return "PyTreeDef({" + inner + "})"
        return f"PyTreeDef({self.node_type.__name__}({inner}))"


LEAF_DEF = PyTreeDef(None, None, ())

# Structures of lists and tuples holding only leaves, by (type, length): made once and
# shared, since nothing changes a PyTreeDef after construction. Parameters flattened on
# every training step then reuse them, and structures built on them compare and hash
# quickly (equal children are the same objects). At most _LEAF_CONTAINERS_MAX are kept.
_LEAF_CONTAINERS: dict[tuple[type, int], PyTreeDef] = {}
_LEAF_CONTAINERS_MAX = 1024


def _flatten(
    x: Any,
    leaves: list[Any],
    paths: list[Any] | None,
    prefix: Any,
    is_leaf: Callable[..., bool] | None = None,
    keyed: bool | str = False,
) -> PyTreeDef:
    """The general flattening: key paths (strings, or tuples of key entries when
    ``keyed``) when ``paths`` is a list, and ``is_leaf`` to stop at chosen subtrees."""
    found = node_of(x)
    if found is None or (
        is_leaf is not None and (is_leaf(prefix, x) if keyed == "path" else is_leaf(x))
    ):
        leaves.append(x)
        if paths is not None:
            paths.append(prefix)
        return LEAF_DEF
    t, node = found
    children, aux = node.to_iterable(x)
    children = list(children)
    keys = node.keys(x, aux) if paths is not None or keyed == "path" else None
    if keys is None:
        defs = tuple(_flatten(c, leaves, paths, prefix, is_leaf, keyed) for c in children)
    elif keyed:
        defs = tuple(
            _flatten(c, leaves, paths, prefix + (keys[i],), is_leaf, keyed)
            for i, c in enumerate(children)
        )
    else:
        defs = tuple(
            _flatten(c, leaves, paths, prefix + str(keys[i]), is_leaf)
            for i, c in enumerate(children)
        )
    return PyTreeDef(t, aux, defs)


def flatten_into(x: Any, leaves: list[Any]) -> PyTreeDef:
    """Append the leaves of ``x`` to ``leaves`` and return its structure (no key paths).

    What :func:`tree_flatten` does, with lists and tuples (the usual parameters) inlined:
    the transforms call it on every step.
    """
    t = type(x)
    if t in _LEAF_TYPES:
        leaves.append(x)
        return LEAF_DEF
    if t is list or t is tuple:
        defs = []
        only_leaves = True
        for c in x:
            if type(c) in _LEAF_TYPES:  # checked here: most children are arrays
                leaves.append(c)
                defs.append(LEAF_DEF)
            else:
                d = flatten_into(c, leaves)
                if d is not LEAF_DEF:  # (a leaf of a type seen for the first time is one too)
                    only_leaves = False
                defs.append(d)
        if only_leaves:  # a (w, b) pair and the like
            key = (t, len(defs))
            found = _LEAF_CONTAINERS.get(key)
            if found is None:
                found = PyTreeDef(t, None, tuple(defs))
                if len(_LEAF_CONTAINERS) < _LEAF_CONTAINERS_MAX:
                    _LEAF_CONTAINERS[key] = found
            return found
        return PyTreeDef(t, None, tuple(defs))
    node = _NODE_TYPES.get(t)
    if node is None:
        if not is_namedtuple(x):
            _LEAF_TYPES.add(t)
            leaves.append(x)
            return LEAF_DEF
        return _flatten(x, leaves, None, "")
    children, aux = node.to_iterable(x)
    return PyTreeDef(t, aux, tuple([flatten_into(c, leaves) for c in children]))


def tree_flatten(
    tree: Any, is_leaf: Callable[[Any], bool] | None = None
) -> tuple[list[Any], PyTreeDef]:
    """Split a pytree into its list of leaves and its structure.

    ``is_leaf(x)``, called on every subtree, stops the flattening where it is true
    (that whole subtree becomes one leaf).

    Example:
        >>> leaves, tree = tree_flatten({"b": 2.0, "a": (1.0, None)})
        >>> leaves
        [1.0, 2.0]
    """
    leaves: list[Any] = []
    if is_leaf is None:
        return leaves, flatten_into(tree, leaves)
    return leaves, _flatten(tree, leaves, None, "", is_leaf)


def flatten_with_keys(
    tree: Any, is_leaf: Callable[..., bool] | None = None, is_leaf_takes_path: bool = False
) -> tuple[list[tuple[tuple[Any, ...], Any]], PyTreeDef]:
    """Like :func:`tree_flatten`, with each leaf's key path as a tuple of key entries
    (:class:`SequenceKey`, :class:`DictKey`, :class:`GetAttrKey`...), as JAX gives.

    Example:
        >>> flatten_with_keys({"w": [1.0]})[0]
        [((DictKey(key='w'), SequenceKey(idx=0)), 1.0)]
    """
    leaves: list[Any] = []
    paths: list[Any] = []
    treedef = _flatten(tree, leaves, paths, (), is_leaf, "path" if is_leaf_takes_path else True)
    return list(zip(paths, leaves, strict=True)), treedef


def tree_flatten_with_path(tree: Any) -> tuple[list[tuple[str, Any]], PyTreeDef]:
    """Like :func:`tree_flatten`, with each leaf paired with its key path string.

    Example:
        >>> tree_flatten_with_path({"w": [1.0, 2.0]})[0]
        [("['w'][0]", 1.0), ("['w'][1]", 2.0)]
    """
    leaves: list[Any] = []
    paths: list[str] = []
    treedef = _flatten(tree, leaves, paths, "")
    return list(zip(paths, leaves, strict=True)), treedef


def keystr(path: str) -> str:
    """A readable form of a key path (the empty path, the root itself, becomes ``<root>``).

    Example:
        >>> keystr("['w'][0]"), keystr("")
        ("['w'][0]", '<root>')
    """
    return path if path else "<root>"


def _unflatten(treedef: PyTreeDef, it: Any) -> Any:
    t = treedef.node_type
    if t is None:
        return next(it)
    children = [next(it) if c.node_type is None else _unflatten(c, it) for c in treedef.children]
    if t is list:
        return children
    if t is tuple:
        return tuple(children)
    node = _NODE_TYPES.get(t)
    if node is None:  # namedtuple
        return t(*children)
    return node.from_iterable(treedef.aux, children)


def tree_unflatten(treedef: PyTreeDef, leaves: Iterable[Any]) -> Any:
    """Rebuild a pytree of structure ``treedef`` from ``leaves``.

    Example:
        >>> leaves, tree = tree_flatten([1.0, {"x": 2.0}])
        >>> tree_unflatten(tree, [10.0, 20.0])
        [10.0, {'x': 20.0}]
    """
    leaves = list(leaves)
    if len(leaves) != treedef.num_leaves:
        raise ValueError(
            f"tree_unflatten: the structure {treedef} has {treedef.num_leaves} leaves but "
            f"{len(leaves)} were given"
        )
    return _unflatten(treedef, iter(leaves))


def tree_leaves(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> list[Any]:
    """The leaves of a pytree, in flattening order (``is_leaf``: see :func:`tree_flatten`).

    Example:
        >>> tree_leaves({"a": 1.0, "b": [2.0, 3.0]})
        [1.0, 2.0, 3.0]
    """
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> PyTreeDef:
    """The structure of a pytree (see :class:`PyTreeDef`; ``is_leaf``: :func:`tree_flatten`).

    Example:
        >>> tree_structure((1.0, 2.0)) == tree_structure((3.0, 4.0))
        True
    """
    return tree_flatten(tree, is_leaf)[1]


def tree_map(
    f: Callable[..., Any], tree: Any, *rest: Any, is_leaf: Callable[[Any], bool] | None = None
) -> Any:
    """Apply ``f`` leaf by leaf to ``tree`` and to the matching parts of ``rest``.

    Each tree of ``rest`` has ``tree``'s structure, or a structure of which ``tree``'s
    is a prefix (its subtree at a leaf of ``tree`` is passed whole), as in JAX.

    Example:
        >>> tree_map(lambda a, b: a + b, {"x": 1.0}, {"x": 2.0})
        {'x': 3.0}
    """
    leaves, treedef = tree_flatten(tree, is_leaf)
    others = []
    for i, r in enumerate(rest):
        try:
            others.append(treedef.flatten_up_to(r))
        except ValueError as e:
            raise ValueError(
                f"tree_map: argument {i + 1} has structure {tree_structure(r)}, which does not "
                f"match the structure {treedef} of the first tree ({e})"
            ) from None
    return tree_unflatten(treedef, [f(*xs) for xs in zip(leaves, *others, strict=True)])
