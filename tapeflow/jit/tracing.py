"""``tp.jit``: trace a function once, then replay it as straight-line numpy code.

The first call for a given *signature* (pytree structure, shapes and dtypes of
the array arguments, values of the static arguments) runs the function under a
:class:`JitTrace`. That trace records every primitive call — including the ones
made by the VJP rules of a ``grad`` running inside — as one instruction. The
instructions are then pruned to what the outputs need and turned into the
source of a Python function whose body is one numpy call per line, with each
intermediate deleted right after its last use. Later calls with the same
signature run that function directly: no tracers, no tape, no rule lookups.

As in JAX, Python control flow may depend on shapes but not on array values:
``bool()``, ``float()`` or ``if x > 0`` on a traced value raise an error that
points to ``tnp.where`` and ``static_argnums``. Python side effects (print,
appending to a list) happen only while tracing.
"""

from __future__ import annotations

import functools
import inspect
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy import ndarray  # a global: np.ndarray is a slow attribute load (see core/tape.py)

from tapeflow.core.debug_nans import state as _debug_nans
from tapeflow.core.hints import note_plain_at
from tapeflow.core.pytree import PyTreeDef, is_plain_namedtuple, tree_flatten, tree_unflatten
from tapeflow.core.trace import Trace, new_trace
from tapeflow.core.tracer import Tracer
from tapeflow.jit.codegen import Slot, compile_program

__all__ = ["jit", "JitTrace", "ConcretizationError", "is_jit_traced"]


class ConcretizationError(TypeError):
    """A traced value's contents were needed while tracing for ``tp.jit``."""


class JitTrace(Trace):
    """Records every primitive call as ``(fun, args, kwargs, out_slot)``.

    ``args`` holds :class:`Slot` markers where a traced value was passed
    (also inside tuples, for indices) and constants elsewhere.
    """

    __slots__ = ("instructions", "num_slots", "meta", "metas", "jit_calls")
    kind = "jit"
    compiles = True

    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.instructions: list[tuple[Any, tuple[Any, ...], dict[str, Any], int]] = []
        self.num_slots = 0
        # slot -> (shape, dtype) of the value seen while tracing, for ndarray values only
        self.meta: dict[int, tuple[tuple[int, ...], Any]] = {}
        self.metas: dict[Any, Any] = {}
        # fun -> the cheaper spelling its primitive declared (Primitive.jit_call)
        self.jit_calls: dict[Any, Any] = {}

    def concrete_error(self, what: str) -> ConcretizationError:
        return ConcretizationError(
            f"{what} needs the value of a traced array, but under tp.jit values are not known "
            "while the function is traced. Python control flow cannot depend on array values "
            "inside jit: use tnp.where(cond, a, b) to select values, or mark the argument as "
            "static with tp.jit(f, static_argnums=...) (it then becomes part of the cache key)."
        )

    def new_slot(self) -> int:
        self.num_slots += 1
        return self.num_slots - 1

    def new_input(self, value: Any) -> Tracer:
        slot = self.new_slot()
        if type(value) is ndarray:
            self.meta[slot] = (value.shape, value.dtype)
        return self._tracer(value, slot)

    def _tracer(self, value: Any, slot: int) -> Tracer:
        out = Tracer(value, self)
        out._slot = slot
        return out

    def closed_over(self, outer: Tracer) -> tuple[Any, Any]:
        """``_mark`` for a value an outer transform traces, read from a closure."""
        raise TypeError(
            "a function compiled with tp.jit used a traced value of an outer transform "
            "that it did not receive as an argument (a closure over a traced value); "
            "pass that value as an argument of the jitted function instead"
        )

    def _mark(self, a: Any) -> tuple[Any, Any]:
        """(value for computing now, marker for the program) of one argument."""
        if type(a) is Tracer:
            if a._trace is self:
                return a._value, Slot(a._slot)
            if a._trace.level < self.level and a._trace.active:
                return self.closed_over(a)
            raise self.leaked_error()
        if type(a) is tuple and any(type(x) is Tracer for x in a):
            pairs = [self._mark(x) for x in a]
            return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
        return a, a

    def process(self, prim: Any, args: tuple, kwargs: dict) -> Any:
        if not self.active:
            raise self.leaked_error()
        pairs = [self._mark(a) for a in args]
        vals = [p[0] for p in pairs]
        ans = prim.fun(*vals, **kwargs)
        slot = self.new_slot()
        self.instructions.append((prim.fun, tuple(p[1] for p in pairs), kwargs, slot))
        if prim.jit_call is not None:
            self.jit_calls[prim.fun] = prim.jit_call
        if type(ans) is ndarray:
            key = (ans.shape, ans.dtype)
            # (one tuple per distinct shape and dtype: long traces repeat a few)
            self.meta[slot] = self.metas.setdefault(key, key)
        return self._tracer(ans, slot)


