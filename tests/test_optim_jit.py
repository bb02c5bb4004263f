"""The whole training step under tp.jit: forward, backward and optimizer update.

One row per optimizer and schedule: 100 compiled steps must give the parameters,
optimizer state and losses of 100 eager steps bit for bit, from one trace. Then
traced hyperparameters, the dtypes inside a compiled float32 update, the schedules
and clipping on traced values, and ``benchmarks/mnist.py --jit`` and its benchmark.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
from benchmarks import jit_step
from benchmarks import mnist as job
from tapeflow import optim
from tapeflow.core.trace import new_trace
from tapeflow.jit import JitTrace

STEPS = 100


def mlp_loss(params, x, y):
    (w1, b1), (w2, b2) = params
    h = tnp.tanh(x @ w1 + b1)
    return tnp.mean((h @ w2 + b2 - y) ** 2)


def make_params(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [
        (rng.standard_normal((5, 8)).astype(dtype), np.zeros(8, dtype)),
        (0.5 * rng.standard_normal((8, 2)).astype(dtype), np.zeros(2, dtype)),
    ]


def make_batches(dtype, n=STEPS, seed=1):
    rng = np.random.default_rng(seed)
    return [
        (rng.standard_normal((16, 5)).astype(dtype), rng.standard_normal((16, 2)).astype(dtype))
        for _ in range(n)
    ]


def make_train_step(opt):
    def train_step(params, opt_state, batch):
        x, y = batch
        loss, grads = tp.value_and_grad(mlp_loss)(params, x, y)
        params, opt_state = opt.update(grads, opt_state, params)
        return params, opt_state, loss

    return train_step


def leaves_equal(a, b):
    la, ta = tp.tree_util.tree_flatten(a)
    lb, tb = tp.tree_util.tree_flatten(b)
    assert ta == tb
    for x, y in zip(la, lb, strict=True):
        assert np.result_type(x) == np.result_type(y)
        np.testing.assert_array_equal(x, y)


# One row per optimizer/schedule combination: (id, optimizer, parameter dtype).
ROWS = [
    ("sgd-constant", lambda: optim.sgd(0.1), np.float32),
    ("sgd-cosine", lambda: optim.sgd(optim.cosine_decay(0.2, 60, alpha=0.1)), np.float32),
    ("momentum-step-decay", lambda: optim.sgd(optim.step_decay(0.1, 0.5, 30), 0.9), np.float32),
    (
        "nesterov-warmup-cosine",
        lambda: optim.sgd(optim.warmup(optim.cosine_decay(0.1, 80), 10), 0.9, nesterov=True),
        np.float32,
    ),
    ("adam-constant", lambda: optim.adam(1e-2), np.float32),
    ("adam-cosine", lambda: optim.adam(optim.cosine_decay(1e-2, STEPS)), np.float32),
    ("adamw-warmup", lambda: optim.adamw(optim.warmup(1e-2, 20, 1e-3), 0.8, 0.99), np.float32),
    ("rmsprop-constant", lambda: optim.rmsprop(1e-3), np.float32),
    (
        "rmsprop-momentum-step-decay",
        lambda: optim.rmsprop(optim.step_decay(1e-3, 0.7, 25), momentum=0.5),
        np.float32,
    ),
    ("adagrad-constant", lambda: optim.adagrad(0.1, initial_accumulator=0.1), np.float32),
    ("sgd-clip", lambda: optim.sgd(0.1, clip_norm=0.5), np.float32),
    (
        "adam-cosine-clip",
        lambda: optim.adam(optim.cosine_decay(1e-2, STEPS), clip_norm=0.5),
        np.float32,
    ),
    ("sgd-own-schedule", lambda: optim.sgd(lambda step: 0.2 / (1.0 + 0.05 * step)), np.float32),
    # float64 parameters: every bit of the float64 scalars shows in the result
    ("sgd-cosine-f64", lambda: optim.sgd(optim.cosine_decay(0.2, 60, alpha=0.1)), np.float64),
    ("momentum-step-decay-f64", lambda: optim.sgd(optim.step_decay(0.1, 0.5, 30), 0.9), np.float64),
    ("adam-cosine-f64", lambda: optim.adam(optim.cosine_decay(1e-2, STEPS)), np.float64),
    ("adamw-warmup-f64", lambda: optim.adamw(optim.warmup(1e-2, 20, 1e-3)), np.float64),
    ("rmsprop-momentum-f64", lambda: optim.rmsprop(1e-3, momentum=0.5), np.float64),
    ("adagrad-clip-f64", lambda: optim.adagrad(0.1, clip_norm=0.5), np.float64),
]


@pytest.mark.parametrize("make_opt, dtype", [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_jitted_training_step_is_bit_identical_to_eager(make_opt, dtype):
    opt = make_opt()
    train_step = make_train_step(opt)
    jitted = tp.jit(train_step)
    params = make_params(dtype)
    eager_params, eager_state = params, opt.init(params)
    jit_params, jit_state = params, opt.init(params)
    for batch in make_batches(dtype):
        eager_params, eager_state, eager_loss = train_step(eager_params, eager_state, batch)
        jit_params, jit_state, jit_loss = jitted(jit_params, jit_state, batch)
        assert jit_loss == eager_loss
    leaves_equal(jit_params, eager_params)
    leaves_equal(jit_state, eager_state)
    assert jitted.trace_count == 1
    assert int(jit_state.step) == STEPS
    assert not np.array_equal(jit_params[0][0], params[0][0])  # it did train


def test_clipping_rows_clip_some_steps_and_not_others():
    # (otherwise the clip rows above would test only one side of the bound)
    opt = optim.sgd(0.1)
    params, state = make_params(np.float32), None
    state = opt.init(params)
    norms = []
    for x, y in make_batches(np.float32):
        grads = tp.grad(mlp_loss)(params, x, y)
        norms.append(optim.global_norm(grads))
        params, state = opt.update(grads, state, params)
    assert min(norms) < 0.5 < max(norms)


def test_traced_hyperparameters_compile_once():
    def train_step(params, opt_state, batch, lr, b1, weight_decay):
        x, y = batch
        opt = optim.adamw(lr, b1=b1, weight_decay=weight_decay, clip_norm=0.5)
        loss, grads = tp.value_and_grad(mlp_loss)(params, x, y)
        params, opt_state = opt.update(grads, opt_state, params)
        return params, opt_state, loss

    jitted = tp.jit(train_step)
    params = make_params(np.float32)
    opt_state = optim.adamw().init(params)
    batches = make_batches(np.float32, 10)
    for hyper in [(1e-2, 0.9, 1e-2), (3e-3, 0.8, 0.0), (np.float64(1e-2), 0.85, 1e-3)]:
        eager_params, eager_state = params, opt_state
        jit_params, jit_state = params, opt_state
        for batch in batches:
            eager_params, eager_state, _ = train_step(eager_params, eager_state, batch, *hyper)
            jit_params, jit_state, _ = jitted(jit_params, jit_state, batch, *hyper)
        leaves_equal(jit_params, eager_params)
        leaves_equal(jit_state, eager_state)
    # (a Python float and a numpy float64 learning rate are two signatures)
    assert jitted.trace_count == 2


@pytest.mark.parametrize(
    "make_opt",
    [
        lambda: optim.sgd(optim.cosine_decay(0.1, 10), momentum=0.9, clip_norm=1.0),
        lambda: optim.adam(optim.warmup(optim.step_decay(1e-2, 0.5, 3), 4)),
        lambda: optim.adamw(1e-2),
        lambda: optim.rmsprop(1e-3, momentum=0.5),
        lambda: optim.adagrad(0.1),
    ],
    ids=["momentum", "adam", "adamw", "rmsprop", "adagrad"],
)
def test_no_float64_array_in_a_compiled_float32_update(make_opt):
    # The scalars are computed in float64; every array the update computes stays float32.
    opt = make_opt()
    params = make_params(np.float32)
    grads = tp.grad(mlp_loss)(params, *make_batches(np.float32, 1)[0])
    state = opt.init(params)
    with new_trace(JitTrace) as trace:
        traced = tp.tree_util.tree_map(trace.new_input, (grads, state, params))
        opt.update(*traced)
    array_dtypes = {dtype for shape, dtype in trace.meta.values() if shape}
    assert array_dtypes == {np.dtype(np.float32)}


def test_gradient_through_updates_with_respect_to_the_learning_rate():
    # The other transforms trace hyperparameters too: here reverse mode, through five
    # updates with a warm-up, a cosine decay, momentum and clipping.
    p0, g = np.array([1.0, -2.0]), np.array([0.5, 0.25])

    def after_five_steps(lr):
        opt = optim.sgd(optim.warmup(optim.cosine_decay(lr, 10), 3), 0.9, clip_norm=0.3)
        p, state = p0, opt.init(p0)
        for _ in range(5):
            p, state = opt.update(g, state, p)
        return tnp.sum(p**2)

    h = 1e-6
    by_differences = (after_five_steps(0.1 + h) - after_five_steps(0.1 - h)) / (2 * h)
    np.testing.assert_allclose(tp.grad(after_five_steps)(0.1), by_differences, rtol=1e-6)


def test_schedules_on_traced_steps_match_eager():
    schedules = {
        "constant": optim.constant(0.3),
        "step_decay": optim.step_decay(1.0, 0.1, 7),
        "cosine_decay": optim.cosine_decay(2.0, 30, alpha=0.1),
        "warmup": optim.warmup(optim.cosine_decay(1.0, 20), 5, init_value=0.1),
        "warmup-number": optim.warmup(0.5, 3),
    }
    for name, schedule in schedules.items():
        compiled = tp.jit(schedule)
        for step in range(40):
            eager = schedule(step)
            assert type(eager) is float, name  # eager schedules still give Python floats
            assert float(compiled(np.int64(step))) == eager, (name, step)
        assert compiled.trace_count == 1


def test_schedule_values_are_traced_too():
    # init_value and alpha as arguments of the compiled function
    f = tp.jit(lambda step, top, alpha: optim.cosine_decay(top, 10, alpha)(step))
    assert float(f(np.int64(5), 2.0, 0.1)) == optim.cosine_decay(2.0, 10, 0.1)(5)
    assert math.isclose(float(f(np.int64(10), 3.0, 0.5)), 1.5)
    assert f.trace_count == 1


def test_global_norm_and_clipping_on_traced_values():
    rng = np.random.default_rng(0)
    grads = {"a": rng.standard_normal((30, 7)).astype(np.float32), "b": np.float32(3.0)}
    norm = tp.jit(optim.global_norm)
    assert float(norm(grads)) == optim.global_norm(grads)
    clip = tp.jit(optim.clip_by_global_norm)
    for max_norm in (0.5, 1e3):  # clipped, then within the bound
        leaves_equal(clip(grads, max_norm), optim.clip_by_global_norm(grads, max_norm))
    assert clip.trace_count == 1
    # a traced gradient of a loss, clipped: float32 in, float32 out
    clipped = tp.jit(lambda g: optim.clip_by_global_norm(g, 1.0))(grads)
    assert clipped["a"].dtype == np.float32


def test_global_norm_is_differentiable():
    x = np.array([3.0, 4.0])
    np.testing.assert_allclose(tp.grad(lambda v: optim.global_norm([v]))(x), x / 5.0)


def test_numpy_float64_max_norm_keeps_float32_gradients():
    grads = [np.full(4, 2.0, np.float32)]
    assert optim.clip_by_global_norm(grads, np.float64(1.0))[0].dtype == np.float32


# ----- the MNIST job and its benchmark ------------------------------------------------
@pytest.fixture(scope="module")
def small_flat_data():
    rng = np.random.default_rng(0)

    def images(n):
        return rng.random((n, 784), dtype=np.float32)

    return {
        "x_train": images(96),
        "y_train": rng.integers(0, 10, 96),
        "x_val": images(20),
        "y_val": rng.integers(0, 10, 20),
        "x_test": images(20),
        "y_test": rng.integers(0, 10, 20),
    }


@pytest.mark.parametrize("model, optimizer", [("lab-mlp", "momentum"), ("mlp", "adamw")])
def test_mnist_job_compiled_steps_train_like_eager(small_flat_data, model, optimizer):
    quiet = job.Progress(1, 1, quiet=True)
    runs = {
        mode: job.train(
            model,
            epochs=2,
            batch_size=32,
            optimizer=optimizer,
            schedule="cosine",
            data=small_flat_data,
            progress=quiet,
            jit=mode,
        )
        for mode in (False, "grad", "step")
    }
    for mode in ("grad", "step"):
        leaves_equal(runs[mode]["params"], runs[False]["params"])
        assert runs[mode]["jit"] == mode and runs[mode]["jit_traces"] == 1
    assert runs[False]["jit"] is None and runs[False]["jit_traces"] is None


def test_mnist_job_says_what_jit_compiles(capsys):
    # (not --quiet, which prints only the final summary)
    assert job.main(["--epochs", "1", "--max-batches", "2", "--jit"]) == 0
    printed = capsys.readouterr().out
    assert "jit: the whole training step (forward, backward, optimizer update)" in printed
    assert "traced 1 time(s)" in printed
    assert job.main(["--epochs", "1", "--max-batches", "2", "--jit", "grad"]) == 0
    assert "value_and_grad compiled with tp.jit, the optimizer update run eagerly" in (
        capsys.readouterr().out
    )


def test_jit_step_benchmark_checks_its_variants_agree(small_flat_data):
    row = jit_step.bench("lab-mlp, adam + cosine, batch 16", 2, 2, small_flat_data)
    assert row["same_as_eager"] == {v: True for v in jit_step.VARIANTS}
    assert row["traces"] == {"jit value_and_grad": 1, "jit whole step": 1}
    assert set(row["ms_per_step"]) == set(jit_step.VARIANTS)
    table = jit_step.markdown([row])
    assert "| lab-mlp, adam + cosine, batch 16 |" in table and table.rstrip().endswith("| yes |")
