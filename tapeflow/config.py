"""``tp.config``: tapeflow's process-wide switches.

Example:
    >>> import tapeflow as tp
    >>> tp.config.debug_nans
    False
    >>> tp.config.update("jax_debug_nans", True)  # JAX's spelling works too
    >>> tp.config.debug_nans
    True
    >>> tp.config.debug_nans = False
"""

from __future__ import annotations

from typing import Any

from tapeflow.core import debug_nans as _nans

__all__ = ["Config", "config"]


class Config:
    """The switches; ``config.update(name, value)`` also takes JAX's ``jax_`` names."""

    __slots__ = ()

    @property
    def debug_nans(self) -> bool:
        """Raise at the first primitive or rule that makes a NaN or inf (see ``tp.debug_nans``)."""
        return _nans.state.on

    @debug_nans.setter
    def debug_nans(self, value: bool) -> None:
        if value:
            _nans.enable()
        else:
            _nans.disable()

    def update(self, name: str, value: Any) -> None:
        """Set a switch by name: ``config.update("debug_nans", True)``."""
        key = name[len("jax_") :] if name.startswith("jax_") else name
        if key not in _NAMES:
            raise AttributeError(
                f"tp.config has no switch {name!r}; the switches are {', '.join(_NAMES)}"
            )
        setattr(self, key, value)

    def __repr__(self) -> str:
        return "tp.config(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in _NAMES) + ")"


_NAMES = ("debug_nans",)

config = Config()