def is_jit_traced(x: Any) -> bool:
    """True when ``x`` carries a ``tp.jit`` trace at any level of its tracing.

    Library functions that draw random numbers from a numpy Generator use it to
    refuse jit, which would freeze the draws made while tracing.
    """
    while type(x) is Tracer:
        if x._trace.compiles:
            return True
        x = x._value
    return False


def _leaf_key(x: Any) -> Any:
    if isinstance(x, ndarray) or isinstance(x, np.generic):
        return ("a", x.shape, x.dtype.str)
    if isinstance(x, (bool, int, float, complex)):
        return ("s", type(x).__name__)
    if type(x) is Tracer:
        return ("t",)
    return ("static", x)


def _is_dynamic(x: Any) -> bool:
    return isinstance(x, (np.ndarray, np.generic, bool, int, float, complex))


class _Compiled:
    """One traced program and the Python function generated from it.

    ``program`` takes the dynamic leaves in order; ``run`` takes all the leaves and
    picks the dynamic ones. ``out_tree`` is None when the program returns the output
    structure itself (lists and tuples of leaves: built by its return statement).
    """

    __slots__ = ("run", "program", "out_tree", "source", "num_instructions")

    def __init__(
        self,
        program: Callable[..., Any],
        run: Callable[[list[Any]], Any],
        out_tree: PyTreeDef | None,
        source: Callable[[], str],
        n: int,
    ) -> None:
        self.program = program
        self.run = run
        self.out_tree = out_tree
        self.source = source
        self.num_instructions = n


class _Unusual(Exception):
    """Raised by :func:`_fast_signature` for a leaf or node it does not handle."""


def _fast_signature(x: Any, leaves: list[Any]) -> Any:
    """A hashable signature of a pytree of lists, tuples and arrays, collecting its leaves.

    The common arguments of a jitted step (parameters as lists of tuples of arrays, a
    batch of arrays) get a key made of nested tuples in one pass: tuples hash and compare
    in C, where the general key (a PyTreeDef and one key per leaf) runs Python methods.
    Anything else raises :class:`_Unusual` and the caller takes the general path.
    """
    t = type(x)
    if t is ndarray or isinstance(x, np.generic):
        # (a numpy scalar has the key of the 0-d array: a step returning a counter as a
        # scalar and called again with it finds its program)
        leaves.append(x)
        return (x.shape, x.dtype)  # (a tuple first: never confused with a node below)
    if t is list or t is tuple or is_plain_namedtuple(x):
        # (named tuples, such as optimizer states, are nodes in field order)
        sig: list[Any] = [t]
        for c in x:
            if type(c) is ndarray:  # inlined: most children are arrays
                leaves.append(c)
                sig.append((c.shape, c.dtype))
            else:
                sig.append(_fast_signature(c, leaves))
        return tuple(sig)
    raise _Unusual


_FAST_KEY = object()  # marks the fast path's keys: they never equal a general key

# Static argument values that are hashable and can hold no traced value.
_PLAIN_STATICS = frozenset({str, int, float, bool, bytes, type(None)})


