"""Matrix rows for tapeflow/numpy/fft.py (``tnp.fft`` and ``np.fft`` on traced arrays).

Complex inputs are built inside the function from two real arrays (``a + 1j b``), so
the finite differences stay real while every complex cotangent is exercised; complex
outputs are compared through random complex directions. Odd and even lengths, each
``norm``, cut and zero-padded lengths (``n``, ``s``) and a repeated axis all get rows.
"""

import numpy as np

import tapeflow.numpy as tnp
from tests.numpy.spec import Case

F = tnp.fft
NORMS = (None, "ortho", "forward")
ALL = ["fft.fftn", "fft.ifftn", "fft.rfft", "fft.irfft"]


def _complex(fun):  # noqa: ANN001, ANN202
    """``fun`` of the complex array ``a + 1j b``."""
    return lambda a, b: fun(a + 1j * b)


def _pairs(*shapes):  # noqa: ANN001, ANN202
    return tuple((s, s) for s in shapes)


_VECTORS = _pairs((4,), (5,), (2, 3, 5))

CASES = [
    # complex to complex, 1-d: every norm, cut and padded lengths, another axis
    *(
        Case(
            f"fft.{name}-norm{norm}",
            _complex(lambda z, name=name, norm=norm: getattr(F, name)(z, norm=norm)),
            _VECTORS,
            covers=["fft.fftn" if name == "fft" else "fft.ifftn"],
        )
        for name in ("fft", "ifft")
        for norm in NORMS
    ),
    Case("fft.fft-real", F.fft, (((5,),), ((2, 4),)), covers=["fft.fftn"]),
    Case("fft.fft-n-cut", _complex(lambda z: F.fft(z, n=3)), _VECTORS, covers=["fft.fftn"]),
    Case("fft.fft-n-pad", _complex(lambda z: F.fft(z, n=7, axis=0)), _VECTORS, covers=["fft.fftn"]),
    Case("fft.ifft-n-pad", _complex(lambda z: F.ifft(z, n=6)), _VECTORS, covers=["fft.ifftn"]),
    # complex to complex, N-d
    Case(
        "fft.fftn",
        _complex(F.fftn),
        _pairs((3, 4), (2, 3, 5)),
        covers=["fft.fftn"],
    ),
    Case(
        "fft.ifftn-s-axes",
        _complex(lambda z: F.ifftn(z, s=(2, 6), axes=(0, -1), norm="ortho")),
        _pairs((3, 4), (3, 2, 5)),
        covers=["fft.ifftn"],
    ),
    Case(
        "fft.fftn-repeated-axis",
        _complex(lambda z: F.fftn(z, s=(3, 4), axes=(-1, -1))),
        _pairs(
            (2, 5),
        ),
        covers=["fft.fftn"],
    ),
    Case("fft.fft2", _complex(F.fft2), _pairs((3, 4), (2, 2, 3)), covers=["fft.fftn"]),
    Case(
        "fft.ifft2",
        _complex(lambda z: F.ifft2(z, s=(4, 3), norm="forward")),
        _pairs((3, 4)),
        covers=["fft.ifftn"],
    ),
    # real to half spectrum and back, odd and even lengths, every norm
    *(
        Case(
            f"fft.rfft-norm{norm}",
            lambda x, norm=norm: F.rfft(x, norm=norm),
            (((4,),), ((5,),), ((2, 3, 5),), ((3, 6),)),
            covers=["fft.rfft"],
        )
        for norm in NORMS
    ),
    Case("fft.rfft-n", lambda x: F.rfft(x, n=7, axis=0), (((4, 2),), ((9,),)), covers=["fft.rfft"]),
    *(
        Case(
            f"fft.irfft-n{n}-norm{norm}",
            _complex(lambda z, n=n, norm=norm: F.irfft(z, n=n, norm=norm)),
            _pairs((3,), (2, 4)),
            covers=["fft.irfft"],
        )
        for n in (None, 5, 6)
        for norm in NORMS
    ),
    Case(
        "fft.irfft-real", lambda x: F.irfft(x, axis=0), (((3, 2),), ((4,),)), covers=["fft.irfft"]
    ),
    *(
        Case(
            f"fft.rfftn-{label}",
            lambda x, s=s: F.rfftn(x, s=s, axes=None if s is None else (0, 1)),
            (((3, 4),), ((3, 5),)) if s is None else (((3, 4),),),
            covers=["fft.rfft", "fft.fftn"],
        )
        for label, s in (("default", None), ("odd", (3, 5)), ("even", (2, 6)))
    ),
    Case("fft.rfftn-3d", F.rfftn, (((2, 3, 5),),), covers=["fft.rfft", "fft.fftn"]),
    *(
        Case(
            f"fft.irfftn-{label}",
            _complex(lambda z, s=s: F.irfftn(z, s=s, axes=None if s is None else (0, 1))),
            _pairs((3, 4)),
            covers=["fft.irfft", "fft.ifftn"],
        )
        for label, s in (("default", None), ("odd", (3, 5)), ("even", (4, 6)))
    ),
    Case(
        "fft.irfftn-3d-ortho",
        _complex(lambda z: F.irfftn(z, s=(2, 3, 5), norm="ortho")),
        _pairs((2, 3, 3)),
        covers=["fft.irfft", "fft.ifftn"],
    ),
    Case("fft.rfft2", F.rfft2, (((3, 5),), ((2, 4, 4),)), covers=["fft.rfft", "fft.fftn"]),
    Case(
        "fft.irfft2",
        _complex(lambda z: F.irfft2(z, s=(3, 5))),
        _pairs((3, 3)),
        covers=["fft.irfft", "fft.ifftn"],
    ),
    # Hermitian transforms
    *(
        Case(
            f"fft.hfft-n{n}",
            _complex(lambda z, n=n: F.hfft(z, n=n)),
            _pairs((3,), (2, 4)),
            covers=["fft.irfft", "conjugate"],
        )
        for n in (None, 5)
    ),
    *(
        Case(
            f"fft.hfft-norm{norm}-axis0",
            _complex(lambda z, norm=norm: F.hfft(z, n=4, axis=0, norm=norm)),
            _pairs((3,), (3, 2)),
            covers=["fft.irfft", "conjugate"],
        )
        for norm in ("ortho", "forward")
    ),
    Case(
        "fft.ihfft",
        lambda x: F.ihfft(x, norm="ortho"),
        (((4,),), ((2, 5),)),
        covers=["fft.rfft", "conjugate"],
    ),
    *(
        Case(
            f"fft.ihfft-n{n}-norm{norm}",
            lambda x, n=n, norm=norm: F.ihfft(x, n=n, axis=0, norm=norm),
            (((4,),), ((5, 2),)),
            covers=["fft.rfft", "conjugate"],
        )
        for n, norm in ((3, None), (7, "forward"))
    ),
    Case(
        "fft.rfft2-irfft2-axes-norm",
        lambda x: (
            F.rfft2(x, s=(3, 3), axes=(0, 2), norm="ortho")
            * F.fft2(x, axes=(0, 2), norm="forward")[:, :, :2][:3]
            + F.irfft2(x * (1 - 1j), s=(3, 3), axes=(2, 0), norm="forward")[:, :1, :2][:3]
        ),
        (((3, 2, 3),),),
        covers=["fft.rfft", "fft.irfft", "fft.fftn", "fft.ifftn"],
    ),
    # shifts and frequencies
    Case(
        "fft.fftshift",
        lambda x: F.fftshift(x) * F.ifftshift(x, axes=-1) + F.ifftshift(F.fftshift(x, axes=0)),
        (((5,),), ((2, 3),), ((4, 3, 2),)),
        covers=["roll"],
    ),
    Case(
        "fft.fftfreq-d",
        lambda d: F.fftfreq(5, d) + F.rfftfreq(8, d=d),
        (((),),),
        domains=lambda z: np.abs(z) + 0.5,
        covers=["true_divide"],
    ),
    # plain numpy code on traced arrays
    Case(
        "np.fft",
        _complex(
            lambda z: (
                np.fft.fft(z) * np.fft.ifft(z, norm="ortho")
                + np.fft.fftn(z, axes=(0,))
                + np.fft.hfft(z, n=3)[..., :1]
            )
        ),
        _pairs((2, 3)),
        covers=ALL,
    ),
    Case(
        "np.fft-real",
        lambda x: (
            np.fft.irfftn(np.fft.rfftn(x) * (1 - 2j), s=x.shape, axes=(0, 1))
            + np.fft.irfft2(np.fft.rfft2(x) * 2, s=x.shape, axes=(0, 1))
            + np.fft.fftshift(np.fft.irfft(np.fft.rfft(x), n=5))
            + np.real(np.fft.ihfft(x)[..., :1])
            + np.real(np.fft.fft2(x) + np.fft.ifft2(x) + np.fft.ifftn(x))
            + np.fft.ifftshift(x)
        ),
        (((2, 5),),),
        covers=ALL,
    ),
]
