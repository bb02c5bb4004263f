"""Threads, exceptions, interrupts and memory: tapeflow never leaves state behind."""

from __future__ import annotations

import gc
import threading
import tracemalloc
import weakref

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow.core.trace import active_traces
from tapeflow.core.tracer import Tracer

# ----- threads -------------------------------------------------------------------


def _functions():
    return [
        lambda x: tnp.sum(tnp.sin(x) * tnp.exp(x)),
        lambda x: tnp.sum(tnp.tanh(x @ x.T)),
        lambda x: tnp.max(x * x) + tnp.mean(x),
        lambda x: tnp.sum(tp.grad(lambda y: tnp.sum(y**3))(x) * x),
    ]


def test_eight_threads_match_single_threaded_results_bit_for_bit():
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((4, 4)) for _ in range(8)]
    funcs = _functions()
    expected = [tp.grad(funcs[i % len(funcs)])(xs[i]) for i in range(8)]
    failures: list[str] = []

    def worker(i: int) -> None:
        f = tp.grad(funcs[i % len(funcs)])
        for _ in range(200):
            g = f(xs[i])
            if not np.array_equal(g, expected[i]):
                failures.append(f"thread {i} differs")
                return
        if active_traces():
            failures.append(f"thread {i} left a trace behind")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures


# ----- exceptions ------------------------------------------------------------------


class Boom(Exception):
    pass


def _works_afterwards():
    assert active_traces() == ()
    assert tp.grad(lambda x: x * x)(3.0) == 6.0


def test_exception_in_the_differentiated_function():
    def f(x):
        tnp.sin(x)
        raise Boom

    with pytest.raises(Boom):
        tp.grad(f)(1.0)
    _works_afterwards()


def test_exception_in_a_vjp_rule():
    bad = tp.primitive(lambda x: x * 2.0, name="_test_bad_rule")

    def rule(ans, x):
        def vjp(g):
            raise Boom

        return vjp

    tp.defvjp(bad, rule)
    with pytest.raises(Boom):
        tp.grad(lambda x: bad(x) * 3.0)(1.0)
    _works_afterwards()


def test_exception_in_nested_transforms():
    def inner(y):
        raise Boom

    def outer(x):
        return tp.grad(inner)(x) * x

    with pytest.raises(Boom):
        tp.grad(tp.grad(outer))(1.0)
    _works_afterwards()
    with pytest.raises(Boom):
        tp.jvp(lambda x: tp.grad(inner)(x), (1.0,), (1.0,))
    _works_afterwards()


def test_keyboard_interrupt_mid_backward_leaves_library_usable():
    calls = {"n": 0}
    interrupting = tp.primitive(lambda x: x + 0.0, name="_test_interrupting")

    def rule(ans, x):
        def vjp(g):
            calls["n"] += 1
            raise KeyboardInterrupt

        return vjp

    tp.defvjp(interrupting, rule)
    with pytest.raises(KeyboardInterrupt):
        tp.grad(lambda x: tnp.sum(interrupting(tnp.sin(x))))(np.ones(3))
    assert calls["n"] == 1
    _works_afterwards()


def test_leaked_tracer_is_a_clear_error():
    leaked = []

    def f(x):
        leaked.append(x * 2.0)
        return x * x

    tp.grad(f)(1.0)
    assert type(leaked[0]) is Tracer
    with pytest.raises(RuntimeError, match="escaped"):
        tp.grad(lambda y: y * leaked[0])(2.0)
    _works_afterwards()


# ----- memory --------------------------------------------------------------------


def _mlp_step(params, x, y):
    def loss(p):
        h = tnp.tanh(x @ p["w1"] + p["b1"])
        out = h @ p["w2"] + p["b2"]
        return tnp.mean((out - y) ** 2)

    g = tp.grad(loss)(params)
    return {k: params[k] - 0.01 * g[k] for k in params}


def _small_mlp():
    rng = np.random.default_rng(0)
    params = {
        "w1": rng.standard_normal((16, 32)) * 0.1,
        "b1": np.zeros(32),
        "w2": rng.standard_normal((32, 4)) * 0.1,
        "b2": np.zeros(4),
    }
    return params, rng.standard_normal((8, 16)), rng.standard_normal((8, 4))


