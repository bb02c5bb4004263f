"""tapeflow.nn.threads: kernels split over the batch give the same bits as on one thread."""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow.nn import threads


@pytest.fixture
def split_everything(monkeypatch):
    """Kernels split even tiny arrays, over three threads (more than this machine's cores)."""
    before = threads.get_threads()
    monkeypatch.setattr(threads, "MIN_ELEMENTS", 1)
    threads.set_threads(3)
    yield
    threads.set_threads(before)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 64])
def test_slices_cover_the_batch_once(split_everything, n):
    seen = np.zeros(n, int)
    slices = []

    def kernel(s):
        seen[s] += 1
        slices.append(s)

    threads.over_batch(kernel, n, 10**6)
    assert (seen == 1).all()
    assert len(slices) == min(3, n)


def test_one_thread_runs_on_the_caller():
    before = threads.get_threads()
    threads.set_threads(1)
    try:
        callers = []
        threads.over_batch(lambda s: callers.append((s, threading.current_thread())), 64, 10**8)
        assert callers == [(slice(0, 64), threading.current_thread())]
    finally:
        threads.set_threads(before)


def test_an_error_in_any_slice_is_raised_after_every_slice_ends(split_everything):
    finished = []

    def kernel(s):
        if s.start == 0:
            raise ValueError("first slice")
        finished.append(s)

    with pytest.raises(ValueError, match="first slice"):
        threads.over_batch(kernel, 9, 10**6)
    assert len(finished) == 2

    def late(s):
        if s.start != 0:
            raise KeyError("a worker's slice")

    with pytest.raises(KeyError, match="a worker's slice"):
        threads.over_batch(late, 9, 10**6)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_set_threads_refuses_what_is_not_a_count(bad):
    with pytest.raises(ValueError, match="an int >= 1"):
        threads.set_threads(bad)


def _cnn_loss(params, x):
    w1, b1, w2 = params
    h = tp.nn.max_pool2d(tp.nn.relu(tp.nn.conv2d(x, w1, b1, padding="SAME")))
    h = tp.nn.conv2d(h, w2, padding=1, stride=2)
    return tnp.sum(tp.nn.relu(h) ** 2)


def _cnn_case(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3, 8, 8)).astype(dtype)
    x[:, :, ::2, ::2] = x[:, :, 1::2, 1::2]  # tied maxima in some windows
    params = [rng.standard_normal(s).astype(dtype) for s in ((4, 3, 3, 3), (4,), (6, 4, 3, 3))]
    return params, x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("compiled", [False, True])
def test_split_kernels_match_one_thread_bit_for_bit(monkeypatch, dtype, compiled):
    params, x = _cnn_case(dtype)
    value_and_grad = tp.value_and_grad(_cnn_loss)
    if compiled:
        value_and_grad = tp.jit(value_and_grad)
    before = threads.get_threads()
    try:
        threads.set_threads(1)
        loss1, grads1 = value_and_grad(params, x)
        monkeypatch.setattr(threads, "MIN_ELEMENTS", 1)
        threads.set_threads(3)
        loss3, grads3 = value_and_grad(params, x)
    finally:
        threads.set_threads(before)
    assert loss1.tobytes() == loss3.tobytes()
    for a, b in zip(grads1, grads3, strict=True):
        assert a.dtype == b.dtype == dtype
        assert a.tobytes() == b.tobytes()


def test_split_kernels_still_match_finite_differences(split_everything):
    params, x = _cnn_case(np.float64)
    tp.testing.check_grads(
        lambda w: _cnn_loss([w, *params[1:]], x), (params[0],), order=2, modes=("rev", "fwd")
    )


def test_the_thread_count_comes_from_the_environment():
    code = "from tapeflow.nn import threads; print(threads.get_threads())"
    env = {**os.environ, "TAPEFLOW_NUM_THREADS": "5", "OMP_NUM_THREADS": "2"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "5", out.stderr
    env.pop("TAPEFLOW_NUM_THREADS")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "2", out.stderr


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_a_forked_child_gets_threads_of_its_own(split_everything):
    threads.over_batch(lambda s: None, 8, 10**6)  # the parent's pool is running
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the parent's worker threads do not exist here
        try:
            out = np.zeros(8)
            threads.over_batch(lambda s: out.__setitem__(s, 1.0), 8, 10**6)
            os.write(write, str(out.sum()).encode())
        finally:
            os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    assert os.read(read, 100) == b"8.0"
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_kernel_inside_another_kernels_slice_runs_whole_there(split_everything):
    out = np.zeros((6, 4))

    def outer(s):
        rows = out[s]
        threads.over_batch(lambda t: rows.__setitem__(t, rows[t] + 1.0), len(rows), 10**6)

    worker = threading.Thread(target=threads.over_batch, args=(outer, 6, 10**6), daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "a kernel nested in another kernel's slice deadlocked"
    assert (out == 1.0).all()
