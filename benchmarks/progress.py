"""Progress output for training scripts, and stopping cleanly on Ctrl-C.

``Progress`` reports batches and epochs:

* on a terminal, one line rewritten in place (a bar, the loss, examples/s and the time
  left);
* with the output piped or redirected, a plain line at most every ``every`` seconds
  (flushed, so ``| tee log`` shows it at once), then one line per epoch;
* with ``quiet``, nothing.

The time left is the mean time per batch so far times the batches still to run (the
evaluations between epochs are not counted).

``stop_on_ctrl_c()`` turns the first Ctrl-C (SIGINT) into a request that the training
loop reads (``STOP.requested``) after its current batch, so that it finishes cleanly
and reports the results so far; a second Ctrl-C interrupts at once.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import time
from collections.abc import Iterator
from typing import Any

__all__ = ["Progress", "STOP", "stop_on_ctrl_c", "format_seconds"]


def format_seconds(seconds: float) -> str:
    """``"42s"``, ``"3m05s"``, ``"1h02m"``: a duration as people read it.

    Example:
        >>> format_seconds(42.4), format_seconds(185), format_seconds(3725)
        ('42s', '3m05s', '1h02m')
    """
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class Progress:
    """Per-batch progress: in place on a terminal, a line every ``every`` seconds if piped."""

    def __init__(
        self,
        epochs: int,
        batches_per_epoch: int,
        stream: Any = None,
        quiet: bool = False,
        every: float = 10.0,
    ):
        self.stream = stream or sys.stdout
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.quiet = quiet
        self.epochs, self.total = epochs, batches_per_epoch
        self.every = every
        self.last_draw = 0.0
        self.last_line = time.perf_counter()  # piped: the first line after `every` seconds
        self.busy = 0.0  # seconds of the epochs finished so far (training only)

    def left(self, epoch: int, i: int, elapsed: float) -> float:
        """Seconds left: the mean time per batch so far times the batches to go."""
        done = (epoch - 1) * self.total + i + 1
        to_go = self.epochs * self.total - done
        return (self.busy + elapsed) / max(done, 1) * to_go

    def batch(self, epoch: int, i: int, loss: float, seen: int, elapsed: float) -> None:
        if self.quiet:
            return
        now = time.perf_counter()
        rate = seen / max(elapsed, 1e-9)
        left = format_seconds(self.left(epoch, i, elapsed))
        if not self.tty:
            if now - self.last_line < self.every:
                return
            self.last_line = now
            self.stream.write(
                f"  batch {i + 1}/{self.total} of epoch {epoch}/{self.epochs}  loss {loss:.4f}  "
                f"{rate:,.0f} examples/s  ~{left} left\n"
            )
            self.stream.flush()
            return
        if i + 1 < self.total and now - self.last_draw < 0.1:
            return
        self.last_draw = now
        width = 24
        done = int(width * (i + 1) / self.total)
        bar = "#" * done + "." * (width - done)
        self.stream.write(
            f"\repoch {epoch}/{self.epochs} [{bar}] {i + 1}/{self.total}  loss {loss:.4f}  "
            f"{rate:,.0f} examples/s  ~{left} left "
        )
        self.stream.flush()

    def epoch(self, epoch: int, loss: float, val_acc: float, seconds: float, rate: float) -> None:
        self.busy += seconds
        self.last_line = time.perf_counter()
        if self.quiet:
            return
        if self.tty:
            self.stream.write("\r\033[K")
        self.stream.write(
            f"epoch {epoch}/{self.epochs}  train loss {loss:.4f}  val acc {100 * val_acc:.2f}%  "
            f"{seconds:.1f}s  {rate:,.0f} examples/s\n"
        )
        self.stream.flush()

    def line(self, text: str) -> None:
        if not self.quiet:
            self.stream.write(text + "\n")
            self.stream.flush()


class _Stop:
    """Whether a Ctrl-C asked the training loop to stop after its current batch."""

    def __init__(self) -> None:
        self.requested = False


STOP = _Stop()


@contextlib.contextmanager
def stop_on_ctrl_c(stream: Any = None) -> Iterator[_Stop]:
    """Within the block, the first Ctrl-C sets ``STOP.requested``; a second one interrupts.

    Only the main thread can handle signals; elsewhere the block changes nothing.
    """
    STOP.requested = False
    out = stream or sys.stderr

    def request(signum: int, frame: Any) -> None:
        STOP.requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)  # the next one interrupts
        out.write("\nstopping after this batch (Ctrl-C again to abort)\n")
        out.flush()

    try:
        previous = signal.signal(signal.SIGINT, request)
    except ValueError:  # not the main thread
        yield STOP
        return
    try:
        yield STOP
    finally:
        signal.signal(signal.SIGINT, previous)