def _static_names_and_positions(
    fun: Callable[..., Any], nums: tuple[int, ...], names: tuple[str, ...]
) -> tuple[tuple[int, ...], frozenset[str]]:
    """Static positions and names, each completed from the other as JAX does.

    When only one of ``static_argnums`` and ``static_argnames`` is given, the function's
    signature maps the parameters that can be passed either way to the other, so a
    static argument is static however it is passed.
    """
    if nums and names:
        return nums, frozenset(names)
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        return nums, frozenset(names)
    either_way = [p.kind is p.POSITIONAL_OR_KEYWORD for p in params]
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    more_names = {positional[i] for i in nums if 0 <= i < len(positional) and either_way[i]}
    more_nums = tuple(
        positional.index(n) for n in names if n in positional and either_way[positional.index(n)]
    )
    return tuple(dict.fromkeys(nums + more_nums)), frozenset(names) | more_names


def _keyword_or_default(fun: Callable[..., Any]) -> list[bool]:
    """For each positional parameter of ``fun``: may a call leave it out of the positional
    arguments (it can be passed by keyword, or it has a default)?"""
    try:
        params = inspect.signature(fun).parameters.values()
    except (TypeError, ValueError):
        return []
    return [
        p.kind is p.POSITIONAL_OR_KEYWORD or p.default is not p.empty
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]


def _unhashable_error(statics: tuple[Any, ...], names: list[str]) -> TypeError:
    """The error for the first static value that cannot be a cache key, naming it."""
    for (_, value), what in zip(statics, names, strict=True):
        try:
            hash(value)
        except TypeError:
            return TypeError(
                f"jit: the static argument {what} is {type(value).__name__} {value!r}, which "
                "is not hashable; static arguments must be hashable (they are part of the "
                "cache key): pass a tuple instead of a list, or pass arrays as traced "
                "(non-static) arguments"
            )
    return TypeError("jit: static arguments must be hashable")  # pragma: no cover


def _donated(value: Any, kind: type, what: str) -> tuple[Any, ...]:
    """``donate_argnums`` / ``donate_argnames`` checked for type; donation is a no-op."""
    if value is None:
        return ()
    values = (value,) if isinstance(value, kind) else tuple(value)
    for v in values:
        if not isinstance(v, kind) or isinstance(v, bool):
            raise TypeError(f"jit: {what} must be {kind.__name__}s, got {value!r}")
    return values


