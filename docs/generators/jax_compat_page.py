"""Generate ``docs/jax-compat.md``: JAX's API name by name against tapeflow's signatures.

Run ``python -m docs.generators.jax_compat_page`` after changing a public signature or
the data in :mod:`docs.generators.jax_api`; ``tests/test_jax_compat.py`` fails while the
page is stale, when a difference is not explained, or when an explanation no longer
describes a difference.

For each JAX name the tapeflow object of the same name is found (``jax.numpy.sum`` is
``tapeflow.numpy.sum``, ``jax.grad`` is ``tapeflow.grad``; ``TAPEFLOW_NAMES`` lists the
exceptions) and its signature is read with :mod:`inspect` (a primitive's bound function
by the numpy function it wraps). Each JAX parameter must be accepted the same way: a
positional parameter at the same position, a named one by the same name (by keyword
when JAX allows it), a default where JAX has one, the same default when JAX's is a
literal. Parameters tapeflow adds (numpy's ``out``, tapeflow's ``cache_size``) are not
differences.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from docs.generators.jax_api import COMMON, JAX_VERSION, NOTES, SIGNATURES, tapeflow_name
from tapeflow.core.primitive import Primitive

__all__ = ["Param", "parse", "signature_of", "resolve", "differences", "explain", "render", "main"]

NO_DEFAULT = "<none>"
SOME_DEFAULT = "<object>"  # a default that is not a literal (compared for presence only)


@dataclass(frozen=True)
class Param:
    """One parameter: ``kind`` is positional, either, keyword, var_positional or var_keyword."""

    name: str
    kind: str
    default: Any = NO_DEFAULT


def parse(text: str) -> list[Param]:
    """The parameters of a signature written as in :mod:`docs.generators.jax_api`."""
    args = ast.parse(f"def f{text}: pass").body[0].args  # type: ignore[attr-defined]

    def value(node: ast.expr) -> Any:
        if isinstance(node, ast.Constant) and node.value is Ellipsis:
            return SOME_DEFAULT
        return ast.literal_eval(node)

    out: list[Param] = []
    positional = [(a, "positional") for a in args.posonlyargs] + [(a, "either") for a in args.args]
    defaults = [NO_DEFAULT] * (len(positional) - len(args.defaults)) + [
        value(d) for d in args.defaults
    ]
    out += [Param(a.arg, kind, d) for (a, kind), d in zip(positional, defaults, strict=True)]
    if args.vararg is not None:
        out.append(Param(args.vararg.arg, "var_positional"))
    for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        out.append(Param(a.arg, "keyword", NO_DEFAULT if d is None else value(d)))
    if args.kwarg is not None:
        out.append(Param(args.kwarg.arg, "var_keyword"))
    return out


_KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: "positional",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "either",
    inspect.Parameter.KEYWORD_ONLY: "keyword",
    inspect.Parameter.VAR_POSITIONAL: "var_positional",
    inspect.Parameter.VAR_KEYWORD: "var_keyword",
}

# What a numpy ufunc accepts besides its inputs (ufuncs have no inspectable signature).
_UFUNC_KEYWORDS = [
    Param("out", "either", None),
    Param("where", "keyword", True),
    Param("casting", "keyword", "same_kind"),
    Param("order", "keyword", "K"),
    Param("dtype", "keyword", None),
    Param("subok", "keyword", True),
]


def signature_of(obj: Any, method: bool = False) -> list[Param] | None:
    """tapeflow's parameters for ``obj``; a bound primitive is read through the numpy
    function it wraps. None when nothing can be read."""
    prim = getattr(obj, "primitive", None)
    target = obj
    if isinstance(prim, Primitive):
        try:
            own = inspect.signature(obj)
        except (TypeError, ValueError):
            own = None
        if own is None or [p.kind for p in own.parameters.values()] == [
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
        ]:
            target = prim.fun
    if isinstance(target, np.ufunc):
        inputs = [Param(f"x{i + 1}", "positional") for i in range(target.nin)]
        # A tapeflow primitive takes numpy's ufunc keywords on plain arrays only: its
        # derivative rules take none, so under a transform only the inputs are accepted.
        return inputs if target is not obj else inputs + _UFUNC_KEYWORDS
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return None
    params = [
        Param(
            p.name,
            _KINDS[p.kind],
            NO_DEFAULT if p.default is inspect.Parameter.empty else p.default,
        )
        for p in sig.parameters.values()
    ]
    return params[1:] if method else params


def resolve(dotted: str) -> tuple[Any, bool]:
    """(the object named ``dotted``, whether it is a method of a class) or (None, False)."""
    parts = dotted.split(".")
    obj: Any = importlib.import_module(parts[0])
    owner = None
    for i, attr in enumerate(parts[1:], 1):
        owner = obj
        # an attribute first (tapeflow.vmap is the function, not the module of that name)
        found = getattr(obj, attr, None)
        if found is None:
            try:
                found = importlib.import_module(".".join(parts[: i + 1]))
            except ImportError:
                return None, False
        obj = found
    return obj, isinstance(owner, type) and inspect.isfunction(obj)


def _positional(params: list[Param]) -> list[Param]:
    return [p for p in params if p.kind in ("positional", "either")]


def _same_default(a: Any, b: Any) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # pragma: no cover - arrays and other odd defaults
        return False


def differences(jax_name: str) -> list[tuple[str, str]]:
    """``(parameter, what differs)`` for each difference; parameter "" for the name itself."""
    obj, method = resolve(tapeflow_name(jax_name))
    if obj is None:
        return [("", "not in tapeflow")]
    ours = signature_of(obj, method)
    if ours is None:
        return [("", "tapeflow's signature cannot be read")]
    theirs = parse(SIGNATURES[jax_name])
    by_name = {p.name: p for p in ours}
    our_positional = _positional(ours)
    var_positional = any(p.kind == "var_positional" for p in ours)
    var_keyword = any(p.kind == "var_keyword" for p in ours)
    out: list[tuple[str, str]] = []
    for i, p in enumerate(_positional(theirs)):
        if p.kind != "positional":
            continue
        if i >= len(our_positional) and not var_positional:
            out.append((p.name, f"no positional argument at position {i}"))
    for p in theirs:
        if p.kind == "var_positional":
            if not var_positional:
                out.append((p.name, f"no `*{p.name}`"))
            continue
        if p.kind == "var_keyword":
            if not var_keyword:
                out.append((p.name, f"no `**{p.name}`"))
            continue
        if p.kind == "positional":
            continue
        mine = by_name.get(p.name)
        if mine is None or mine.kind in ("positional", "var_positional", "var_keyword"):
            if mine is None and var_keyword:
                continue
            out.append((p.name, f"no `{p.name}`" if mine is None else f"`{p.name}` is positional"))
            continue
        if p.kind == "either" and p.default == NO_DEFAULT:
            index = _positional(theirs).index(p)
            if index >= len(our_positional) or our_positional[index].name != p.name:
                out.append((p.name, f"`{p.name}` is not argument {index}"))
                continue
        if p.default != NO_DEFAULT and mine.default == NO_DEFAULT:
            out.append((p.name, f"`{p.name}` is required"))
        elif (
            p.default not in (NO_DEFAULT, SOME_DEFAULT)
            and mine.default is not np._NoValue  # numpy's "not given": its own default
            and mine.default != NO_DEFAULT
            and not _same_default(p.default, mine.default)
        ):
            out.append((p.name, f"`{p.name}={_show(mine.default)}` (JAX: `{p.default!r}`)"))
    jax_names = {p.name for p in theirs}
    for q in ours:
        if q.default == NO_DEFAULT and q.kind in ("either", "keyword") and q.name not in jax_names:
            if q.kind == "either" and our_positional.index(q) < len(_positional(theirs)):
                continue  # a positional argument JAX names otherwise: checked above
            out.append((q.name, f"tapeflow requires `{q.name}`"))
    return out


def _show(value: Any) -> str:
    if callable(value) and hasattr(value, "__name__"):
        return str(value.__name__)
    return repr(value)


def explain(jax_name: str, param: str) -> str | None:
    """The reason recorded for a difference (its own note, or the namespace's common one)."""
    own = NOTES.get(jax_name, {}).get(param)
    if own is not None:
        return own
    for (prefix, name), why in COMMON.items():
        if name == param and jax_name.startswith(prefix):
            return why
    return None


# ----- the page ------------------------------------------------------------------------
GROUPS: list[tuple[str, Callable[[str], bool]]] = [
    (
        "Transforms",
        lambda n: n.count(".") == 1 or n.startswith(("jax.custom_", "jax.checkpoint")),
    ),
    ("`jax.tree_util`", lambda n: n.startswith("jax.tree_util.")),
    ("`jax.nn`", lambda n: n.startswith("jax.nn.") and not n.startswith("jax.nn.initializers")),
    ("`jax.nn.initializers`", lambda n: n.startswith("jax.nn.initializers.")),
    ("`jax.lax`", lambda n: n.startswith("jax.lax.")),
    ("`jax.random`", lambda n: n.startswith("jax.random.")),
    ("`jax.numpy.linalg`", lambda n: n.startswith("jax.numpy.linalg.")),
    (
        "`jax.numpy`",
        lambda n: n.startswith("jax.numpy.") and not n.startswith("jax.numpy.linalg."),
    ),
]

INTRO = f"""# Compatibility with JAX

Every name of JAX's public API that a ported program is likely to touch, against
tapeflow's: the transforms, `jax.tree_util`, `jax.nn` and its initializers, and the
`jax.numpy`, `jax.numpy.linalg`, `jax.lax` and `jax.random` functions tapeflow has.
Signatures are compared parameter by parameter (JAX {JAX_VERSION}); "same" means every
parameter JAX accepts is accepted the same way, by position or name, with the same
default. tapeflow often accepts more (numpy's own keywords); that is not listed. Each
difference says why. [Moving from JAX](from-jax.md) walks through a port.

This page is generated by `python -m docs.generators.jax_compat_page` from the data in
`docs/generators/jax_api.py`; a test checks that it is current, that every difference
is explained and that every explanation is still true.

## Deliberate differences, everywhere

- **Arrays are numpy's.** Outside a transform they are plain, mutable `numpy.ndarray`s
  (`x[0] = 1.0` works); inside one, traced arrays are immutable and
  `x.at[i].set(v)` is the functional update, as in JAX. `tp.Array` is the type of both.
- **float64 by default.** numpy's promotion rules apply: `np.ones(3)` is float64, and
  float32 stays float32 when you choose it. JAX's default is float32 (`jax_enable_x64`
  off) with weak types for Python scalars.
- **No devices, shardings or collectives.** Everything runs on the host, in numpy;
  options about placement (`device`, `in_shardings`, `spmd_axis_name`) are absent or
  accepted and ignored, and buffer donation is a no-op.
- **Errors where JAX would clamp or guess.** Out-of-range indices and labels raise
  instead of being clipped or encoded as zeros.
"""


def _row(name: str) -> str:
    diffs = differences(name)
    ours = tapeflow_name(name)
    whole = NOTES.get(name, {}).get("")
    if diffs and diffs[0][0] == "" and diffs[0][1] == "not in tapeflow":
        return f"| `{name}` | — | — | {whole or ''} |"
    if diffs:
        parts = [f"{what}: {explain(name, param) or 'not explained'}" for param, what in diffs]
        sig = "<br>".join(parts)
    else:
        sig = "same"
    short = ours.replace("tapeflow.numpy.", "tnp.").replace("tapeflow.", "tp.")
    return f"| `{name}` | `{short}` | {sig} | {whole or ''} |"


def render() -> str:
    """The whole page."""
    out = [INTRO]
    for title, belongs in GROUPS:
        names = [n for n in SIGNATURES if belongs(n)]
        if not names:
            continue
        same = sum(1 for n in names if not differences(n))
        out.append(f"\n## {title}\n")
        out.append(f"{len(names)} names; {same} with the same signature.\n")
        out.append("| JAX | tapeflow | signature | notes |")
        out.append("|---|---|---|---|")
        out.extend(_row(n) for n in names)
    return "\n".join(out) + "\n"


def default_path() -> Path:
    return Path(__file__).resolve().parent.parent / "jax-compat.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(default_path()))
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    args = parser.parse_args(argv)
    path = Path(args.output)
    text = render()
    if args.check:
        if not path.exists() or path.read_text() != text:
            print(f"{path} is stale: run python -m docs.generators.jax_compat_page")
            return 1
        return 0
    path.write_text(text)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
