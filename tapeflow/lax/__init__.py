"""Control flow as primitives, with JAX's signatures: ``tapeflow.lax``.

Loops and branches whose bodies are traced once: :func:`scan`, :func:`fori_loop`,
:func:`while_loop`, :func:`map`, :func:`cond`, :func:`switch`, plus
:func:`associative_scan`, :func:`select` and :func:`stop_gradient`. They work eagerly
and under every transform; under ``tp.jit`` the compiled program loops over one copy
of each body. See docs/control-flow.md.
"""

from tapeflow.lax.scan import map, scan

__all__ = ["scan", "map"]
