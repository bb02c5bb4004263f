"""benchmarks/lab_profile.py: the timeline adds up and the untraced step agrees."""

import json

import numpy as np

import benchmarks.lab_profile as profile
import benchmarks.run as suite


def test_untraced_step_computes_tapeflows_update():
    # (the minimal tape it also times lives in benchmarks/run.py: tests/test_benchmark_suite.py)
    x, y = suite.mnist_batch(16, np.float32)
    params = suite.init_mlp([784, 32, 10], np.float32)
    want = suite.sgd_step_tapeflow(params, x, y, "sigmoid", profile.LR)
    got = profile.untraced_step(params, x, y)
    for (w, b), (w2, b2) in zip(want, got, strict=True):
        np.testing.assert_allclose(w2, w, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(b2, b, rtol=1e-6, atol=1e-7)


def test_timeline_parts_add_up_to_the_step_and_wrappers_are_removed(tmp_path):
    from tapeflow.core.primitive import registered_primitives

    before = {name: (p.impl, p.vjps) for name, p in registered_primitives().items()}
    out = tmp_path / "profile.json"
    # (the test process keeps its allocator's defaults)
    assert profile.main(["--steps", "3", "--json", str(out), "--default-allocator"]) == 0
    result = json.loads(out.read_text())
    parts = result["timeline_us"]
    assert parts["numpy"] > 0 and parts["rules"] > 0 and parts["bookkeeping"] > 0
    # Each step's parts tile it: no part is missing or counted twice (a float sum's rounding).
    assert result["unaccounted_us"] < 1e-6 * parts["step"]
    assert result["bytecodes"]["totals"]["tapeflow"] > result["bytecodes"]["totals"]["minimal tape"]
    assert set(result["steps_ms"]) == {
        "numpy (hand-written)",
        "tapeflow's numpy calls, untraced",
        "minimal tape",
        "tapeflow",
        "tapeflow jit",
    }
    totals = result["bytecodes"]["totals"]
    assert totals["tapeflow jit"] < totals["tapeflow"]
    after = {name: (p.impl, p.vjps) for name, p in registered_primitives().items()}
    assert after == before


def test_bytecode_count_puts_back_the_previous_tracer():
    import sys

    def tracer(frame, event, arg):
        return None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        counts = profile.count_bytecodes(lambda: sum(range(3)))
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(previous)
    assert sum(counts.values()) > 0
