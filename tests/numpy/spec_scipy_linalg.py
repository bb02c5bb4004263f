"""Matrix rows for tapeflow/scipy/linalg (SciPy's kernels)."""

import numpy as np

import tapeflow.numpy as tnp
import tapeflow.scipy.linalg as sla
from tests.numpy.needs_scipy import needs_scipy
from tests.numpy.spec import Case, real


def _triangular(z):  # noqa: ANN001, ANN202
    return 0.3 * z + 2.0 * np.eye(z.shape[-1])


def _spd(z):  # noqa: ANN001, ANN202
    return 0.3 * z @ np.swapaxes(z, -1, -2) + 1.5 * np.eye(z.shape[-1])


def _band(upper):  # noqa: ANN001, ANN202
    # LAPACK band storage with a dominant main diagonal (row ``upper``).
    return lambda z: 0.3 * z + 3.0 * (np.arange(z.shape[-2])[:, None] == upper)


def _complex(make):  # noqa: ANN001, ANN202
    """A row of complex matrices, built from real inputs (re, im per argument), whose
    output is turned real by a fixed complex weight (so both parts are checked)."""

    def run(*parts):  # noqa: ANN002, ANN202
        z = [re + 1j * im for re, im in zip(parts[::2], parts[1::2], strict=True)]
        return tnp.real(make(*z) * (0.6 - 0.8j))

    return needs_scipy(run)


def _upper(z):  # noqa: ANN001, ANN202
    return np.triu(0.3 * z) + 2.0 * np.eye(z.shape[-1])


def _small(z):  # noqa: ANN001, ANN202
    return 0.3 * z


def _hermitian_pd(a, b):  # noqa: ANN001, ANN202
    m = a + 0.3j * b
    # A float32 identity keeps complex64 rows complex64.
    return m @ tnp.conj(tnp.swapaxes(m, -1, -2)) + np.eye(3, dtype=np.float32) * 1.5


_SOLVE_SHAPES = (
    ((3, 3), (3,)),
    ((3, 3), (3, 2)),
    ((2, 3, 3), (3,)),
    ((2, 3, 3), (2, 3, 2)),
    ((3, 3), (2, 3, 2)),
)

