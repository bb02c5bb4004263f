"""Saving and loading pytrees of arrays (model parameters, optimizer states) as ``.npz``.

Each leaf is stored as one array of the archive, named by its key path in the
pytree (``[0][1]``, ``['dense']['w']``), so the file is readable with plain
``numpy.load``. The exact container structure (tuple or list, dict keys,
``None`` nodes, namedtuples by name and fields, which leaves were Python or
numpy scalars) is kept beside it as a JSON string, so loading needs no pickle:
files are always opened with ``allow_pickle=False`` and cannot run code.

Example:
    >>> import numpy as np, tempfile, os, tapeflow as tp
    >>> params = [(np.ones((2, 3), np.float32), np.zeros(3, np.float32)), ()]
    >>> path = os.path.join(tempfile.mkdtemp(), "params.npz")
    >>> tp.save_params(path, params)
    >>> loaded = tp.load_params(path, like=params)
    >>> loaded[0][0].dtype, loaded[1]
    (dtype('float32'), ())
"""

from __future__ import annotations

import collections
import json
import os
import sys
from typing import Any

import numpy as np

from tapeflow.core.pytree import is_namedtuple, node_of, tree_flatten_with_path, tree_unflatten

__all__ = ["save_params", "load_params"]

_TREE_KEY = "__tapeflow_tree__"
_FORMAT = 1


def _describe(x: Any, path: str) -> Any:
    """JSON description of a pytree's containers; leaves become their key path."""
    if x is None:
        return {"none": None}
    if is_namedtuple(x):
        return {
            "namedtuple": type(x).__name__,
            "module": type(x).__module__,
            "qualname": type(x).__qualname__,
            "fields": list(x._fields),
            "children": [_describe(c, f"{path}.{f}") for f, c in zip(x._fields, x, strict=True)],
        }
    if type(x) is tuple:
        return {"tuple": [_describe(c, f"{path}[{i}]") for i, c in enumerate(x)]}
    if type(x) is list:
        return {"list": [_describe(c, f"{path}[{i}]") for i, c in enumerate(x)]}
    if type(x) is dict:
        items = []
        for k in sorted(x):
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(
                    f"save_params: dict keys must be str or int to be saved, got {k!r} at "
                    f"{path or '<root>'}"
                )
            items.append([k, _describe(x[k], f"{path}[{k!r}]")])
        return {"dict": items}
    if node_of(x) is not None:
        raise TypeError(
            f"save_params: cannot describe the custom pytree node {type(x).__name__} at "
            f"{path or '<root>'}; convert it to tuples, lists and dicts first"
        )
    # Scalars come back as the type they were saved as, not as 0-d arrays.
    if type(x) in _PY_SCALARS:
        return {"leaf": path, "scalar": type(x).__name__}
    if isinstance(x, np.generic):
        return {"leaf": path, "scalar": "numpy"}
    return {"leaf": path}


_PY_SCALARS = {bool: bool, int: int, float: float, complex: complex}
_SCALARS: dict[str, Any] = {t.__name__: t for t in _PY_SCALARS}


def _namedtuple_type(desc: Any) -> Any:
    """The namedtuple class a saved node had, or one made with the same name and fields.

    The class is looked up only among modules already imported (loading never imports
    anything); when it is not there, or its fields changed, a new namedtuple type with the
    saved name and fields stands in, so attribute access still works.
    """
    fields = tuple(desc["fields"])
    module = sys.modules.get(desc.get("module", ""))
    found: Any = module
    for part in str(desc.get("qualname", "")).split(".") if module is not None else ():
        found = getattr(found, part, None)
    if (
        isinstance(found, type)
        and issubclass(found, tuple)
        and getattr(found, "_fields", None) == fields
    ):
        return found
    name = desc["namedtuple"] if str(desc["namedtuple"]).isidentifier() else "Saved"
    return collections.namedtuple(name, fields)


def _rebuild(desc: Any, arrays: dict[str, np.ndarray]) -> Any:
    if "leaf" in desc:
        value = arrays[desc["leaf"]]
        kind = desc.get("scalar")
        if kind == "numpy":
            return value[()]
        if kind in _SCALARS:
            return _SCALARS[kind](value)
        return value
    if "none" in desc:
        return None
    if "tuple" in desc:
        return tuple(_rebuild(c, arrays) for c in desc["tuple"])
    if "namedtuple" in desc:
        return _namedtuple_type(desc)(*[_rebuild(c, arrays) for c in desc["children"]])
    if "list" in desc:
        return [_rebuild(c, arrays) for c in desc["list"]]
    if "dict" in desc:
        return {k: _rebuild(c, arrays) for k, c in desc["dict"]}
    raise ValueError(f"unknown node in the saved structure: {desc!r}")


