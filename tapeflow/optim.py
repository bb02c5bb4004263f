"""Optimizers as pure ``(init, update)`` pairs over pytrees, and learning-rate schedules.

``opt = sgd(0.1)``; ``state = opt.init(params)``; then each step
``params, state = opt.update(grads, state, params)``. Nothing is modified in
place: ``update`` returns new arrays and leaves the caller's ``params``,
``grads`` and ``state`` untouched. Each parameter keeps its dtype (float32
parameters get float32 updates: hyperparameters enter as Python floats).

A learning rate may be a number or a schedule: a function of the step count
(0 for the first update) returning a number, such as :func:`cosine_decay`.

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

from tapeflow.core.pytree import tree_flatten, tree_leaves, tree_map, tree_structure, tree_unflatten

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

Schedule = Callable[[int], float]


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


# ----- learning-rate schedules -------------------------------------------------
def constant(value: float) -> Schedule:
    """The schedule that is always ``value``.

    Example:
        >>> from tapeflow import optim
        >>> optim.constant(0.1)(1000)
        0.1
    """
    value = float(value)
    return lambda step: value


def step_decay(init_value: float, decay_rate: float, step_size: int) -> Schedule:
    """``init_value * decay_rate ** (step // step_size)``: a drop every ``step_size`` steps.

    Example:
        >>> from tapeflow import optim
        >>> s = optim.step_decay(1.0, 0.5, 10)
        >>> s(0), s(10), s(25)
        (1.0, 0.5, 0.25)
    """
    if step_size < 1:
        raise ValueError(f"step_decay: step_size must be >= 1, got {step_size}")
    return lambda step: float(init_value) * float(decay_rate) ** (int(step) // int(step_size))


def cosine_decay(init_value: float, decay_steps: int, alpha: float = 0.0) -> Schedule:
    """Cosine decay from ``init_value`` to ``alpha * init_value`` over ``decay_steps``, then flat.

    Example:
        >>> from tapeflow import optim
        >>> s = optim.cosine_decay(1.0, 100)
        >>> s(0), round(s(50), 6), s(100), s(500)
        (1.0, 0.5, 0.0, 0.0)
    """
    if decay_steps < 1:
        raise ValueError(f"cosine_decay: decay_steps must be >= 1, got {decay_steps}")

    def schedule(step: int) -> float:
        frac = min(int(step), decay_steps) / decay_steps
        cos = 0.5 * (1.0 + math.cos(math.pi * frac))
        return float(init_value) * ((1.0 - alpha) * cos + alpha)

    return schedule


def warmup(schedule: float | Schedule, warmup_steps: int, init_value: float = 0.0) -> Schedule:
    """Linear warm-up from ``init_value`` over ``warmup_steps``, then ``schedule``.

    The wrapped schedule sees the step count minus ``warmup_steps``.

    Example:
        >>> from tapeflow import optim
        >>> s = optim.warmup(1.0, 4)
        >>> [s(i) for i in range(6)]
        [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    """
    after = _as_schedule(schedule)
    if warmup_steps < 0:
        raise ValueError(f"warmup: warmup_steps must be >= 0, got {warmup_steps}")

    def sched(step: int) -> float:
        step = int(step)
        if step < warmup_steps:
            target = after(0)
            return float(init_value) + (target - float(init_value)) * step / warmup_steps
        return after(step - warmup_steps)

    return sched


def _as_schedule(lr: float | Schedule) -> Schedule:
    if callable(lr):
        return lr
    if isinstance(lr, (int, float, np.floating, np.integer)) and not isinstance(lr, bool):
        return constant(float(lr))
    raise TypeError(
        f"a learning rate must be a number or a schedule function of the step, got {lr!r}"
    )


# ----- gradient clipping ---------------------------------------------------------
def global_norm(tree: Any) -> float:
    """The Euclidean norm of all the leaves of a pytree taken together (a Python float).

    Example:
        >>> import numpy as np
        >>> from tapeflow import optim
        >>> optim.global_norm([np.array([3.0]), np.array([4.0])])
        5.0
    """
    return math.sqrt(sum(float(np.vdot(x, x).real) for x in tree_leaves(tree)))


def clip_by_global_norm(grads: Any, max_norm: float) -> Any:
    """Scale ``grads`` down so that their global norm is at most ``max_norm``.

    Gradients already within the bound come back unchanged (the same objects).

    Example:
        >>> import numpy as np
        >>> from tapeflow import optim
        >>> optim.clip_by_global_norm([np.array([3.0]), np.array([4.0])], 1.0)
        [array([0.6]), array([0.8])]
    """
    if max_norm <= 0:
        raise ValueError(f"clip_by_global_norm: max_norm must be > 0, got {max_norm}")
    norm = global_norm(grads)
    if norm <= max_norm:
        return grads
    scale = max_norm / norm
    return tree_map(lambda g: g * scale, grads)


# ----- shared machinery ------------------------------------------------------------
class _State(NamedTuple):
    """Optimizer state: the step count and per-parameter slot trees (moments...)."""

    step: int
    slots: tuple[Any, ...]


def _check_trees(grads: Any, params: Any, name: str) -> None:
    g_tree, p_tree = tree_structure(grads), tree_structure(params)
    if g_tree != p_tree:
        raise ValueError(
            f"{name}.update: grads have structure {g_tree} but params have structure {p_tree}"
        )


def _make(
    name: str,
    n_slots: int,
    lr: float | Schedule,
    step_fn: Callable[..., tuple[Any, tuple[Any, ...]]],
    clip_norm: float | None,
    slot_init: float = 0.0,
) -> Optimizer:
    """Build an optimizer from a per-leaf rule.

    ``step_fn(g, p, slots, lr, t) -> (new_p, new_slots)`` works on one leaf;
    ``t`` is the 1-based count of this update.
    """
    schedule = _as_schedule(lr)

    def init(params: Any) -> _State:
        slots = tuple(
            tree_map(lambda p: np.full(np.shape(p), slot_init, np.result_type(p)), params)
            for _ in range(n_slots)
        )
        return _State(0, slots)

    def update(grads: Any, state: _State, params: Any) -> tuple[Any, _State]:
        _check_trees(grads, params, name)
        if clip_norm is not None:
            grads = clip_by_global_norm(grads, clip_norm)
        step, slots = state
        rate = float(schedule(step))
        t = step + 1
        p_leaves, treedef = tree_flatten(params)
        g_leaves = tree_leaves(grads)
        s_leaves = [tree_leaves(s) for s in slots]
        new_p: list[Any] = []
        new_s: list[list[Any]] = [[] for _ in slots]
        for i, (g, p) in enumerate(zip(g_leaves, p_leaves, strict=True)):
            dtype = np.result_type(p)
            if getattr(g, "dtype", dtype) != dtype:
                g = np.asarray(g).astype(dtype)
            p2, s2 = step_fn(g, p, tuple(s[i] for s in s_leaves), rate, t)
            new_p.append(p2)
            for k, v in enumerate(s2):
                new_s[k].append(v)
        new_slots = tuple(tree_unflatten(treedef, s) for s in new_s)
        return tree_unflatten(treedef, new_p), _State(t, new_slots)

    return Optimizer(init, update)


# ----- optimizers ------------------------------------------------------------------
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
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"sgd: momentum must be in [0, 1), got {momentum}")
    if nesterov and momentum == 0.0:
        raise ValueError("sgd: nesterov=True needs momentum > 0")
    mu = float(momentum)

    if mu == 0.0:
        return _make("sgd", 0, lr, lambda g, p, s, rate, t: (p - rate * g, ()), clip_norm)

    def step(g: Any, p: Any, slots: Any, rate: float, t: int) -> Any:
        (v,) = slots
        v = mu * v + g
        direction = g + mu * v if nesterov else v
        return p - rate * direction, (v,)

    return _make("sgd", 1, lr, step, clip_norm)


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
    return _adam_like("adamw", lr, b1, b2, eps, float(weight_decay), clip_norm)


def _adam_like(
    name: str, lr: Any, b1: float, b2: float, eps: float, weight_decay: float, clip_norm: Any
) -> Optimizer:
    b1, b2, eps = float(b1), float(b2), float(eps)

    def step(g: Any, p: Any, slots: Any, rate: float, t: int) -> Any:
        m, v = slots
        m = b1 * m + (1.0 - b1) * g
        v = b2 * v + (1.0 - b2) * (g * g)
        # Fold both bias corrections into the step size and eps (one fewer pass).
        c1, c2 = 1.0 - b1**t, 1.0 - b2**t
        step_size = rate * math.sqrt(c2) / c1
        update = m / (np.sqrt(v) + eps * math.sqrt(c2))
        new_p = p - step_size * update
        if weight_decay:
            new_p = new_p - (rate * weight_decay) * p
        return new_p, (m, v)

    return _make(name, 2, lr, step, clip_norm)


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
    decay, eps, mu = float(decay), float(eps), float(momentum)

    def step(g: Any, p: Any, slots: Any, rate: float, t: int) -> Any:
        s, b = slots
        s = decay * s + (1.0 - decay) * (g * g)
        direction = g / (np.sqrt(s) + eps)
        if mu:
            b = mu * b + direction
            direction = b
        return p - rate * direction, (s, b)

    return _make("rmsprop", 2, lr, step, clip_norm)


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
    eps = float(eps)

    def step(g: Any, p: Any, slots: Any, rate: float, t: int) -> Any:
        (a,) = slots
        a = a + g * g
        return p - rate * (g / (np.sqrt(a) + eps)), (a,)

    return _make("adagrad", 1, lr, step, clip_norm, slot_init=float(initial_accumulator))
