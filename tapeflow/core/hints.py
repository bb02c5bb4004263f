"""Notes that tapeflow adds to errors raised by the user's own code inside a transform.

Some errors come from numpy, not from tapeflow, so their message cannot say what to
write instead; a transform that sees one pass through adds a note (shown under the
traceback, Python 3.11+) and re-raises it unchanged.

Example:
    >>> import numpy as np
    >>> try:
    ...     np.zeros(3).at[0].set(1.0)
    ... except AttributeError as e:
    ...     note_plain_at(e)
    ...     print(getattr(e, "__notes__", [""])[0][:45])
    tapeflow: `.at` exists on traced arrays only;
"""

from __future__ import annotations

__all__ = ["AT_SPELLING", "note_plain_at"]

#: The functional update that works on numpy arrays and traced arrays alike.
AT_SPELLING = "tnp.at(x)[idx].set(v)"


def note_plain_at(exc: AttributeError) -> None:
    """Add the working spelling to numpy's ``'numpy.ndarray' object has no attribute 'at'``.

    Inside ``grad(f)``, the arguments that are not differentiated reach ``f`` as numpy
    arrays, where ``x.at`` does not exist (numpy's class cannot be given it).
    """
    if getattr(exc, "name", None) != "at" or not hasattr(exc, "add_note"):
        return
    kind = type(getattr(exc, "obj", None))
    if kind.__module__ != "numpy" or any("tnp.at(x)" in n for n in getattr(exc, "__notes__", ())):
        return
    exc.add_note(
        f"tapeflow: `.at` exists on traced arrays only; {kind.__name__} values (such as "
        "arguments a transform does not differentiate) lack it. Write "
        f"{AT_SPELLING} (tapeflow.numpy as tnp), which works on both."
    )