def test_two_thousand_training_steps_do_not_grow_memory():
    params, x, y = _small_mlp()
    for _ in range(20):  # warm caches (rule closures, numpy internals)
        params = _mlp_step(params, x, y)
    tracemalloc.start()
    try:
        # A full collection empties CPython's object free lists, which otherwise hold
        # a bounded number of recycled blocks; what remains is really live.
        gc.collect()
        baseline = tracemalloc.get_traced_memory()[0]
        levels = []
        for step in range(1, 2001):
            params = _mlp_step(params, x, y)
            assert not active_traces()
            if step % 100 == 0:
                gc.collect()
                levels.append(tracemalloc.get_traced_memory()[0] - baseline)
    finally:
        tracemalloc.stop()
    # The live set after a step is the parameters (a few KB); it must not creep up.
    assert max(levels) < 32 * 1024, levels
    assert max(levels[5:]) - levels[4] < 1024, f"memory crept up: {levels}"


def test_no_traced_array_survives_its_transform():
    refs = []

    def f(x):
        y = tnp.sin(x) * 2.0
        refs.append(weakref.ref(y))
        refs.append(weakref.ref(x))
        return tnp.sum(y)

    tp.grad(f)(np.ones(3))
    assert all(r() is None for r in refs)


def test_memory_is_reclaimed_without_the_garbage_collector():
    params, x, y = _small_mlp()
    big = np.ones((512, 512))
    refs = []

    def f(w):
        h = tnp.tanh(big * w)
        refs.append(weakref.ref(h))
        return tnp.sum(h)

    gc.disable()
    try:
        for _ in range(5):
            tp.grad(f)(np.float64(0.5))
            params = _mlp_step(params, x, y)
        assert all(r() is None for r in refs), "a reference cycle kept a traced array alive"
    finally:
        gc.enable()


def test_backward_releases_records_as_it_goes():
    sizes = []

    def f(x):
        for _ in range(10):
            x = tnp.sin(x)
        return tnp.sum(x)

    # the tape of a grad call is empty after the backward pass
    from tapeflow.core import tape

    original = tape.backward

    def spy(tape, seeds, retain=False):
        out = original(tape, seeds, retain)
        sizes.append(sum(r is not None for r in tape.records))
        return out

    tape.backward = spy
    try:
        tp.grad(f)(np.ones(4))
    finally:
        tape.backward = original
    assert sizes == [0]


def _recorded(f, args, argnums):
    """(answer, argument values) that the tape kept for the last operation of ``f``."""
    seen = []

    def spy(*xs):
        out = f(*xs)
        seen.append(active_traces()[-1].records[-1])
        return tnp.sum(out)

    tp.grad(spy, argnums=argnums)(*args)
    _, ans, vals, _, _ = seen[0]
    return ans, vals


def test_the_tape_keeps_only_what_the_traced_arguments_rules_read():
    from tapeflow.core.tape import ShapeDtype

    x, w = np.linspace(0.0, 1.0, 4096), np.full(4096, 3.0)
    # x * w: the rule for x reads w and the rule for w reads x
    _, (x_kept, w_kept) = _recorded(lambda x, w: x * w, (x, w), 0)
    assert isinstance(x_kept, ShapeDtype) and x_kept.shape == x.shape and w_kept is w
    _, (x_kept, w_kept) = _recorded(lambda x, w: x * w, (x, w), 1)
    assert x_kept is x and isinstance(w_kept, ShapeDtype)
    ans, (x_kept, w_kept) = _recorded(lambda x, w: x * w, (x, w), (0, 1))
    assert x_kept is x and w_kept is w and isinstance(ans, ShapeDtype)
    m = w.reshape(64, 64)
    ans, (a_kept, b_kept) = _recorded(lambda a, b: a @ b, (m, m.T), (0, 1))
    assert a_kept is m and isinstance(ans, ShapeDtype)
    # x / w: only the rule for w reads the answer
    ans, _ = _recorded(lambda x, w: x / w, (x, w), 0)
    assert isinstance(ans, ShapeDtype) and ans.dtype == np.float64
    ans, _ = _recorded(lambda x, w: x / w, (x, w), 1)
    assert type(ans) is np.ndarray
    # small arrays are kept whole: a stand-in would cost more than it frees
    _, (x_kept, _) = _recorded(lambda x, w: x * w, (x[:8], w[:8]), 0)
    assert type(x_kept) is np.ndarray


