"""Running a memory-bound kernel on several cores, one slice of the batch each.

numpy runs each elementwise pass, copy and reduction on one core, while BLAS spreads
a product over all of them: on a convolutional network the passes between the
products (im2col, col2im, pooling, ReLU) then take as long as the products. The
kernels in :mod:`tapeflow.nn` split those passes over the batch axis, whose slices
are independent, and run the slices on a small pool of threads (numpy releases
the GIL inside its loops).

Example:
    >>> import numpy as np
    >>> from tapeflow.nn import threads
    >>> out = np.empty((4, 3))
    >>> threads.over_batch(lambda s: np.multiply(np.ones((4, 3))[s], 2.0, out=out[s]), 4, 12)
    >>> float(out.sum())
    24.0
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["get_threads", "over_batch", "set_threads", "worth_splitting"]

# Below this many elements a pass takes some tens of microseconds: handing it to
# another thread costs about as much as it saves.
MIN_ELEMENTS = 1 << 17


def _default_threads() -> int:
    value = os.environ.get("TAPEFLOW_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
    if value:
        try:
            return max(1, int(value))
        except ValueError:
            pass
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class _Pool:
    """The worker threads, started on first use and restarted in a forked child."""

    def __init__(self) -> None:
        self.threads = _default_threads()
        self.executor: ThreadPoolExecutor | None = None
        self.lock = threading.Lock()

    def get(self) -> ThreadPoolExecutor:
        executor = self.executor
        if executor is None:
            with self.lock:
                if self.executor is None:
                    self.executor = ThreadPoolExecutor(
                        self.threads - 1, thread_name_prefix="tapeflow-kernel"
                    )
                executor = self.executor
        return executor

    def resize(self, n: int) -> None:
        with self.lock:
            old, self.executor, self.threads = self.executor, None, n
        if old is not None:
            old.shutdown(wait=True)

    def forget(self) -> None:
        # A forked child has none of the parent's threads.
        self.executor, self.lock = None, threading.Lock()


_pool = _Pool()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_pool.forget)


def get_threads() -> int:
    """How many threads the kernels split their passes over.

    The default is ``TAPEFLOW_NUM_THREADS``, else ``OMP_NUM_THREADS``, else the
    number of cores this process may run on.

    Example:
        >>> from tapeflow.nn import threads
        >>> threads.get_threads() >= 1
        True
    """
    return _pool.threads


def set_threads(n: int) -> None:
    """Use ``n`` threads (1: every pass on the calling thread).

    Example:
        >>> from tapeflow.nn import threads
        >>> before = threads.get_threads()
        >>> threads.set_threads(1)
        >>> threads.get_threads()
        1
        >>> threads.set_threads(before)
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"set_threads: the number of threads must be an int >= 1, got {n!r}")
    if n != _pool.threads:
        _pool.resize(n)


def worth_splitting(elements: int) -> bool:
    """Whether a pass over ``elements`` entries would run on more than one thread."""
    if _pool.threads == 1 or elements < 2 * MIN_ELEMENTS:
        return False  # (the common case, first: every ReLU of a small layer asks)
    return not getattr(_inside, "active", False)


# Set while a thread runs a slice: a kernel called inside another's slice runs whole
# there (waiting for the pool from inside the pool could wait forever).
_inside = threading.local()
_inside.active = False


class _Slice:
    __slots__ = ("kernel",)

    def __init__(self, kernel: Callable[[slice], Any]) -> None:
        self.kernel = kernel

    def __call__(self, s: slice) -> None:
        was = getattr(_inside, "active", False)
        _inside.active = True
        try:
            self.kernel(s)
        finally:
            _inside.active = was


def over_batch(kernel: Callable[[slice], Any], n: int, elements: int) -> None:
    """Call ``kernel(s)`` for slices ``s`` that cover ``range(n)``, in parallel.

    ``kernel`` must only write its own slice of the batch. ``elements`` is the size of
    the work (the largest array the kernel touches); below ``MIN_ELEMENTS`` per thread,
    with one thread, or inside another kernel's slice, ``kernel(slice(0, n))`` runs on
    the calling thread.
    """
    parts = min(_pool.threads, n, elements // MIN_ELEMENTS)
    if parts <= 1 or getattr(_inside, "active", False):
        kernel(slice(0, n))
        return
    bounds = [n * k // parts for k in range(parts + 1)]
    run = _Slice(kernel)
    executor = _pool.get()
    futures = [executor.submit(run, slice(bounds[k], bounds[k + 1])) for k in range(1, parts)]
    try:
        run(slice(bounds[0], bounds[1]))
    finally:
        # every slice finishes (or fails) before the caller sees the output or an error
        errors = [f.exception() for f in futures]
    for error in errors:
        if error is not None:
            raise error
