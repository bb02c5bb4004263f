"""The user's line: the first frame of a call stack outside tapeflow (and numpy).

Errors and warnings raised deep inside tapeflow are most useful when they name the
line of the user's program that led there. :func:`user_frame` finds it;
:func:`attribute_numpy_warnings` makes numpy's floating-point warnings (``divide by
zero encountered in log``), which Python files under the tapeflow frame that called
numpy, point at that line instead.

Example:
    >>> frame = user_frame()
    >>> frame is not None
    True
"""

from __future__ import annotations

import linecache
import os
import sys
import warnings
from types import FrameType
from typing import Any

import numpy

__all__ = [
    "user_frame",
    "user_location",
    "describe_location",
    "is_internal_file",
    "attribute_numpy_warnings",
]

_TAPEFLOW_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


_NUMPY_DIR = os.path.dirname(os.path.abspath(numpy.__file__)) + os.sep


def is_internal_file(filename: str) -> bool:
    """True for files of tapeflow and numpy (numpy dispatches ``np.sum(traced)`` to us)."""
    return filename.startswith(_TAPEFLOW_DIR) or filename.startswith(_NUMPY_DIR)


def user_frame(skip: int = 1, frame: FrameType | None = None) -> FrameType | None:
    """The innermost frame outside tapeflow and numpy, from ``frame`` outwards.

    By default from the caller's frame, ``skip`` frames up.

    Example:
        >>> user_frame().f_code.co_filename == __file__ or True
        True
    """
    if frame is None:
        frame = sys._getframe(skip)
    while frame is not None and is_internal_file(frame.f_code.co_filename):
        frame = frame.f_back
    return frame


def user_location(skip: int = 1) -> tuple[str, int, dict[str, Any]] | None:
    """``(filename, line, globals)`` of :func:`user_frame` now (a frame's line moves on).

    Example:
        >>> user_location()[1] > 0
        True
    """
    frame = user_frame(skip + 1)
    if frame is None:
        return None
    return frame.f_code.co_filename, frame.f_lineno, frame.f_globals


def describe_location(location: tuple[str, int, dict[str, Any]] | None) -> str:
    """``path:line`` and the source line (what error messages show).

    Example:
        >>> describe_location(None)
        '<unknown location>'
    """
    if location is None:
        return "<unknown location>"
    filename, lineno, globs = location
    source = linecache.getline(filename, lineno, globs).strip()
    return f"{filename}:{lineno}" + (f"\n    {source}" if source else "")


# ----- numpy's warnings, at the user's line ------------------------------------------
_previous_showwarning: Any = None


def _showwarning(
    message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None
) -> None:
    """Show a RuntimeWarning from a tapeflow file as a warning of the user's line."""
    if filename.startswith(_TAPEFLOW_DIR) and issubclass(category, RuntimeWarning):
        issuer = _issuing_frame(filename)
        frame = user_frame(frame=issuer) if issuer is not None else None
        if frame is not None:
            # Forget it at tapeflow's line (the filters' once-per-location registry), so
            # the same warning from another line of the user's program shows too ...
            registry = issuer.f_globals.get("__warningregistry__") if issuer else None
            if registry:
                text = str(message)
                registry.pop((text, category, lineno), None)
                registry.pop((text, category, 0), None)  # the "module" action's key
            # ... and issue it again at the user's line, where the user's filters apply.
            globs = frame.f_globals
            warnings.warn_explicit(
                message,
                category,
                frame.f_code.co_filename,
                frame.f_lineno,
                module=globs.get("__name__"),
                registry=globs.setdefault("__warningregistry__", {}),
                module_globals=globs,
            )
            return
    _previous_showwarning(message, category, filename, lineno, file, line)


def _issuing_frame(filename: str) -> FrameType | None:
    """The innermost frame running ``filename``: the one that issued the warning."""
    frame: FrameType | None = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename != filename:
        frame = frame.f_back
    return frame


def attribute_numpy_warnings() -> None:
    """Make RuntimeWarnings raised in tapeflow's files point at the user's line.

    numpy reports floating-point trouble (``divide by zero``, ``invalid value``) as a
    RuntimeWarning of the Python line that called it, which inside tapeflow is a line
    of tapeflow. This wraps :func:`warnings.showwarning` (once, at import) so that such
    a warning is issued again at the first frame outside tapeflow; other warnings are
    shown as before. Code that records warnings with ``warnings.catch_warnings(
    record=True)`` (pytest does) bypasses ``showwarning`` and sees tapeflow's line.
    """
    global _previous_showwarning
    if warnings.showwarning is _showwarning:
        return
    _previous_showwarning = warnings.showwarning
    warnings.showwarning = _showwarning
