"""Matrix rows for tapeflow/scipy/signal.py: N-d convolution and correlation.

Every mode with both methods, inputs larger and smaller than each other, 1-d to 3-d,
and complex inputs built inside the function from real ones.
"""

import tapeflow.scipy.signal as ss
from tests.numpy.spec import Case

COVERS = ["scipy.signal.convolve"]
SHAPES = {
    "full": (((5,), (3,)), ((2, 3), (4, 2)), ((3, 2, 2), (2, 2, 3))),
    "same": (((5,), (3,)), ((3,), (4,)), ((4, 3), (2, 2)), ((2, 3), (3, 4))),
    "valid": (((5,), (3,)), ((2,), (4,)), ((4, 3), (2, 2)), ((2, 2), (3, 4))),
}

CASES = [
    *(
        Case(
            f"signal.{name}-{mode}-{method}",
            (lambda f, mode, method: lambda a, b: f(a, b, mode=mode, method=method))(
                getattr(ss, name), mode, method
            ),
            SHAPES[mode],
            covers=COVERS,
        )
        for name in ("convolve", "correlate")
        for mode in ("full", "same", "valid")
        for method in ("direct", "fft")
    ),
    Case(
        "signal.convolve-auto-complex",
        lambda a, b: ss.convolve(a + 1j * a**2, b * (2 - 1j), mode="same"),
        (((4, 3), (2, 2)), ((6,), (3,))),
        covers=COVERS,
    ),
    Case(
        "signal.correlate-complex",
        lambda a, b: ss.correlate(a * (1 + 0.5j), b - 1j * b**2, mode="full", method="fft"),
        (((4, 3), (2, 2)), ((3,), (5,))),
        covers=COVERS,
    ),
    Case("signal.convolve-0d", lambda a, b: ss.convolve(a, b) + ss.correlate(a, b), (((), ()),)),
]
