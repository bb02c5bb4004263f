"""``tp.jit``: trace a function once per signature, then run it as straight-line numpy.

``tracing`` records the calls and keeps the compiled programs; ``codegen`` writes them.
"""

from tapeflow.jit.tracing import ConcretizationError, JitTrace, is_jit_traced, jit

__all__ = ["jit", "JitTrace", "ConcretizationError", "is_jit_traced"]
