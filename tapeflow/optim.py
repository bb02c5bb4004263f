"""Optimizers as pure ``(init, update)`` pairs over pytrees, and learning-rate schedules.

``opt = sgd(0.1)``; ``state = opt.init(params)``; then each step
``params, state = opt.update(grads, state, params)``. Nothing is modified in
place: ``update`` returns new arrays and leaves the caller's ``params``,
``grads`` and ``state`` untouched. Each parameter keeps its dtype (float32
parameters get float32 updates: hyperparameters enter as Python floats).

A learning rate may be a number or a schedule: a function of the step count
(0 for the first update) returning a number, such as :func:`cosine_decay`.

Everything here also runs on traced values, so a whole training step, optimizer
update included, compiles with ``tp.jit``: there the step count in the state and
any hyperparameter passed as an argument are traced, and values are selected with
``tnp.where`` rather than Python ``if``. The scalars an update needs (the learning
rate, bias corrections) are computed once per update in float64, with the same
numpy calls whether traced or not (compiled steps reproduce eager ones bit for bit),
and reach the arrays as Python floats or, when traced, cast to each parameter's
dtype.

Example:
    >>> import numpy as np, tapeflow as tp
    >>> opt = tp.optim.sgd(0.5)
    >>> params = {"w": np.array([1.0, 2.0], np.float32)}
    >>> state = opt.init(params)
    >>> params, state = opt.update({"w": np.array([1.0, 1.0], np.float32)}, state, params)
    >>> params["w"]
    array([0.5, 1.5], dtype=float32)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

import tapeflow.numpy as tnp
from tapeflow.core.leaves import leaf_dtype
from tapeflow.core.pytree import (
    keystr,
    tree_flatten,
    tree_flatten_with_path,
    tree_leaves,
    tree_map,
    tree_structure,
    tree_unflatten,
)
from tapeflow.core.tracer import is_traced

__all__ = [
    "Optimizer",
    "sgd",
    "adam",
    "adamw",
    "rmsprop",
    "adagrad",
    "constant",
    "step_decay",
    "cosine_decay",
    "warmup",
    "global_norm",
    "clip_by_global_norm",
]

# A step count or hyperparameter: a Python number, or a traced value under a transform.
Scalar = Any
Schedule = Callable[[Scalar], Scalar]


class Optimizer(NamedTuple):
    """An ``(init, update)`` pair.

    ``init(params) -> state`` and ``update(grads, state, params) -> (new_params, new_state)``.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> opt = tp.optim.sgd(0.1)
        >>> params = {"w": np.ones(2)}
        >>> new_params, state = opt.update({"w": np.ones(2)}, opt.init(params), params)
        >>> new_params["w"]
        array([0.9, 0.9])
    """

    init: Callable[[Any], Any]
    update: Callable[[Any, Any, Any], tuple[Any, Any]]


def _weak(value: Scalar) -> Scalar:
    """``value`` as a Python float when it is known, else the traced value itself.

    A Python float is a weak scalar for numpy: ``0.1 * x`` keeps ``x`` float32, where
    a float64 numpy scalar would widen it.
    """
    return value if is_traced(value) else float(value)


def _for_dtype(scalar: Scalar, dtype: Any) -> Scalar:
    """``scalar`` ready to meet arrays of ``dtype`` without widening them.

    A traced scalar is float64 (or whatever the caller passed): cast it, as numpy
    casts a Python float, so a compiled update rounds exactly like an eager one.
    """
    return tnp.astype(scalar, dtype) if is_traced(scalar) else scalar


# numpy's power and cos may differ from Python's in the last bit; a compiled update runs
# numpy's, so an eager one runs numpy's too. (+, -, *, / and sqrt are exactly rounded
# either way: known values use Python's, which costs less.)
def _power(base: Scalar, exponent: Scalar) -> Scalar:
    if is_traced(base) or is_traced(exponent):
        return tnp.power(base, exponent)
    return float(np.power(base, exponent))


def _cos(x: Scalar) -> Scalar:
    return tnp.cos(x) if is_traced(x) else float(np.cos(x))


def _sqrt(x: Scalar) -> Scalar:
    return tnp.sqrt(x) if is_traced(x) else math.sqrt(x)


# ----- learning-rate schedules -------------------------------------------------
def constant(value: float) -> Schedule:
    """The schedule that is always ``value``.

    Example:
        >>> from tapeflow import optim
        >>> optim.constant(0.1)(1000)
        0.1
    """
    value = _weak(value)
    return lambda step: value


def step_decay(init_value: float, decay_rate: float, step_size: int) -> Schedule:
    """``init_value * decay_rate ** (step // step_size)``: a drop every ``step_size`` steps.

    ``step_size`` is a Python int; the step and the two values may be traced.

    Example:
        >>> from tapeflow import optim
        >>> s = optim.step_decay(1.0, 0.5, 10)
        >>> s(0), s(10), s(25)
        (1.0, 0.5, 0.25)
    """
    if step_size < 1:
        raise ValueError(f"step_decay: step_size must be >= 1, got {step_size}")
    init_value, decay_rate = _weak(init_value), _weak(decay_rate)

    def schedule(step: Scalar) -> Scalar:
        drops = tnp.floor_divide(step, step_size) if is_traced(step) else step // step_size
        return _weak(init_value * _power(decay_rate, drops))

    return schedule


def cosine_decay(init_value: float, decay_steps: int, alpha: float = 0.0) -> Schedule:
    """Cosine decay from ``init_value`` to ``alpha * init_value`` over ``decay_steps``, then flat.

    ``decay_steps`` is a Python int; the step, ``init_value`` and ``alpha`` may be traced.

    Example:
        >>> from tapeflow import optim
        >>> s = optim.cosine_decay(1.0, 100)
        >>> s(0), round(s(50), 6), s(100), s(500)
        (1.0, 0.5, 0.0, 0.0)
    """
    if decay_steps < 1:
        raise ValueError(f"cosine_decay: decay_steps must be >= 1, got {decay_steps}")
    init_value, alpha = _weak(init_value), _weak(alpha)

    def schedule(step: Scalar) -> Scalar:
        capped = tnp.minimum(step, decay_steps) if is_traced(step) else min(step, decay_steps)
        progress = capped / decay_steps
        cosine = 0.5 * (1.0 + _cos(math.pi * progress))
        return _weak(init_value * ((1.0 - alpha) * cosine + alpha))

    return schedule


def warmup(schedule: float | Schedule, warmup_steps: int, init_value: float = 0.0) -> Schedule:
    """Linear warm-up from ``init_value`` over ``warmup_steps``, then ``schedule``.

    The wrapped schedule sees the step count minus ``warmup_steps``. ``warmup_steps``
    is a Python int; the step and ``init_value`` may be traced.

    Example:
        >>> from tapeflow import optim
        >>> s = optim.warmup(1.0, 4)
        >>> [s(i) for i in range(6)]
        [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    """
    after = _as_schedule(schedule)
    if warmup_steps < 0:
        raise ValueError(f"warmup: warmup_steps must be >= 0, got {warmup_steps}")
    if warmup_steps == 0:
        return after
    init_value = _weak(init_value)

    def ramp(step: Scalar) -> Scalar:
        target = after(0)
        return init_value + (target - init_value) * step / warmup_steps

    def sched(step: Scalar) -> Scalar:
        if not is_traced(step):  # (the values of the traced form, half the work)
            return _weak(ramp(step) if step < warmup_steps else after(step - warmup_steps))
        # A traced step cannot choose a side: both are computed, and the wrapped
        # schedule sees 0 during the warm-up rather than a negative count.
        later = after(tnp.maximum(step - warmup_steps, 0))
        return tnp.where(step < warmup_steps, ramp(step), later)

    return sched


def _as_schedule(lr: float | Schedule) -> Schedule:
    if callable(lr):
        return lr
    if is_traced(lr) or (
        isinstance(lr, (int, float, np.floating, np.integer)) and not isinstance(lr, bool)
    ):
        return constant(lr)
    raise TypeError(
        f"a learning rate must be a number or a schedule function of the step, got {lr!r}"
    )


# ----- gradient clipping ---------------------------------------------------------
def global_norm(tree: Any) -> float:
    """The Euclidean norm of all the leaves of a pytree taken together (a Python float).

    Under a transform, when a leaf is traced, the norm is a traced float64 scalar.

    Example:
        >>> import numpy as np
        >>> from tapeflow import optim
        >>> optim.global_norm([np.array([3.0]), np.array([4.0])])
        5.0
    """
    total: Scalar = 0.0
    for x in tree_leaves(tree):
        if is_traced(x):
            flat = tnp.ravel(x)
            if np.issubdtype(leaf_dtype(x), np.complexfloating):
                squares = tnp.real(tnp.matmul(tnp.conj(flat), flat))
            else:
                # numpy runs vdot and a 1-d matmul of real arrays through the same dot
                # loop: the compiled norm equals the eager one bit for bit.
                squares = tnp.matmul(flat, flat)
            total = total + tnp.astype(squares, np.float64)
        else:
            total = total + float(np.vdot(x, x).real)
    return tnp.sqrt(total) if is_traced(total) else math.sqrt(total)


def clip_by_global_norm(grads: Any, max_norm: float) -> Any:
    """Scale ``grads`` down so that their global norm is at most ``max_norm``.

    Gradients already within the bound come back unchanged (the same objects) when
    the norm is known; a traced norm scales them by one instead.

    Example:
        >>> import numpy as np
        >>> from tapeflow import optim
        >>> optim.clip_by_global_norm([np.array([3.0]), np.array([4.0])], 1.0)
        [array([0.6]), array([0.8])]
    """
    if not is_traced(max_norm) and max_norm <= 0:
        raise ValueError(f"clip_by_global_norm: max_norm must be > 0, got {max_norm}")
    max_norm = _weak(max_norm)
    norm = global_norm(grads)
    if not is_traced(norm) and not is_traced(max_norm):
        if norm <= max_norm:
            return grads
        scale = max_norm / norm
        return tree_map(lambda g: g * scale, grads)
    # max_norm / max(norm, max_norm) is exactly 1.0 within the bound, and never 0 / 0.
    scale = max_norm / tnp.maximum(norm, max_norm)
    scales: dict[Any, Scalar] = {}  # the scale cast once per dtype

    def scaled(g: Any) -> Any:
        dtype = leaf_dtype(g)
        if dtype not in scales:
            scales[dtype] = _for_dtype(scale, dtype)
        return g * scales[dtype]

    return tree_map(scaled, grads)


# ----- shared machinery ------------------------------------------------------------
class _State(NamedTuple):
    """Optimizer state: the step count and per-parameter slot trees (moments...).

    The count is a numpy integer rather than a Python int: ``tp.jit`` traces both, and
    a Python int would come back from a compiled step as a numpy one, a new signature.
    """

    step: Any
    slots: tuple[Any, ...]


def _check_trees(grads: Any, state: Any, params: Any, name: str) -> None:
    if isinstance(params, _State) and not isinstance(state, _State):
        raise TypeError(
            f"{name}.update: the optimizer state came third and the parameters second; "
            "the order is opt.update(grads, state, params), and it returns "
            "(new_params, new_state)"
        )
    # (a plain pair is accepted: a state saved and loaded back as a tuple)
    if not (isinstance(state, tuple) and len(state) == 2):
        raise TypeError(
            f"{name}.update: the second argument must be the optimizer state that "
            f"opt.init(params) (or the previous update) returned, got {type(state).__name__}; "
            "the order is opt.update(grads, state, params)"
        )
    if tree_structure(grads) != tree_structure(params):
        # Key paths, not two PyTreeDef dumps: the first leaves where the trees differ.
        g_paths = [p for p, _ in tree_flatten_with_path(grads)[0]]
        p_paths = [p for p, _ in tree_flatten_with_path(params)[0]]
        only_g = [keystr(p) for p in g_paths if p not in p_paths][:3]
        only_p = [keystr(p) for p in p_paths if p not in g_paths][:3]
        detail = (
            f"grads have {len(g_paths)} leaves and params {len(p_paths)}"
            if not (only_g or only_p)
            else f"leaves only in grads: {only_g or 'none'}; only in params: {only_p or 'none'}"
        )
        raise ValueError(
            f"{name}.update: grads and params differ in structure ({detail}). Pass the "
            "gradients of the same params, as tp.grad(loss)(params, ...) returns them"
        )


def _slot_filled(p: Any, value: Scalar) -> Any:
    dtype = leaf_dtype(p)
    if is_traced(value):
        return tnp.full(np.shape(p), tnp.astype(value, dtype), dtype)
    return np.full(np.shape(p), value, dtype)


def _make(
    name: str,
    n_slots: int,
    lr: float | Schedule,
    coefficients: Callable[[Scalar, Scalar], tuple[Scalar, ...]],
    leaf_rule: Callable[..., tuple[Any, tuple[Any, ...]]],
    clip_norm: float | None,
    slot_init: Scalar = 0.0,
) -> Optimizer:
    """Build an optimizer from its scalar coefficients and a per-leaf rule.

    ``coefficients(rate, t)`` gives, once per update, every scalar the rule uses
    (``t`` is the 1-based count of this update), computed in float64: Python floats,
    or traced values when the step or a hyperparameter is traced;
    ``leaf_rule(g, p, slots, coefficients) -> (new_p, new_slots)`` works on one leaf
    and does no scalar arithmetic of its own, so that a compiled update rounds like an
    eager one whatever the parameter dtype.
    """
    schedule = _as_schedule(lr)

    def init(params: Any) -> _State:
        slots = tuple(
            tree_map(lambda p: _slot_filled(p, slot_init), params) for _ in range(n_slots)
        )
        return _State(np.int64(0), slots)

    def update(grads: Any, state: _State, params: Any) -> tuple[Any, _State]:
        _check_trees(grads, state, params, name)
        if clip_norm is not None:
            grads = clip_by_global_norm(grads, clip_norm)
        step, slots = state
        t = step + 1
        coefs = coefficients(_weak(schedule(step)), t)
        any_traced = not all(type(c) is float for c in coefs)
        by_dtype: dict[Any, tuple[Any, ...]] = {}
        p_leaves, treedef = tree_flatten(params)
        g_leaves = tree_leaves(grads)
        s_leaves = [tree_leaves(s) for s in slots]
        new_p: list[Any] = []
        new_s: list[list[Any]] = [[] for _ in slots]
        for i, (g, p) in enumerate(zip(g_leaves, p_leaves, strict=True)):
            dtype = leaf_dtype(p)
            if getattr(g, "dtype", dtype) != dtype:
                g = tnp.astype(g, dtype)
            leaf_coefs = coefs
            if any_traced:
                cast = by_dtype.get(dtype)  # (cast once per dtype, not once per leaf)
                if cast is None:
                    cast = by_dtype[dtype] = tuple(_for_dtype(c, dtype) for c in coefs)
                leaf_coefs = cast
            p2, s2 = leaf_rule(g, p, tuple(s[i] for s in s_leaves), leaf_coefs)
            new_p.append(p2)
            for k, v in enumerate(s2):
                new_s[k].append(v)
        new_slots = tuple(tree_unflatten(treedef, s) for s in new_s)
        return tree_unflatten(treedef, new_p), _State(t, new_slots)

    return Optimizer(init, update)


# ----- optimizers ------------------------------------------------------------------
def _may_be_nonzero(value: Scalar) -> bool:
    """Whether a term weighted by ``value`` is needed (always, when ``value`` is traced)."""
    return is_traced(value) or value != 0.0


def sgd(
    lr: float | Schedule,
    momentum: float = 0.0,
    nesterov: bool = False,
    clip_norm: float | None = None,
) -> Optimizer:
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    With momentum ``mu``: ``v = mu * v + g``; the step is ``v`` (or
    ``g + mu * v`` with ``nesterov=True``); ``p = p - lr * step``.

    Args:
        lr: learning rate (number or schedule).
        momentum: momentum coefficient in [0, 1).
        nesterov: use Nesterov's look-ahead form (needs momentum > 0).
        clip_norm: if given, clip gradients to this global norm first.

    Example:
        >>> import numpy as np
        >>> from tapeflow import optim
        >>> opt = optim.sgd(0.1, momentum=0.9)
        >>> p, s = opt.update(np.array([1.0]), opt.init(np.array([0.0])), np.array([0.0]))
        >>> p
        array([-0.1])
    """
    if not is_traced(momentum):
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"sgd: momentum must be in [0, 1), got {momentum}")
        if nesterov and momentum == 0.0:
            raise ValueError("sgd: nesterov=True needs momentum > 0")
    mu = _weak(momentum)

    if not _may_be_nonzero(mu):

        def plain_step(g: Any, p: Any, slots: Any, coefs: Any) -> Any:
            (rate,) = coefs
            return p - rate * g, ()

        return _make("sgd", 0, lr, lambda rate, t: (rate,), plain_step, clip_norm)

    def step(g: Any, p: Any, slots: Any, coefs: Any) -> Any:
        mu, rate = coefs
        (v,) = slots
        v = mu * v + g
        direction = g + mu * v if nesterov else v
        return p - rate * direction, (v,)

    return _make("sgd", 1, lr, lambda rate, t: (mu, rate), step, clip_norm)


def adam(
    lr: float | Schedule = 1e-3,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    clip_norm: float | None = None,
) -> Optimizer:
    """Adam with bias-corrected moment estimates (Kingma & Ba).

    ``m = b1 m + (1 - b1) g``; ``v = b2 v + (1 - b2) g^2``;
    ``p = p - lr * m_hat / (sqrt(v_hat) + eps)`` with ``m_hat = m / (1 - b1^t)``,
    ``v_hat = v / (1 - b2^t)``.

    Example:
        >>> import numpy as np
        >>> from tapeflow import optim
        >>> opt = optim.adam(0.1)
        >>> p, s = opt.update(np.array([2.0]), opt.init(np.array([1.0])), np.array([1.0]))
        >>> np.round(p, 6)
        array([0.9])
    """
    return _adam_like("adam", lr, b1, b2, eps, 0.0, clip_norm)


def adamw(
    lr: float | Schedule = 1e-3,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
    clip_norm: float | None = None,
) -> Optimizer:
    """Adam with decoupled weight decay: ``p = p - lr * (adam_step + weight_decay * p)``.

    Example:
        >>> import numpy as np
        >>> from tapeflow import optim
        >>> opt = optim.adamw(0.1, weight_decay=0.5)
        >>> p, s = opt.update(np.array([0.0]), opt.init(np.array([1.0])), np.array([1.0]))
        >>> p
        array([0.95])
    """
    return _adam_like("adamw", lr, b1, b2, eps, weight_decay, clip_norm)


def _adam_like(
    name: str, lr: Any, b1: Scalar, b2: Scalar, eps: Scalar, weight_decay: Scalar, clip_norm: Any
) -> Optimizer:
    b1, b2, eps, weight_decay = _weak(b1), _weak(b2), _weak(eps), _weak(weight_decay)
    decoupled_decay = _may_be_nonzero(weight_decay)

    def coefficients(rate: Scalar, t: Scalar) -> tuple[Scalar, ...]:
        # Both bias corrections folded into the step size and eps (one fewer pass per leaf).
        root_c2 = _sqrt(1.0 - _power(b2, t))
        c1 = 1.0 - _power(b1, t)
        step_size = rate * root_c2 / c1
        return (b1, 1.0 - b1, b2, 1.0 - b2, step_size, eps * root_c2, rate * weight_decay)

    def step(g: Any, p: Any, slots: Any, coefs: Any) -> Any:
        b1, one_minus_b1, b2, one_minus_b2, step_size, eps_hat, decay = coefs
        m, v = slots
        m = b1 * m + one_minus_b1 * g
        v = b2 * v + one_minus_b2 * (g * g)
        new_p = p - step_size * (m / (tnp.sqrt(v) + eps_hat))
        if decoupled_decay:
            new_p = new_p - decay * p
        return new_p, (m, v)

    return _make(name, 2, lr, coefficients, step, clip_norm)


def rmsprop(
    lr: float | Schedule = 1e-3,
    decay: float = 0.9,
    eps: float = 1e-8,
    momentum: float = 0.0,
    clip_norm: float | None = None,
) -> Optimizer:
    """RMSProp: divide by a running root-mean-square of the gradients.

    ``s = decay s + (1 - decay) g^2``; step ``g / (sqrt(s) + eps)``, optionally
    accumulated with momentum: ``b = momentum b + step``; ``p = p - lr b``.

    Example:
        >>> import numpy as np
        >>> from tapeflow import optim
        >>> opt = optim.rmsprop(0.01, decay=0.0)
        >>> p, s = opt.update(np.array([3.0]), opt.init(np.array([1.0])), np.array([1.0]))
        >>> np.round(p, 6)
        array([0.99])
    """
    decay, eps, mu = _weak(decay), _weak(eps), _weak(momentum)
    with_momentum = _may_be_nonzero(mu)

    def step(g: Any, p: Any, slots: Any, coefs: Any) -> Any:
        decay, one_minus_decay, eps, mu, rate = coefs
        s, b = slots
        s = decay * s + one_minus_decay * (g * g)
        direction = g / (tnp.sqrt(s) + eps)
        if with_momentum:
            b = mu * b + direction
            direction = b
        return p - rate * direction, (s, b)

    return _make(
        "rmsprop", 2, lr, lambda rate, t: (decay, 1.0 - decay, eps, mu, rate), step, clip_norm
    )


def adagrad(
    lr: float | Schedule = 1e-2,
    eps: float = 1e-10,
    initial_accumulator: float = 0.0,
    clip_norm: float | None = None,
) -> Optimizer:
    """Adagrad: ``a = a + g^2``; ``p = p - lr * g / (sqrt(a) + eps)``.

    Example:
        >>> import numpy as np
        >>> from tapeflow import optim
        >>> opt = optim.adagrad(0.5)
        >>> p, s = opt.update(np.array([2.0]), opt.init(np.array([1.0])), np.array([1.0]))
        >>> np.round(p, 6)
        array([0.5])
    """
    eps = _weak(eps)

    def step(g: Any, p: Any, slots: Any, coefs: Any) -> Any:
        eps, rate = coefs
        (a,) = slots
        a = a + g * g
        return p - rate * (g / (tnp.sqrt(a) + eps)), (a,)

    return _make(
        "adagrad",
        1,
        lr,
        lambda rate, t: (eps, rate),
        step,
        clip_norm,
        slot_init=_weak(initial_accumulator),
    )
