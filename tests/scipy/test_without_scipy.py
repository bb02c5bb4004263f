"""tapeflow where SciPy cannot be imported: tnp.fft, tapeflow.scipy.signal and
tapeflow.scipy.stats need numpy alone, and a function that does need SciPy says which
extra to install.

A child process hides SciPy behind a meta-path finder (``import scipy`` and every
``scipy.*`` raise ImportError, whether installed or not), then computes every case
below, each value and its gradient; this process computes the same cases with SciPy
importable and the two must agree bit for bit: the same code runs either way.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow.scipy import signal, stats

ROOT = Path(__file__).resolve().parents[2]

HIDE_SCIPY = """
import importlib.abc, sys

class _NoScipy(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "scipy" or name.startswith("scipy."):
            raise ModuleNotFoundError(f"No module named {name!r} (hidden)", name=name)
        return None

sys.meta_path.insert(0, _NoScipy())
"""

RNG = np.random.default_rng(0)
X = RNG.standard_normal(6) * 2
POSITIVE = np.abs(X) + 0.3
UNIT = 0.5 + 0.4 * np.tanh(X)
COV = np.array([[2.0, 0.3], [0.3, 1.0]])

# (function, arguments, which arguments the gradient is taken in)
CONTINUOUS = ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")
_STATS = [
    *((getattr(stats.norm, fn), (X, 0.5, 2.0), (0, 1, 2)) for fn in CONTINUOUS),
    *((getattr(stats.norm, fn), (UNIT, 0.5, 2.0), (0, 1, 2)) for fn in ("ppf", "isf")),
    *((getattr(stats.t, fn), (X, POSITIVE, 0.1, 1.5), (0, 1, 2, 3)) for fn in CONTINUOUS),
    *((getattr(stats.gamma, fn), (POSITIVE, 1.7, 0.1, 1.5), (0, 1, 2, 3)) for fn in CONTINUOUS),
    *((getattr(stats.chi2, fn), (POSITIVE, 2.5, 0.1, 1.5), (0, 1, 2, 3)) for fn in CONTINUOUS),
    *((getattr(stats.beta, fn), (UNIT, 1.3, POSITIVE), (0, 1, 2)) for fn in CONTINUOUS),
    *(
        (getattr(stats.poisson, fn), (np.arange(6.0), POSITIVE * 3), (1,))
        for fn in ("logpmf", "pmf", "cdf", "logcdf", "sf", "logsf")
    ),
    *(
        (getattr(stats.dirichlet, fn), (np.array([0.2, 0.3, 0.5]), POSITIVE[:3]), (0, 1))
        for fn in ("logpdf", "pdf")
    ),
    *(
        (getattr(stats.multivariate_normal, fn), (X.reshape(3, 2), X[:2], COV), (0, 1, 2))
        for fn in ("logpdf", "pdf", "cdf", "logcdf")
    ),
]
_SIGNAL = [
    (getattr(signal, name), (X, X[:3] * (1 - 0.5j), mode, method), (0, 1))
    for name in ("convolve", "correlate")
    for mode in ("full", "same", "valid")
    for method in ("direct", "fft")
]
_Z = X.reshape(2, 3) + 0.5j
_FFT = [
    *((getattr(tnp.fft, name), (_Z,), (0,)) for name in ("fft", "ifft", "fft2", "ifft2", "fftn")),
    *((getattr(tnp.fft, name), (_Z,), (0,)) for name in ("ifftn", "irfft", "irfft2", "irfftn")),
    *((getattr(tnp.fft, name), (_Z,), (0,)) for name in ("hfft", "fftshift", "ifftshift")),
    *((getattr(tnp.fft, name), (X.reshape(2, 3),), (0,)) for name in ("rfft", "rfft2", "ihfft")),
    (tnp.fft.rfftn, (X.reshape(2, 3),), (0,)),
    (lambda d: tnp.fft.fftfreq(5, d) + tnp.fft.rfftfreq(9, d)[:5], (0.3,), (0,)),
]
CASES = _STATS + _SIGNAL + _FFT


def _loss(fn, argnums):  # noqa: ANN001, ANN202
    """A real number of ``fn``'s output, differentiable in the arguments ``argnums``."""

    def loss(*args):  # noqa: ANN002, ANN202
        out = fn(*args)
        return tnp.sum(tnp.real(out) + 0.5 * tnp.imag(out))

    return tp.grad(loss, argnums=argnums)


def compute_all() -> list[np.ndarray]:
    """Every case's value, then its gradient in each differentiable argument."""
    results = []
    for fn, args, argnums in CASES:
        results.append(np.asarray(fn(*args)))
        results.extend(np.asarray(g) for g in _loss(fn, argnums)(*args))
    return results


CHILD = (
    HIDE_SCIPY
    + """
import numpy as np
import tapeflow
from tests.scipy.test_without_scipy import compute_all

assert not [m for m in sys.modules if m == "scipy" or m.startswith("scipy.")]
np.savez(sys.argv[1], *compute_all())
try:
    tapeflow.scipy.special.erf(np.array([1 + 1j]))  # complex erf is SciPy's kernel
except ImportError as error:
    assert "tapeflow[scipy]" in str(error) and "erf" in str(error), error
else:
    raise AssertionError("complex erf ran without SciPy")
"""
)


def test_fft_signal_and_stats_run_without_scipy(tmp_path: Path) -> None:
    out = tmp_path / "results.npz"
    subprocess.run([sys.executable, "-c", CHILD, str(out)], check=True, cwd=ROOT)
    expected = compute_all()
    with np.load(out) as child:
        got = [child[f"arr_{i}"] for i in range(len(child.files))]
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g.dtype == e.dtype and g.shape == e.shape
        np.testing.assert_array_equal(g, e)
        assert np.all(np.isfinite(e))