CASES = [
    *[
        Case(
            f"scipy.linalg.solve_triangular-{label}",
            needs_scipy(lambda a, b, kw=kw: sla.solve_triangular(a, b, **kw)),
            _SOLVE_SHAPES,
            domains=[_triangular, real],
            covers=["scipy.linalg.solve_triangular"],
        )
        for label, kw in [
            ("lower", dict(lower=True)),
            ("upper-T", dict(trans="T")),
            ("lower-C-unit", dict(trans=2, lower=True, unit_diagonal=True)),
        ]
    ],
    *[
        Case(
            f"scipy.linalg.cho_solve-lower{int(low)}",
            needs_scipy(lambda a, b, low=low: sla.cho_solve(sla.cho_factor(a, lower=low), b)),
            (((3, 3), (3,)), ((2, 3, 3), (3, 2))),
            domains=[_spd, real],
            covers=["scipy.linalg.solve_triangular"],
        )
        for low in (False, True)
    ],
    Case(
        "scipy.linalg.cho_factor",
        lambda a: sla.cho_factor(a)[0],
        (((3, 3),), ((2, 3, 3),)),
        domains=_spd,
        covers=["linalg.cholesky"],
    ),
    Case(
        "scipy.linalg.lu_factor",
        needs_scipy(lambda a: sla.lu_factor(a)[0]),
        (((3, 3),), ((2, 3, 3),)),
        domains=lambda z: z + 0.5 * np.eye(3),
        covers=["scipy.linalg.lu_factor"],
    ),
    *[
        Case(
            f"scipy.linalg.lu_solve-trans{trans}",
            needs_scipy(lambda a, b, trans=trans: sla.lu_solve(sla.lu_factor(a), b, trans=trans)),
            (((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 3, 3), (2, 3, 2))),
            domains=[lambda z: z + 0.5 * np.eye(3), real],
            covers=["scipy.linalg.lu_factor", "scipy.linalg.solve_triangular"],
        )
        for trans in (0, 1)
    ],
    Case(
        "scipy.linalg.expm",
        needs_scipy(sla.expm),
        (((3, 3),), ((2, 3, 3),)),
        domains=lambda z: 0.5 * z,
        covers=["scipy.linalg.expm"],
    ),
    Case(
        "scipy.linalg.expm-complex",
        needs_scipy(lambda a, b: tnp.real(sla.expm(0.5 * a + 0.5j * b) * (0.6 - 0.8j))),
        (((3, 3), (3, 3)),),
        domains=[real, real],
        covers=["scipy.linalg.expm"],
    ),
    Case(
        "scipy.linalg.sqrtm",
        needs_scipy(sla.sqrtm),
        (((3, 3),), ((2, 3, 3),)),
        domains=_spd,
        covers=["scipy.linalg.sqrtm", "scipy.linalg.solve_sylvester"],
    ),
    Case(
        "scipy.linalg.sqrtm-complex",
        needs_scipy(lambda a, b: tnp.real(sla.sqrtm(a + 0.3j * b) * (0.6 - 0.8j))),
        (((3, 3), (3, 3)),),
        domains=[_spd, real],
        covers=["scipy.linalg.sqrtm"],
    ),
    Case(
        "scipy.linalg.solve_sylvester",
        needs_scipy(sla.solve_sylvester),
        (((3, 3), (2, 2), (3, 2)), ((2, 3, 3), (2, 2), (3, 2))),
        domains=[_triangular, _triangular, real],
        covers=["scipy.linalg.solve_sylvester"],
    ),
    *[
        Case(
            f"scipy.linalg.solve_banded-{lower}{upper}",
            needs_scipy(lambda ab, b, lu=(lower, upper): sla.solve_banded(lu, ab, b)),
            (
                ((lower + upper + 1, 5), (5,)),
                ((lower + upper + 1, 5), (5, 2)),
                ((2, lower + upper + 1, 5), (5,)),
            ),
            domains=[_band(upper), real],
            covers=["scipy.linalg.solve_banded"],
        )
        for lower, upper in ((1, 1), (2, 0), (0, 1))
    ],
    # Complex matrices wherever SciPy takes them.
    *[
        Case(
            f"scipy.linalg.solve_triangular-complex-trans{trans}",
            _complex(lambda a, b, trans=trans: sla.solve_triangular(a, b, trans=trans)),
            (((3, 3), (3, 3), (3, 2), (3, 2)),),
            domains=[_upper, _small, real, real],
            covers=["scipy.linalg.solve_triangular"],
        )
        for trans in (0, 1, 2)
    ],
    Case(
        "scipy.linalg.cho_solve-complex",
        needs_scipy(
            lambda a, b, c, d: tnp.real(
                sla.cho_solve(sla.cho_factor(_hermitian_pd(a, b)), c + 1j * d) * (0.6 - 0.8j)
            )
        ),
        (((3, 3), (3, 3), (3,), (3,)),),
        domains=[_small, _small, real, real],
        covers=["scipy.linalg.solve_triangular", "linalg.cholesky"],
    ),
    *[
        Case(
            f"scipy.linalg.lu_solve-complex-trans{trans}",
            _complex(lambda a, b, trans=trans: sla.lu_solve(sla.lu_factor(a), b, trans=trans)),
            (((3, 3), (3, 3), (3, 2), (3, 2)),),
            domains=[lambda z: z + 0.5 * np.eye(3), _small, real, real],
            covers=["scipy.linalg.lu_factor", "scipy.linalg.solve_triangular"],
        )
        for trans in (0, 2)
    ],
    Case(
        "scipy.linalg.solve_sylvester-complex",
        _complex(sla.solve_sylvester),
        (((3, 3), (3, 3), (2, 2), (2, 2), (3, 2), (3, 2)),),
        domains=[_triangular, _small, _triangular, _small, real, real],
        covers=["scipy.linalg.solve_sylvester"],
    ),
    Case(
        "scipy.linalg.solve_banded-complex",
        _complex(lambda ab, b: sla.solve_banded((1, 1), ab, b)),
        (((3, 5), (3, 5), (5,), (5,)),),
        domains=[_band(1), _small, real, real],
        covers=["scipy.linalg.solve_banded"],
    ),
]
