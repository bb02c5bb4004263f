"""End to end on the real MNIST files: one epoch of training, accuracy on the 10k test set.

Uses the copy shipped in benchmarks/data/mnist (no network). The whole module
takes about 20 s of CPU on one core.
"""

import io
import json

import numpy as np
import pytest

import tapeflow as tp
from benchmarks import mnist as job


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    # Small matrices: one thread is as fast, and it cannot collapse on a busy machine.
    before = job.get_blas_threads()
    job.set_blas_threads(1)
    yield
    if before is not None:
        job.set_blas_threads(before)


@pytest.fixture(scope="module")
def flat_data():
    return job.load_data(None, "flat", np.float32)


def test_data_split_is_the_real_mnist(flat_data):
    assert flat_data["x_train"].shape == (55000, 784) and flat_data["x_train"].dtype == np.float32
    assert flat_data["x_val"].shape == (5000, 784)
    assert flat_data["x_test"].shape == (10000, 784)
    assert 0.0 <= flat_data["x_train"].min() and flat_data["x_train"].max() == 1.0
    assert flat_data["y_test"][:5].tolist() == [7, 2, 1, 0, 4]


def test_lab_network_one_epoch_reaches_90_percent(flat_data):
    quiet = job.Progress(1, 1, quiet=True)
    result = job.train("lab-mlp", epochs=1, data=flat_data, progress=quiet)
    assert result["test_accuracy"] >= 0.90, result["test_accuracy"]
    assert all(p.dtype == np.float32 for p in tp.tree_util.tree_leaves(result["params"]))


def test_relu_mlp_with_adam_one_epoch_reaches_95_percent(flat_data):
    quiet = job.Progress(1, 1, quiet=True)
    result = job.train("mlp", epochs=1, data=flat_data, progress=quiet)
    assert result["optimizer"] == "adam"
    assert result["test_accuracy"] >= 0.95, result["test_accuracy"]


def test_same_seed_same_result_bit_for_bit(flat_data):
    quiet = job.Progress(1, 1, quiet=True)
    runs = [
        job.train("lab-mlp", epochs=1, max_batches=40, seed=s, data=flat_data, progress=quiet)
        for s in (3, 3, 4)
    ]
    a, b, c = (tp.tree_util.tree_leaves(r["params"]) for r in runs)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert runs[0]["test_accuracy"] == runs[1]["test_accuracy"]
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))


def test_command_line_outputs(tmp_path, capsys):
    out_json, out_params = tmp_path / "r.json", tmp_path / "p.npz"
    code = job.main(
        [
            "--epochs",
            "2",
            "--max-batches",
            "5",
            "--json",
            str(out_json),
            "--save",
            str(out_params),
            "--threads",
            "0",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    # Not a terminal: one line per epoch, then the summary.
    assert printed.count("\nepoch ") == 2 and "\r" not in printed
    assert "test accuracy" in printed and "examples/s" in printed
    results = json.loads(out_json.read_text())
    assert results["model"] == "lab-mlp" and len(results["history"]) == 2
    assert 0.0 < results["test_accuracy"] <= 1.0 and results["examples_per_s"] > 0
    init, _ = job.MODELS["lab-mlp"]["build"]()
    like = init(np.random.default_rng(0), (-1, 784))[1]
    loaded = tp.load_params(out_params, like=like)
    assert loaded[0][0].shape == (784, 256)


def test_progress_on_a_terminal_rewrites_one_line():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    progress = job.Progress(1, 3, stream=stream)
    for i in range(3):
        progress.batch(1, i, 0.5, 128 * (i + 1), 0.01 * (i + 1))
    progress.epoch(1, 0.5, 0.9, 0.03, 12800.0)
    text = stream.getvalue()
    assert text.startswith("\repoch 1/1 [") and "loss 0.5000" in text and "examples/s" in text
    assert text.endswith("val acc 90.00%  0.0s  12,800 examples/s\n")


def test_plot_without_matplotlib_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setattr(job, "check_matplotlib", lambda: None)
    with pytest.raises(SystemExit):
        job.main(["--plot", "curves.png"])
    assert "needs matplotlib" in capsys.readouterr().err


def test_random_shift_moves_whole_images_and_fills_zeros():
    x = np.arange(2 * 1 * 5 * 5, dtype=np.float32).reshape(2, 1, 5, 5) + 1
    rng = np.random.default_rng(0)
    y = job.random_shift(x, rng, 2)
    assert y.shape == x.shape and y.dtype == np.float32
    for img, out in zip(x[:, 0], y[:, 0], strict=True):
        # The shifted image is a window of the zero-padded original.
        padded = np.pad(img, 2)
        assert any(
            np.array_equal(out, padded[i : i + 5, j : j + 5]) for i in range(5) for j in range(5)
        )
    again = job.random_shift(x, np.random.default_rng(0), 2)
    np.testing.assert_array_equal(y, again)


def test_plot_option_draws_both_curves(tmp_path, monkeypatch):
    drawn = []

    class Axes:
        def plot(self, xs, ys, **kwargs):
            drawn.append((list(xs), list(ys)))

        def set_xlabel(self, text):
            pass

        def set_ylabel(self, text):
            pass

    class Figure:
        def suptitle(self, text):
            drawn.append(text)

        def tight_layout(self):
            pass

        def savefig(self, path):
            open(path, "w").write("png")

    class PyPlot:
        def subplots(self, rows, cols, figsize):
            return Figure(), (Axes(), Axes())

        def close(self, fig):
            pass

    monkeypatch.setattr(job, "check_matplotlib", lambda: PyPlot())
    out = tmp_path / "curves.png"
    args = ["--epochs", "2", "--max-batches", "3", "--plot", str(out), "--quiet", "--threads", "0"]
    assert job.main(args) == 0
    assert out.exists()
    assert drawn[0][0] == [1, 2] and drawn[1][0] == [1, 2] and "test accuracy" in drawn[2]


def test_quiet_prints_nothing_but_the_summary(capsys):
    assert job.main(["--epochs", "1", "--max-batches", "2", "--quiet", "--threads", "0"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("test accuracy"), captured.out
    assert captured.err == ""


def test_piped_progress_prints_plain_lines_with_the_time_left(capsys):
    args = ["--epochs", "2", "--max-batches", "3", "--progress-every", "0", "--threads", "0"]
    assert job.main(args) == 0
    printed = capsys.readouterr().out
    assert "\r" not in printed
    for epoch in (1, 2):
        for batch in (1, 2, 3):
            assert f"  batch {batch}/3 of epoch {epoch}/2  loss " in printed
    assert printed.count(" left\n") == 6 and "~0s left" in printed


def test_the_time_left_counts_the_batches_to_go():
    progress = job.Progress(2, 10, stream=io.StringIO())
    assert progress.left(1, 4, elapsed=5.0) == 15 * 1.0  # 5 batches in 5 s, 15 to go
    progress.epoch(1, 0.5, 0.9, 10.0, 1.0)  # the first epoch took 10 s in all
    assert progress.left(2, 9, elapsed=10.0) == 0.0


def test_ctrl_c_stops_after_the_batch_and_prints_the_results_so_far():
    import signal
    import subprocess
    import sys
    from pathlib import Path

    script = Path(job.__file__)
    args = ["--epochs", "50", "--progress-every", "0", "--threads", "1"]
    proc = subprocess.Popen(
        [sys.executable, str(script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # wait until training runs (progress lines flush at once)
            if line.startswith("  batch 3/"):
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "stopped by Ctrl-C in epoch 1" in err
    assert "epoch 1/50  train loss" in out and "test accuracy" in out
    assert "epoch 2/50" not in out
