"""``tapeflow.numpy.fft``: discrete Fourier transforms (numpy.fft), differentiable.

Four linear primitives do the transforms, on inputs already cut or zero-padded to
the transform's length: ``fft.fftn`` and ``fft.ifftn`` (complex to complex, over a
tuple of axes), ``fft.rfft`` (real to half spectrum, one axis) and ``fft.irfft`` (half
spectrum to real, one axis). Every public function is a composition of those with
slicing, ``pad``, ``conj`` and ``roll``, so numpy's ``n``, ``s``, ``axis``/``axes`` and
``norm`` arguments behave exactly as in numpy, and ``np.fft.*`` on traced arrays
reaches these functions.

The transposes (JAX's convention: transpose, not conjugate transpose):

* The DFT matrix is symmetric, so ``fftn`` and ``ifftn`` are their own transposes,
  with the same axes and ``norm``.
* ``rfft`` keeps the first ``n // 2 + 1`` rows of the DFT: its transpose pads the
  cotangent back to ``n`` with zeros, applies ``fft`` and keeps the real part (the
  input is real).
* ``irfft`` reads the half spectrum ``X`` as the Hermitian full spectrum and ignores
  the imaginary parts of ``X[0]`` (and of ``X[n/2]`` for even ``n``): ``x = Re(sum_j c_j
  X_j w^jk) / n`` with ``c_j = 2`` except ``c_0 = 1`` and ``c_{n/2} = 1`` for even ``n``.
  Its transpose is ``c * ifft(g)[:n // 2 + 1]``, which holds for odd and even ``n``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.core.primitive import defbatch, deflinear, primitive
from tapeflow.numpy.declare import no_out, register_numpy
from tapeflow.numpy.elementwise import conj, real
from tapeflow.numpy.meta import as_operand, axes_tuple, dtype_of, is_complex, shape_of
from tapeflow.numpy.padding import pad
from tapeflow.numpy.shape import moveaxis, roll

__all__ = [
    "fft",
    "ifft",
    "fft2",
    "ifft2",
    "fftn",
    "ifftn",
    "rfft",
    "irfft",
    "rfft2",
    "irfft2",
    "rfftn",
    "irfftn",
    "hfft",
    "ihfft",
    "fftshift",
    "ifftshift",
    "fftfreq",
    "rfftfreq",
]

_NORMS = (None, "backward", "ortho", "forward")
_SWAPPED = {None: "forward", "backward": "forward", "ortho": "ortho", "forward": "backward"}


# ----- the primitives ------------------------------------------------------------------
# Axes are negative ints, so a batch axis put in front changes nothing (see _batch).
def _np_fftn(x: Any, axes: tuple[int, ...], norm: Any = None) -> Any:
    return np.fft.fftn(x, axes=axes, norm=norm)


def _np_ifftn(x: Any, axes: tuple[int, ...], norm: Any = None) -> Any:
    return np.fft.ifftn(x, axes=axes, norm=norm)


def _np_rfft(x: Any, axis: int, norm: Any = None) -> Any:
    return np.fft.rfft(x, axis=axis, norm=norm)


def _np_irfft(x: Any, n: int, axis: int, norm: Any = None) -> Any:
    return np.fft.irfft(x, n=n, axis=axis, norm=norm)


_fftn = primitive(_np_fftn, name="fft.fftn")
_ifftn = primitive(_np_ifftn, name="fft.ifftn")
_rfft = primitive(_np_rfft, name="fft.rfft")
_irfft = primitive(_np_irfft, name="fft.irfft")

# The DFT matrix (and so its inverse, with any norm) is symmetric: its own transpose.
deflinear(_fftn, lambda g, ans, x, axes, norm=None: _fftn(g, axes=axes, norm=norm))
deflinear(_ifftn, lambda g, ans, x, axes, norm=None: _ifftn(g, axes=axes, norm=norm))


def _index_along(axis: int, index: Any) -> tuple[Any, ...]:
    """An index that applies ``index`` along the negative ``axis`` and keeps the rest."""
    return (Ellipsis, index) + (slice(None),) * (-axis - 1)


def _rfft_transpose(g: Any, x: Any, axis: int, norm: Any) -> Any:
    n = shape_of(x)[axis]
    widths = [(0, 0)] * len(shape_of(g))
    widths[axis] = (0, n - shape_of(g)[axis])
    return real(_fftn(pad(g, widths), axes=(axis,), norm=norm))


def _irfft_weights(n: int, axis: int, dtype: Any) -> np.ndarray:
    """``c_j``: 1 for the zero frequency (and n/2 for even n), 2 for the others."""
    m = n // 2 + 1
    c = np.full(m, 2, dtype=np.empty(0, dtype).real.dtype)
    c[0] = 1
    if n % 2 == 0:
        c[-1] = 1
    return c.reshape((m,) + (1,) * (-axis - 1))


def _irfft_transpose(g: Any, n: int, axis: int, norm: Any) -> Any:
    spectrum = _ifftn(g, axes=(axis,), norm=norm)[_index_along(axis, slice(0, n // 2 + 1))]
    return spectrum * _irfft_weights(n, axis, dtype_of(g))


deflinear(_rfft, lambda g, ans, x, axis, norm=None: _rfft_transpose(g, x, axis, norm))
deflinear(_irfft, lambda g, ans, x, n, axis, norm=None: _irfft_transpose(g, n, axis, norm))


def _batch(prim: Any) -> Any:
    """Batch a transform over negative axes: the batch axis in front is left alone."""

    def rule(args: Any, dims: Any, **kwargs: Any) -> Any:
        return prim(moveaxis(args[0], dims[0], 0), **kwargs), 0

    return rule


for _prim in (_fftn, _ifftn, _rfft, _irfft):
    defbatch(_prim, _batch(_prim))


# ----- arguments ------------------------------------------------------------------------
def _check_norm(norm: Any) -> None:
    if norm not in _NORMS:
        raise ValueError(
            f'Invalid norm value {norm!r}; should be "backward", "ortho" or "forward" (or None)'
        )


def _check_length(n: Any, what: str = "n") -> int:
    if isinstance(n, (bool, np.bool_)) or int(n) != n:
        raise TypeError(f"numpy.fft: {what} must be an int, got {n!r}")
    if n < 1:
        raise ValueError(f"Invalid number of FFT data points ({n}) specified.")
    return int(n)


def _negative_axis(axis: Any, ndim: int) -> int:
    return axes_tuple(axis, ndim)[0] - ndim


def _fit(a: Any, n: int, axis: int) -> Any:
    """``a`` cut to, or zero-padded at the end to, length ``n`` along ``axis`` (as numpy)."""
    size = shape_of(a)[axis]
    if size > n:
        return a[_index_along(axis, slice(0, n))]
    if size < n:
        widths = [(0, 0)] * len(shape_of(a))
        widths[axis] = (0, n - size)
        return pad(a, widths)
    return a


def _cook(
    a: Any, s: Any, axes: Any, inverse_real: bool = False, what: str = "s"
) -> tuple[list[int], list[int]]:
    """numpy's ``s`` and ``axes`` defaults: (lengths, negative axes), validated."""
    shape = shape_of(a)
    ndim = len(shape)
    if axes is None:
        axes = list(range(-(ndim if s is None else len(s)), 0))
    else:
        axes = [_negative_axis(ax, ndim) for ax in np.atleast_1d(np.asarray(axes)).tolist()]
    if s is None:
        lengths = [shape[ax] for ax in axes]
        if inverse_real and axes:
            lengths[-1] = (shape[axes[-1]] - 1) * 2
    else:
        if len(s) != len(axes):
            raise ValueError("Shape and axes have different lengths.")
        lengths = [shape[ax] if n is None or n == -1 else n for n, ax in zip(s, axes, strict=True)]
        if inverse_real and s[-1] is None:
            lengths[-1] = (shape[axes[-1]] - 1) * 2
    return [_check_length(n, what) for n in lengths], axes


