"""Control flow as primitives, with JAX's signatures: ``tapeflow.lax``.

Loops and branches whose bodies are traced once: :func:`scan`, :func:`fori_loop`,
:func:`while_loop`, :func:`map`, :func:`cond`, :func:`switch`, plus
:func:`associative_scan`, :func:`select`, :func:`select_n` and :func:`stop_gradient`.
They work eagerly and under every transform; under ``tp.jit`` the compiled program loops
over one copy of each body. See docs/control-flow.md.
"""

from tapeflow.custom import stop_gradient
from tapeflow.lax.associative import associative_scan
from tapeflow.lax.cond import cond, select, select_n, switch
from tapeflow.lax.scan import map, scan
from tapeflow.lax.while_loop import fori_loop, while_loop

__all__ = [
    "scan",
    "map",
    "fori_loop",
    "while_loop",
    "cond",
    "switch",
    "select",
    "select_n",
    "associative_scan",
    "stop_gradient",
]