def test_a_dropped_value_shares_the_stand_in_its_own_record_made():
    from tapeflow.core.tape import ShapeDtype

    seen = []

    def f(x):
        y = x * 2.0
        z = y * 3.0  # the rule for y reads 3.0: y is dropped, as it was from its own record
        seen.append(active_traces()[-1].records[-2:])
        return tnp.sum(z)

    x = np.linspace(0.0, 1.0, 4096)
    np.testing.assert_array_equal(tp.grad(f)(x), np.full(4096, 6.0))
    (_, y_kept, _, _, _), (_, _, (y_in_z, three), _, _) = seen[0]
    assert isinstance(y_kept, ShapeDtype) and y_in_z is y_kept and three == 3.0


def test_under_forward_mode_the_tape_drops_the_outer_tracers_its_rules_do_not_read():
    from tapeflow.core.tape import ShapeDtype

    def recorded(n):
        x, w = np.linspace(0.0, 1.0, n), np.full(n, 3.0)
        seen = []

        def f(x):
            out = tnp.sin(x) * w
            seen.append(active_traces()[-1].records[-2:])
            return tnp.sum(out)

        # hvp: the tape's values are forward-mode tracers (a primal and a tangent each)
        tp.jvp(tp.grad(f), (x,), (np.ones(n),))
        (_, sin_ans, (sin_x,), _, _), (_, mul_ans, (mul_x, mul_w), _, _) = seen[0]
        assert type(sin_x) is Tracer  # cos(x) reads x
        assert mul_w is w
        return sin_ans, mul_ans, mul_x

    sin_ans, mul_ans, mul_x = recorded(4096)
    assert isinstance(sin_ans, ShapeDtype) and sin_ans.shape == (4096,)
    assert isinstance(mul_ans, ShapeDtype) and mul_x is sin_ans  # shared, as for arrays
    # small ones are kept whole, as small arrays are: a stand-in would cost more than it frees
    assert all(type(v) is Tracer for v in recorded(16))


def test_an_elementwise_chain_keeps_one_array_per_step_like_backprop_by_hand():
    def chain(x):
        for _ in range(20):
            x = tnp.sin(x * 1.0001 + 0.001)
        return tnp.sum(x)

    x = np.linspace(0.1, 0.9, 100_000)  # 0.8 MB per array
    tp.grad(chain)(x)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tp.grad(chain)(x)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    # The backward pass needs each sin's input (20 arrays, plus a few in flight). When the
    # tape also kept the multiplications' inputs and the sines' answers, this was 41.
    assert peak < 26 * x.nbytes, peak / x.nbytes


# ----- the cyclic garbage collector is paused while transforms run ---------------------
def test_gc_is_paused_inside_a_transform_and_restored_after():
    seen = []

    def f(x):
        seen.append(gc.isenabled())
        return tnp.sum(x * x)

    assert gc.isenabled()
    tp.grad(f)(np.ones(3))
    tp.jvp(f, (np.ones(3),), (np.ones(3),))
    assert seen == [False, False]
    assert gc.isenabled()


def test_gc_is_restored_when_the_function_raises():
    def f(x):
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        tp.grad(f)(1.0)
    assert gc.isenabled()


def test_gc_disabled_by_the_program_stays_disabled():
    gc.disable()
    try:
        tp.grad(lambda x: x * x)(1.0)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_gc_stays_paused_until_the_last_thread_leaves_its_transform():
    inside, release = threading.Event(), threading.Event()

    def slow(x):
        inside.set()
        release.wait(10)
        return x * x

    worker = threading.Thread(target=lambda: tp.grad(slow)(1.0))
    worker.start()
    assert inside.wait(10)
    tp.grad(lambda x: x * x)(1.0)  # ends while the worker is still inside its transform
    assert not gc.isenabled()
    release.set()
    worker.join(10)
    assert gc.isenabled()


def test_cyclic_garbage_made_inside_a_transform_is_collected_afterwards():
    class Node:
        pass

    refs = []

    def f(x):
        a, b = Node(), Node()
        a.other, b.other = b, a  # a reference cycle: only the collector frees it
        refs.append(weakref.ref(a))
        return x * x

    tp.grad(f)(1.0)
    gc.collect()
    assert refs[0]() is None