def _input(a: Any, name: str, out: Any, norm: Any) -> Any:
    no_out(out, f"fft.{name}")
    _check_norm(norm)
    return as_operand(a)


def _complex_nd(a: Any, lengths: list[int], axes: list[int], norm: Any, inverse: bool) -> Any:
    """``fftn``/``ifftn`` along ``axes`` with the lengths ``lengths``, in numpy's order."""
    prim = _ifftn if inverse else _fftn
    if len(set(axes)) == len(axes):  # one call; cutting and padding commute with the rest
        for n, ax in zip(lengths, axes, strict=True):
            a = _fit(a, n, ax)
        return prim(a, axes=tuple(axes), norm=norm) if axes else a
    for n, ax in reversed(list(zip(lengths, axes, strict=True))):  # a repeated axis
        a = prim(_fit(a, n, ax), axes=(ax,), norm=norm)
    return a


def _real_input(a: Any, name: str) -> Any:
    if is_complex(a):
        raise TypeError(
            f"numpy.fft.{name} takes real input, got {dtype_of(a)}; use numpy.fft.fft "
            "(fftn) for complex input, or take np.real(x) first"
        )
    return a


# ----- complex transforms -----------------------------------------------------------------
def fft(a: Any, n: int | None = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """The 1-d discrete Fourier transform (numpy.fft.fft), differentiable.

    Example:
        >>> fft(np.array([1.0, 2.0, 3.0, 4.0]))
        array([10.+0.j, -2.+2.j, -2.+0.j, -2.-2.j])
    """
    a = _input(a, "fft", out, norm)
    return _complex_nd(
        a, *_cook(a, None if n is None else [n], [axis], what="n"), norm, inverse=False
    )


def ifft(a: Any, n: int | None = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """The 1-d inverse discrete Fourier transform (numpy.fft.ifft), differentiable.

    Example:
        >>> ifft(np.array([4.0, 0.0, 0.0, 0.0]))
        array([1.+0.j, 1.+0.j, 1.+0.j, 1.+0.j])
    """
    a = _input(a, "ifft", out, norm)
    return _complex_nd(
        a, *_cook(a, None if n is None else [n], [axis], what="n"), norm, inverse=True
    )


def fftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    """The N-d discrete Fourier transform (numpy.fft.fftn), over ``axes`` (default all).

    Example:
        >>> fftn(np.ones((2, 2)))
        array([[4.+0.j, 0.+0.j],
               [0.+0.j, 0.+0.j]])
    """
    a = _input(a, "fftn", out, norm)
    return _complex_nd(a, *_cook(a, s, axes), norm, inverse=False)


def ifftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    """The N-d inverse discrete Fourier transform (numpy.fft.ifftn).

    Example:
        >>> ifftn(np.array([[4.0, 0.0], [0.0, 0.0]])).real
        array([[1., 1.],
               [1., 1.]])
    """
    a = _input(a, "ifftn", out, norm)
    return _complex_nd(a, *_cook(a, s, axes), norm, inverse=True)


def fft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None) -> Any:
    """The 2-d discrete Fourier transform (numpy.fft.fft2): ``fftn`` over the last two axes.

    Example:
        >>> fft2(np.eye(2))
        array([[2.+0.j, 0.+0.j],
               [0.+0.j, 2.+0.j]])
    """
    return fftn(a, s, axes, norm, out)


def ifft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None) -> Any:
    """The 2-d inverse discrete Fourier transform (numpy.fft.ifft2).

    Example:
        >>> ifft2(np.array([[2.0, 0.0], [0.0, 2.0]])).real
        array([[1., 0.],
               [0., 1.]])
    """
    return ifftn(a, s, axes, norm, out)