def save_params(path: str | os.PathLike[str], params: Any) -> None:
    """Save a pytree of arrays to ``path`` (an ``.npz`` archive, written atomically).

    Args:
        path: destination file; ``.npz`` is appended by numpy when missing.
        params: a pytree of arrays / numbers (tuples, lists, dicts with str or
            int keys, namedtuples, None).

    Example:
        >>> import numpy as np, tempfile, os, tapeflow as tp
        >>> path = os.path.join(tempfile.mkdtemp(), "p.npz")
        >>> tp.save_params(path, {"w": np.eye(2)})
        >>> sorted(np.load(path).files)
        ["['w']", '__tapeflow_tree__']
    """
    structure = {"format": _FORMAT, "tree": _describe(params, "")}
    leaves, _ = tree_flatten_with_path(params)
    arrays: dict[str, Any] = {}
    for p, leaf in leaves:
        value = np.asarray(leaf)
        if value.dtype == object:
            raise TypeError(f"save_params: the leaf at {p or '<root>'} is not a numeric array")
        arrays[p or "<root>"] = value
    if _TREE_KEY in arrays:
        raise ValueError(f"save_params: a key path may not be {_TREE_KEY!r}")
    # The root leaf's path is '' in the structure; store it under a visible name.
    if "tree" in structure and structure["tree"] == {"leaf": ""}:
        structure["tree"] = {"leaf": "<root>"}
    arrays[_TREE_KEY] = np.array(json.dumps(structure))
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    tmp = f"{path}.tmp-{os.getpid()}.npz"
    try:
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_params(path: str | os.PathLike[str], like: Any = None) -> Any:
    """Load a pytree saved by :func:`save_params` (never unpickles anything).

    Args:
        path: the ``.npz`` file.
        like: optional pytree with the expected structure (e.g. freshly
            initialised parameters). When given, the file must match it
            exactly (same key paths, shapes and dtypes) and the result has its
            container types; otherwise the saved structure is rebuilt:
            namedtuples come back as their class when its module is already
            imported (else as a namedtuple with the same name and fields), and
            Python and numpy scalars as scalars of their type. As with saving,
            ``.npz`` is appended to a path that names no file.

    Raises:
        ValueError: the file is not a tapeflow parameter file, or does not
            match ``like`` (the message names the first differing key path).

    Example:
        >>> import numpy as np, tempfile, os, tapeflow as tp
        >>> path = os.path.join(tempfile.mkdtemp(), "p.npz")
        >>> tp.save_params(path, [np.zeros(2)])
        >>> try:
        ...     tp.load_params(path, like=[np.ones(3)])
        ... except ValueError as e:
        ...     print("shape (2,)" in str(e))
        True
    """
    fname = os.fspath(path)
    if not os.path.exists(fname) and os.path.exists(fname + ".npz"):
        fname += ".npz"  # save_params("ckpt") wrote ckpt.npz
    with np.load(fname, allow_pickle=False) as data:
        if _TREE_KEY not in data.files:
            raise ValueError(
                f"load_params: {fname} is not a tapeflow parameter file (no {_TREE_KEY!r} entry); "
                "it must be written by tapeflow.save_params"
            )
        try:
            structure = json.loads(str(data[_TREE_KEY]))
            tree = structure["tree"]
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(
                f"load_params: {fname} has a corrupted structure entry ({e})"
            ) from None
        arrays = {k: data[k] for k in data.files if k != _TREE_KEY}
    if like is None:
        try:
            return _rebuild(tree, arrays)
        except KeyError as e:
            raise ValueError(f"load_params: {fname} lacks the array for key path {e}") from None
    return _match(fname, tree, arrays, like)


def _match(fname: str, tree: Any, arrays: dict[str, np.ndarray], like: Any) -> Any:
    expected, treedef = tree_flatten_with_path(like)
    saved_desc = _describe(like, "")
    if saved_desc == {"leaf": ""}:
        saved_desc = {"leaf": "<root>"}
    want = [p or "<root>" for p, _ in expected]
    missing = [p for p in want if p not in arrays]
    extra = sorted(set(arrays) - set(want))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:5])}" + (" ..." if len(missing) > 5 else ""))
        if extra:
            parts.append(f"unexpected {', '.join(extra[:5])}" + (" ..." if len(extra) > 5 else ""))
        raise ValueError(
            f"load_params: the structure of {fname} does not match the expected parameters "
            f"({'; '.join(parts)}); was it saved from a different model?"
        )
    if _strip_names(saved_desc) != _strip_names(tree):
        raise ValueError(
            f"load_params: {fname} has the same key paths but different containers (for example "
            "a list where a tuple is expected); was it saved from a different model?"
        )
    leaves = []
    for (_, ref), key in zip(expected, want, strict=True):
        value = arrays[key]
        ref_shape = np.shape(ref)
        if value.shape != ref_shape:
            raise ValueError(
                f"load_params: {key} has shape {value.shape} in {fname} but {ref_shape} is expected"
            )
        ref_dtype = np.result_type(ref)
        if value.dtype != ref_dtype:
            raise ValueError(
                f"load_params: {key} has dtype {value.dtype} in {fname} but {ref_dtype} is "
                "expected; convert the loaded params with tree_map(lambda a: a.astype(...), ...) "
                "after loading without like=, or save them in the right dtype"
            )
        if isinstance(ref, (int, float)) and not isinstance(ref, np.generic):
            value = type(ref)(value)  # type: ignore[assignment]
        leaves.append(value)
    return tree_unflatten(treedef, leaves)


def _strip_names(desc: Any) -> Any:
    """A structure description without namedtuple type names (tuples and namedtuples agree)."""
    if isinstance(desc, dict):
        if "namedtuple" in desc:
            return {"tuple": [_strip_names(c) for c in desc["children"]]}
        if "leaf" in desc:
            return {"leaf": None}
        return {k: _strip_names(v) for k, v in desc.items()}
    if isinstance(desc, list):
        return [_strip_names(d) for d in desc]
    return desc
