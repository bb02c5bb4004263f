"""tp.debug_nans: the first primitive or rule that makes a NaN/inf from finite values raises.

Each case marks the line the error must name with ``# <- here``; the table runs every
transform (eager, grad, jvp, vmap, jit, jit of grad, hessian).
"""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow.core.primitive import get_primitive
from tapeflow.core.tape import Tape

# numpy's own warnings (divide by zero ...) come before the errors this file expects.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _sqrt_loss(x):
    y = tnp.sqrt(x)  # <- here
    return tnp.sum(y * 2.0)


def _log_shifted(x):
    return tnp.log(x - 1.0)  # <- here


def _where_trap(x):
    safe = tnp.where(x > 0, tnp.log(x), 0.0)  # <- here
    return tnp.sum(safe)


def _line_of(fun):
    lines, start = inspect.getsourcelines(fun)
    return start + next(i for i, line in enumerate(lines) if "# <- here" in line)


X = np.array([0.0, 1.0])
CASES = [
    # (id, call, what the message says, function whose marked line is named)
    ("eager", lambda: _log_shifted(X), "'log' returned nan and -inf (2 of 2", _log_shifted),
    ("where-trap", lambda: _where_trap(X), "'log' returned -inf (1 of 2", _where_trap),
    ("grad", lambda: tp.grad(_sqrt_loss)(X), "reverse-mode (VJP) rule of 'sqrt'", _sqrt_loss),
    (
        "jvp",
        lambda: tp.jvp(_sqrt_loss, (X,), (np.ones(2),)),
        "forward-mode (JVP) rule of 'sqrt'",
        _sqrt_loss,
    ),
    ("vmap", lambda: tp.vmap(_log_shifted)(X), "'log' returned", _log_shifted),
    ("jit", lambda: tp.jit(_log_shifted)(X), "'log' returned", _log_shifted),
    ("jit-grad", lambda: tp.jit(tp.grad(_sqrt_loss))(X), "VJP) rule of 'sqrt'", _sqrt_loss),
    ("hessian", lambda: tp.hessian(_sqrt_loss)(X), "rule of 'sqrt'", _sqrt_loss),
    (
        "vmap-grad",
        lambda: tp.vmap(tp.grad(lambda x: _sqrt_loss(x[None])))(X),
        "VJP) rule of 'sqrt'",
        _sqrt_loss,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_the_first_non_finite_value_is_named_with_its_line(case):
    _, call, message, where = case
    with tp.debug_nans(), pytest.raises(FloatingPointError) as info:
        call()
    text = str(info.value)
    assert message in text
    assert f"{__file__}:{_line_of(where)}" in text, text
    assert "# <- here" in text  # the source line is shown


def test_off_by_default_and_nans_propagate_silently():
    assert tp.config.debug_nans is False
    g = tp.grad(_sqrt_loss)(X)
    assert np.isinf(g[0]) and g[1] == 1.0


def test_values_already_non_finite_are_not_reported_again():
    # Only the operation that made the NaN is an error; those it flows through are not.
    x = np.array([np.nan, 1.0, np.inf])
    with tp.debug_nans():
        y = tnp.exp(tnp.sin(x * 2.0) + 1.0)
        g = tp.grad(lambda v: tnp.sum(tnp.tanh(v) * 3.0))(x)
    assert np.isnan(y[0]) and np.isfinite(y[1]) and np.isnan(g[0])


def test_finite_programs_give_the_same_results_under_the_check():
    x = np.linspace(0.5, 2.0, 5)
    f = lambda v: tnp.sum(tnp.log(v) * tnp.sqrt(v) + tnp.exp(-v))  # noqa: E731
    expected = (tp.grad(f)(x), tp.jvp(f, (x,), (np.ones(5),))[1], tp.hessian(f)(x))
    with tp.debug_nans():
        got = (tp.grad(f)(x), tp.jvp(f, (x,), (np.ones(5),))[1], tp.hessian(f)(x))
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)


def test_switching_restores_every_function_exactly():
    log = get_primitive(tnp.log)
    impl, jvps, process = log.impl, log.jvps, Tape.process
    tp.config.debug_nans = True
    try:
        assert tp.config.debug_nans and log.impl is not impl and Tape.process is not process
        with tp.debug_nans(False):  # off for a block, back on after it
            assert log.impl is impl and not tp.config.debug_nans
        assert tp.config.debug_nans
    finally:
        tp.config.debug_nans = False
    assert log.impl is impl and log.jvps is jvps and Tape.process is process
    with pytest.raises(FloatingPointError), tp.debug_nans():  # an error inside the block ...
        tnp.log(np.array(-1.0))
    assert log.impl is impl and not tp.config.debug_nans  # ... still restores


def test_config_update_takes_jax_names_and_refuses_unknown_ones():
    tp.config.update("jax_debug_nans", True)
    try:
        assert tp.config.debug_nans
    finally:
        tp.config.update("debug_nans", False)
    assert not tp.config.debug_nans
    with pytest.raises(AttributeError, match="debug_nans"):
        tp.config.update("jax_enable_x64", True)


def test_jit_runs_the_python_function_under_the_check():
    f = tp.jit(lambda v: tnp.sum(tnp.exp(v)))
    f(X)
    with tp.debug_nans():
        f(X + 1.0)
        f(X + 2.0)
    assert f.trace_count == 1  # not traced again: the function ran as plain Python
    f(X + 3.0)
    assert f.trace_count == 1


WARNING_SCRIPT = """
import numpy as np, tapeflow as tp, tapeflow.numpy as tnp
x = np.array([0.0, 1.0])
y = tnp.log(x)
z = tnp.log(x)
g = tp.grad(lambda v: tnp.sum(tnp.log(v)))(x)
"""


def test_numpy_warnings_point_at_the_users_line(tmp_path):
    # numpy files its floating-point warnings under the Python line that called it, a
    # line of tapeflow; they are re-issued at the user's line, once per user line.
    script = tmp_path / "user_script.py"
    script.write_text(textwrap.dedent(WARNING_SCRIPT))
    run = subprocess.run(
        [sys.executable, "-W", "default", str(script)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    err = run.stderr
    assert f"{script}:4: RuntimeWarning: divide by zero encountered in log" in err
    assert f"{script}:5: RuntimeWarning: divide by zero encountered in log" in err
    assert f"{script}:6: RuntimeWarning: divide by zero encountered in divide" in err
    assert "tapeflow" not in err.replace(str(script), "")