# ----- real transforms --------------------------------------------------------------------
def rfft(a: Any, n: int | None = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """The 1-d transform of real input, non-negative frequencies only (numpy.fft.rfft).

    Example:
        >>> rfft(np.array([1.0, 2.0, 3.0, 4.0]))
        array([10.+0.j, -2.+2.j, -2.+0.j])
    """
    a = _real_input(_input(a, "rfft", out, norm), "rfft")
    ax = _negative_axis(axis, len(shape_of(a)))
    return _rfft(
        _fit(a, _check_length(shape_of(a)[ax] if n is None else n), ax), axis=ax, norm=norm
    )


def irfft(a: Any, n: int | None = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """The inverse of :func:`rfft` (numpy.fft.irfft): ``n`` real values (default ``2 (m - 1)``).

    Example:
        >>> irfft(np.array([10.0, -2 + 2j, -2.0]))
        array([1., 2., 3., 4.])
    """
    a = _input(a, "irfft", out, norm)
    ax = _negative_axis(axis, len(shape_of(a)))
    n = _check_length((shape_of(a)[ax] - 1) * 2 if n is None else n)
    return _irfft(_fit(a, n // 2 + 1, ax), n=n, axis=ax, norm=norm)


def rfftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    """The N-d transform of real input (numpy.fft.rfftn): ``rfft`` on the last axis, then ``fft``.

    Odd and even lengths are both differentiable.

    Example:
        >>> rfftn(np.ones((2, 3)))
        array([[6.+0.j, 0.+0.j],
               [0.+0.j, 0.+0.j]])
    """
    a = _real_input(_input(a, "rfftn", out, norm), "rfftn")
    lengths, axes = _cook(a, s, axes)
    if not axes:
        raise ValueError("numpy.fft.rfftn: axes must name at least one axis")
    a = _rfft(_fit(a, lengths[-1], axes[-1]), axis=axes[-1], norm=norm)
    # numpy transforms the other axes in order (fftn goes in reverse; only repeats differ).
    for n, ax in zip(lengths[:-1], axes[:-1], strict=True):
        a = _fftn(_fit(a, n, ax), axes=(ax,), norm=norm)
    return a


def irfftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    """The inverse of :func:`rfftn` (numpy.fft.irfftn); ``s[-1]`` is the real output length.

    Example:
        >>> irfftn(np.array([[6.0, 0.0], [0.0, 0.0]]), s=(2, 3))
        array([[1., 1., 1.],
               [1., 1., 1.]])
    """
    a = _input(a, "irfftn", out, norm)
    lengths, axes = _cook(a, s, axes, inverse_real=True)
    if not axes:
        raise ValueError("numpy.fft.irfftn: axes must name at least one axis")
    for n, ax in zip(lengths[:-1], axes[:-1], strict=True):
        a = _ifftn(_fit(a, n, ax), axes=(ax,), norm=norm)
    n = lengths[-1]
    return _irfft(_fit(a, n // 2 + 1, axes[-1]), n=n, axis=axes[-1], norm=norm)


def rfft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None) -> Any:
    """The 2-d transform of real input (numpy.fft.rfft2).

    Example:
        >>> rfft2(np.ones((2, 2)))
        array([[4.+0.j, 0.+0.j],
               [0.+0.j, 0.+0.j]])
    """
    return rfftn(a, s, axes, norm, out)


def irfft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None) -> Any:
    """The inverse of :func:`rfft2` (numpy.fft.irfft2).

    Example:
        >>> irfft2(np.array([[4.0, 0.0], [0.0, 0.0]]))
        array([[1., 1.],
               [1., 1.]])
    """
    return irfftn(a, s, axes, norm, out)


def hfft(a: Any, n: int | None = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """The transform of a Hermitian-symmetric signal given by its first half (numpy.fft.hfft).

    Example:
        >>> hfft(np.array([1.0, 2.0, 3.0]))
        array([ 8., -2.,  0., -2.])
    """
    a = _input(a, "hfft", out, norm)
    return irfft(conj(a), n, axis, _SWAPPED[norm])


def ihfft(a: Any, n: int | None = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """The inverse of :func:`hfft` for real input (numpy.fft.ihfft).

    Example:
        >>> ihfft(np.array([8.0, -2.0, 0.0, -2.0]))
        array([1.-0.j, 2.-0.j, 3.-0.j])
    """
    a = _real_input(_input(a, "ihfft", out, norm), "ihfft")
    return conj(rfft(a, n, axis, _SWAPPED[norm]))


# ----- helpers ----------------------------------------------------------------------------
def _shifts(x: Any, axes: Any, sign: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    shape = shape_of(x)
    axes = tuple(range(len(shape))) if axes is None else axes_tuple(axes, len(shape))
    return tuple(sign * (shape[ax] // 2) for ax in axes), axes


def fftshift(x: Any, axes: Any = None) -> Any:
    """Move the zero frequency to the middle (numpy.fft.fftshift); a permutation.

    Example:
        >>> fftshift(np.array([0.0, 1.0, 2.0, -2.0, -1.0]))
        array([-2., -1.,  0.,  1.,  2.])
    """
    x = as_operand(x)
    shift, axes = _shifts(x, axes, 1)
    return roll(x, shift, axes) if axes else x


def ifftshift(x: Any, axes: Any = None) -> Any:
    """The inverse of :func:`fftshift` (numpy.fft.ifftshift), which differs for odd lengths.

    Example:
        >>> ifftshift(np.array([-2.0, -1.0, 0.0, 1.0, 2.0]))
        array([ 0.,  1.,  2., -2., -1.])
    """
    x = as_operand(x)
    shift, axes = _shifts(x, axes, -1)
    return roll(x, shift, axes) if axes else x


def _frequencies(integers: np.ndarray, n: int, d: Any, device: Any) -> Any:
    """``integers / (n d)`` in ``d``'s float dtype, with numpy's own arithmetic."""
    if device not in (None, "cpu"):
        raise ValueError(f"Device not understood. Only 'cpu' is allowed, but received: {device}")
    dtype = dtype_of(d)
    if not np.issubdtype(dtype, np.floating):
        dtype = np.dtype(np.float64)
    # numpy computes k * (1 / (n d)); the same steps give the same bits eager, traced or jitted.
    return np.asarray(integers, dtype) * (1.0 / (n * d))


def fftfreq(n: int, d: Any = 1.0, device: Any = None) -> Any:
    """The sample frequencies of :func:`fft` (numpy.fft.fftfreq); differentiable in ``d``.

    The frequencies have ``d``'s float dtype (float32 stays float32; numpy's are float64).

    Example:
        >>> fftfreq(4, d=0.5)
        array([ 0. ,  0.5, -1. , -0.5])
    """
    n = _check_length(n)
    return _frequencies(np.fft.ifftshift(np.arange(n) - n // 2), n, d, device)


def rfftfreq(n: int, d: Any = 1.0, device: Any = None) -> Any:
    """The sample frequencies of :func:`rfft` (numpy.fft.rfftfreq); differentiable in ``d``.

    Example:
        >>> rfftfreq(4, d=0.5)
        array([0. , 0.5, 1. ])
    """
    n = _check_length(n)
    return _frequencies(np.arange(n // 2 + 1), n, d, device)


for _name in __all__:
    if _name not in ("fftfreq", "rfftfreq"):  # no array argument: numpy never dispatches them
        register_numpy(getattr(np.fft, _name), globals()[_name])
