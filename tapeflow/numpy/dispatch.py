"""numpy's dispatch protocols for traced arrays (NEP 13 ``__array_ufunc__`` and
NEP 18 ``__array_function__``).

Plain numpy code (``np.exp(x)``, ``np.sum(x, axis=0)``, ``ndarray @ x``)
reaches tapeflow through these hooks. Each numpy function maps to the one
tapeflow implementation registered for it with ``register_numpy``; anything
unregistered fails with a message naming the function, instead of numpy's
generic error or a silently dropped gradient.
"""

from __future__ import annotations

from typing import Any

from tapeflow.primitive import NUMPY_DISPATCH

__all__ = ["array_ufunc", "array_function", "unsupported_error"]


def _qualified_name(func: Any) -> str:
    module = getattr(func, "__module__", None) or "numpy"
    name = getattr(func, "__name__", repr(func))
    if module.startswith("numpy") and not module.startswith("numpy.linalg") and not module.startswith("numpy.fft"):
        module = "numpy"
    return f"{module}.{name}"


def unsupported_error(func: Any, detail: str = "") -> TypeError:
    return TypeError(
        f"tapeflow cannot differentiate {_qualified_name(func)}{detail} yet; see docs/coverage.md "
        "for the supported functions, or declare it with tp.primitive and tp.defvjp."
    )


def array_ufunc(ufunc: Any, method: str, inputs: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if kwargs.get("out") is not None:
        raise TypeError(
            f"numpy.{ufunc.__name__}(..., out=...) would write into an array in place, which "
            "traced arrays do not allow; assign the result instead (y = np.f(x))"
        )
    if method != "__call__":
        impl = NUMPY_DISPATCH.get((ufunc, method))
        if impl is None:
            raise unsupported_error(ufunc, f".{method}")
        return impl(*inputs, **kwargs)
    impl = NUMPY_DISPATCH.get(ufunc)
    if impl is None:
        raise unsupported_error(ufunc)
    kwargs.pop("out", None)
    return impl(*inputs, **kwargs)


def array_function(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    impl = NUMPY_DISPATCH.get(func)
    if impl is None:
        raise unsupported_error(func)
    return impl(*args, **kwargs)