def jit(
    fun: Callable[..., Any] | None = None,
    static_argnums: int | Sequence[int] | None = None,
    static_argnames: str | Sequence[str] | None = None,
    donate_argnums: int | Sequence[int] | None = None,
    donate_argnames: str | Sequence[str] | None = None,
    keep_unused: bool = False,
    inline: bool = False,
    cache_size: int = 64,
) -> Any:
    """Compile ``fun`` by tracing it once per input signature and replaying the trace.

    Args:
        fun: a pure function of arrays (pytrees of arrays allowed), possibly
            containing ``tp.grad``/``tp.value_and_grad``/``tp.vjp`` calls — their
            backward passes are compiled too. Without it, ``jit(static_argnames=...)``
            returns a decorator.
        static_argnums: positions of arguments treated as compile-time constants
            (hashable values: sizes, flags, strings); a new value retraces.
        static_argnames: names of arguments treated as compile-time constants. As in
            JAX, when only one of the two is given the other follows from the
            signature, and every other argument, keyword arguments included, is
            traced.
        donate_argnums, donate_argnames: accepted for JAX's programs and checked, but
            a no-op: JAX may reuse a donated buffer for an output on an accelerator;
            numpy arrays are never invalidated, so a donated argument stays usable.
        keep_unused, inline: accepted, no effect (the generated program never drops
            an argument of the signature, and a jitted function called inside another
            one is traced into it, as JAX's ``inline=True`` does).
        cache_size: how many signatures to keep compiled (least recently used
            programs are dropped); tapeflow's own option.

    Returns:
        A function with the same results as ``fun``. It has ``.trace_count``
        (how many times ``fun`` was traced) and ``.lower(*args)`` returning the
        generated source for inspection.

    Example:
        >>> import numpy as np, tapeflow as tp, tapeflow.numpy as tnp
        >>> step = tp.jit(tp.value_and_grad(lambda w, x: tnp.sum(tnp.tanh(x @ w))))
        >>> value, g = step(np.ones(3), np.eye(3))
        >>> g.shape
        (3,)
        >>> @tp.jit(static_argnames="n")
        ... def power(x, n):
        ...     return x**n
        >>> power(np.arange(3.0), n=2)
        array([0., 1., 4.])
    """
    if fun is None:  # @jit(static_argnames=...), as functools.partial(jit, ...) gives
        return lambda f: jit(
            f,
            static_argnums,
            static_argnames,
            donate_argnums,
            donate_argnames,
            keep_unused,
            inline,
            cache_size,
        )
    if not callable(fun):
        raise TypeError(f"jit expects a callable, got {type(fun).__name__}")
    _donated(donate_argnums, int, "donate_argnums")
    _donated(donate_argnames, str, "donate_argnames")
    if static_argnums is None:
        static_argnums = ()
    if static_argnames is None:
        static_argnames = ()
    given_nums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    given_names = (static_argnames,) if isinstance(static_argnames, str) else tuple(static_argnames)
    for n in given_names:
        if not isinstance(n, str):
            raise TypeError(f"jit: static_argnames must be strings, got {n!r}")
    statics, static_names = _static_names_and_positions(fun, given_nums, given_names)
    if cache_size < 1:
        raise ValueError(f"jit: cache_size must be at least 1, got {cache_size}")
    cache: OrderedDict[Any, _Compiled] = OrderedDict()
    name = "jitted_" + "".join(c if c.isalnum() else "_" for c in getattr(fun, "__name__", "f"))

    # Per number of arguments: (sorted static positions, dynamic positions), checked once.
    positions: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {}
    # For each positional parameter: whether it may be left out of the positional arguments.
    optional = _keyword_or_default(fun)

    def split(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, tuple[Any, ...]]:
        """(the traced arguments as one pytree, the static ones as ``(position, value)``).

        The traced arguments are the list of positional ones, or with traced keyword
        arguments the pair (that list, a dict of them); a static keyword argument is
        ``(name, value)``.
        """
        nargs = len(args)
        found = positions.get(nargs)
        if found is None:
            for s in given_nums:
                # (a static argument may come by keyword, or not at all when it has a default)
                if not -nargs <= s < nargs and not (0 <= s < len(optional) and optional[s]):
                    raise ValueError(
                        f"jit: static_argnums={static_argnums!r} refers to argument {s}, but "
                        f"the function was called with {nargs} positional argument(s)"
                    )
            static_set = {s % nargs for s in statics if -nargs <= s < nargs}
            found = positions[nargs] = (
                tuple(sorted(static_set)),
                tuple(i for i in range(nargs) if i not in static_set),
            )
        static_pos, dyn_pos = found
        dyn: Any = [args[i] for i in dyn_pos]
        static_vals: tuple[Any, ...] = tuple([(i, args[i]) for i in static_pos])
        if kwargs:
            traced = {k: v for k, v in kwargs.items() if k not in static_names}
            static_vals += tuple(sorted((k, v) for k, v in kwargs.items() if k in static_names))
            if traced:
                dyn = (dyn, traced)
        return dyn, static_vals

    def rebuild(
        nargs: int, dyn: Any, static_vals: tuple[Any, ...], kwargs: bool
    ) -> tuple[list[Any], dict[str, Any]]:
        """The call's positional and keyword arguments from what ``split`` returned."""
        positional_dyn, traced_kwargs = dyn if kwargs and type(dyn) is tuple else (dyn, {})
        statics_map = {k: v for k, v in static_vals if type(k) is int}
        it = iter(positional_dyn)
        full = [statics_map[i] if i in statics_map else next(it) for i in range(nargs)]
        named = {k: v for k, v in static_vals if type(k) is str}
        return full, {**named, **traced_kwargs}

    def trace_and_compile(args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Compiled:
        dyn, static_vals = split(args, kwargs)
        leaves, in_tree = tree_flatten(dyn)
        dyn_flags = [_is_dynamic(x) for x in leaves]
        with new_trace(JitTrace) as trace:
            tracers = [
                trace.new_input(x) if d else x for x, d in zip(leaves, dyn_flags, strict=True)
            ]
            n_inputs = trace.num_slots
            full, call_kwargs = rebuild(
                len(args), tree_unflatten(in_tree, tracers), static_vals, bool(kwargs)
            )
            try:
                out = fun(*full, **call_kwargs)
            except AttributeError as exc:  # (free unless raised)
                note_plain_at(exc)
                raise
            out_leaves, out_tree = tree_flatten(out)
            program, source, n, built = compile_program(
                trace, range(n_inputs), out_leaves, out_tree, name
            )
        compiled_inputs = [i for i, d in enumerate(dyn_flags) if d]

        def run_leaves(leaves: list[Any]) -> Any:
            return program(*[leaves[i] for i in compiled_inputs])

        # (every leaf dynamic: the program takes them as they are)
        run = run_leaves if len(compiled_inputs) < len(leaves) else lambda ls: program(*ls)
        return _Compiled(program, run, None if built else out_tree, source, n)

    most_recent: list[Any] = [None]  # the last program run: no LRU update when it runs again

    def lookup(key: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Compiled:
        compiled = cache.get(key)
        if compiled is None:
            jitted.trace_count += 1  # type: ignore[attr-defined]
            compiled = trace_and_compile(args, kwargs)
            cache[key] = compiled
            if len(cache) > cache_size:
                cache.popitem(last=False)
        elif compiled is not most_recent[0]:
            cache.move_to_end(key)
        most_recent[0] = compiled
        return compiled

    def signature(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, list[Any], bool]:
        """(cache key, leaves, whether every leaf is an array) of a call; key None under
        another transform (a traced leaf or static value)."""
        dyn, static_vals = split(args, kwargs)
        if not kwargs:
            for _, v in static_vals:
                if type(v) not in _PLAIN_STATICS:
                    break
            else:
                # The fast path: arrays in lists and tuples (no tracer can hide there).
                leaves: list[Any] = []
                try:
                    sig = _fast_signature(dyn, leaves)
                except _Unusual:
                    pass
                else:
                    return (_FAST_KEY, sig, static_vals), leaves, True
        leaves, in_tree = tree_flatten(dyn)
        if any(type(x) is Tracer for x in leaves) or (
            static_vals and any(type(x) is Tracer for x in tree_flatten(static_vals)[0])
        ):
            return None, leaves, False
        key = (in_tree, tuple(_leaf_key(x) for x in leaves), static_vals)
        try:
            hash(key)
        except TypeError:
            names = [f"{k!r}" if type(k) is str else f"at position {k}" for k, _ in static_vals]
            raise _unhashable_error(static_vals, names) from None
        return key, leaves, False

    @functools.wraps(fun)
    def jitted(*args: Any, **kwargs: Any) -> Any:
        if _debug_nans.on:
            # A compiled program calls numpy directly: run the Python function instead,
            # so that tp.debug_nans checks each of its primitives.
            return fun(*args, **kwargs)
        key, leaves, all_arrays = signature(args, kwargs)
        if key is None:
            # Under another transform (grad of a jitted function, jit of jit): run the
            # function itself so that the outer transform sees every operation.
            return fun(*args, **kwargs)
        compiled = lookup(key, args, kwargs)
        outs = compiled.program(*leaves) if all_arrays else compiled.run(leaves)
        out_tree = compiled.out_tree
        return outs if out_tree is None else tree_unflatten(out_tree, outs)

    def lower(*args: Any, **kwargs: Any) -> str:
        """The source generated for these arguments (traced now if not yet compiled)."""
        key = signature(args, kwargs)[0]
        compiled = cache.get(key) if key is not None else None
        return (compiled or trace_and_compile(args, kwargs)).source()

    jitted.trace_count = 0  # type: ignore[attr-defined]
    jitted.lower = lower  # type: ignore[attr-defined]
    return jitted
