"""JAX's utilities around tracing a function: ``eval_shape``, ``closure_convert``, ``named_call``.

They trace a function once as ``tp.jit`` does (:func:`tapeflow.lax.program.trace_program`):
values of outer transforms that the function reads from a closure become explicit
inputs, and Python control flow on array values raises, as under JAX's tracing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tapeflow.core.pytree import tree_flatten, tree_unflatten
from tapeflow.core.tracer import Tracer
from tapeflow.lax.program import trace_program

__all__ = ["ShapeDtypeStruct", "eval_shape", "closure_convert", "named_call"]


class ShapeDtypeStruct:
    """The shape and dtype of an array, without its values (what :func:`eval_shape`
    returns, and what it accepts in place of an array).

    ``sharding`` is accepted for JAX's programs and must be ``None`` (numpy arrays live
    in host memory); ``weak_type`` is recorded and has no effect (numpy's promotion
    rules apply).

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> tp.ShapeDtypeStruct((2, 3), np.float32)
        ShapeDtypeStruct(shape=(2, 3), dtype=float32)
    """

    __slots__ = ("shape", "dtype", "weak_type")

    def __init__(
        self, shape: Sequence[int], dtype: Any, sharding: Any = None, *, weak_type: bool = False
    ) -> None:
        if sharding is not None:
            raise NotImplementedError(
                "ShapeDtypeStruct(..., sharding=...): tapeflow has no devices or shardings "
                "(numpy arrays live in host memory); leave sharding=None"
            )
        self.shape = tuple(int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        self.weak_type = weak_type

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=int))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ShapeDtypeStruct):
            return NotImplemented
        return (self.shape, self.dtype) == (other.shape, other.dtype)

    def __hash__(self) -> int:
        return hash((self.shape, self.dtype))

    def __repr__(self) -> str:
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name})"


def _is_array_like(x: Any) -> bool:
    # (Python numbers stay constants: traced, they would become float64 arrays and lose
    # numpy's weak promotion, float32 * 2.0 being float32)
    return isinstance(x, (np.ndarray, np.generic, ShapeDtypeStruct, Tracer))


def eval_shape(fun: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """The shapes and dtypes of ``fun(*args, **kwargs)``'s outputs, as
    :class:`ShapeDtypeStruct` leaves.

    Array arguments may be :class:`ShapeDtypeStruct`. numpy has no abstract evaluation:
    tapeflow runs ``fun`` once, traced as by ``tp.jit``, on zero-filled arrays of the
    given shapes (so it costs one evaluation, and a function that fails on zeros, such
    as a Cholesky factorization, raises here).

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> x = tp.ShapeDtypeStruct((4, 3), np.float32)
        >>> tp.eval_shape(lambda x, w: x @ w, x, np.ones((3, 2), np.float32))
        ShapeDtypeStruct(shape=(4, 2), dtype=float32)
    """
    if not callable(fun):
        raise TypeError(f"eval_shape expects a callable, got {type(fun).__name__}")
    leaves, in_tree = tree_flatten((args, kwargs))
    traced_at = [i for i, x in enumerate(leaves) if _is_array_like(x)]
    examples = [
        np.zeros(x.shape, x.dtype) if isinstance(x, ShapeDtypeStruct) else x
        for x in (leaves[i] for i in traced_at)
    ]

    def on_leaves(*xs: Any) -> Any:
        full = list(leaves)
        for i, x in zip(traced_at, xs, strict=True):
            full[i] = x
        a, kw = tree_unflatten(in_tree, full)
        return fun(*a, **kw)

    traced = trace_program(on_leaves, examples, getattr(fun, "__name__", "eval_shape"))
    out = [ShapeDtypeStruct(shape, dtype) for shape, dtype in traced.program.out_avals]
    return tree_unflatten(traced.out_tree, out)


def closure_convert(
    fun: Callable[..., Any], *example_args: Any
) -> tuple[Callable[..., Any], list[Any]]:
    """``fun`` with the traced values it reads from a closure turned into arguments.

    Returns ``(converted, consts)``: ``converted(*args, *consts)`` computes
    ``fun(*args)``. Use it to pass a function that closes over values being
    differentiated to a ``custom_vjp`` function, whose rules then see those values as
    ordinary arguments (and give them cotangents). tapeflow hoists only the values of
    running transforms; plain arrays stay constants of ``converted`` (JAX hoists every
    float array), which gives the same derivatives.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> def outer(w):
        ...     f, consts = tp.closure_convert(lambda x: x * w, 1.0)
        ...     return f(2.0, *consts)
        >>> float(tp.grad(outer)(3.0))
        2.0
    """
    if not callable(fun):
        raise TypeError(f"closure_convert expects a callable, got {type(fun).__name__}")
    leaves, in_tree = tree_flatten(example_args)
    n = len(example_args)

    def on_leaves(*xs: Any) -> Any:
        return fun(*tree_unflatten(in_tree, xs))

    traced = trace_program(on_leaves, leaves, getattr(fun, "__name__", "closure_convert"))
    program, out_tree = traced.program, traced.out_tree
    consts = list(traced.captured)

    @functools.wraps(fun)
    def converted(*args_and_consts: Any) -> Any:
        if len(args_and_consts) != n + len(consts):
            raise TypeError(
                f"closure_convert: the converted function takes the {n} argument(s) of the "
                f"example and the {len(consts)} constant(s), got {len(args_and_consts)}"
            )
        args, cs = args_and_consts[:n], args_and_consts[n:]
        arg_leaves, tree = tree_flatten(tuple(args))
        if tree != in_tree:
            raise TypeError(
                f"closure_convert: the arguments have structure {tree}, but the example had "
                f"{in_tree}; convert the function again for other structures"
            )
        return tree_unflatten(out_tree, program(*arg_leaves, *cs))

    return converted, consts


def named_call(fun: Callable[..., Any], *, name: str | None = None) -> Callable[..., Any]:
    """``fun`` under the name ``name`` (its ``__name__``, which ``tp.jit`` uses for the
    program it generates). JAX names the staged computation for profilers; tapeflow
    computes exactly what ``fun`` does.

    Example:
        >>> import tapeflow as tp
        >>> tp.named_call(lambda x: x + 1, name="increment").__name__
        'increment'
    """
    if not callable(fun):
        raise TypeError(f"named_call expects a callable, got {type(fun).__name__}")

    @functools.wraps(fun)
    def named(*args: Any, **kwargs: Any) -> Any:
        return fun(*args, **kwargs)

    if name is not None:
        named.__name__ = named.__qualname__ = name
    return named
