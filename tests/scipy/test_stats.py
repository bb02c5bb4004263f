"""tapeflow.scipy.stats against SciPy: values, dtypes, edges and errors; the shape
derivatives of the incomplete gamma and beta functions (the CDFs' kernels) against mpmath.

Derivatives against finite differences are in the matrix (tests/numpy/spec_stats.py).
The value checks need SciPy (or mpmath) as the reference and skip, saying so, when it
is not installed (CI installs both).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow.scipy import special as tsp
from tapeflow.scipy import stats
from tapeflow.vmap import BatchingFallbackWarning

RNG = np.random.default_rng(0)
N = 400
X = RNG.standard_normal(N) * 3
SHAPE_A = np.abs(RNG.standard_normal(N)) * 3 + 0.1
SHAPE_B = np.abs(RNG.standard_normal(N)) * 3 + 0.1
UNIT = RNG.uniform(-0.2, 1.2, N)  # inside and outside beta's support
COUNTS = RNG.integers(-2, 30, N).astype(float)
COUNTS[:5] += 0.5  # not integers: probability 0
MEANS = np.abs(RNG.standard_normal(N)) * 8
MEANS[0] = 0.0

CONTINUOUS = ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")
# (distribution, function names, positional arguments): tapeflow and SciPy get the same.
ROWS = [
    ("norm", CONTINUOUS, (X, 0.5, 2.0)),
    ("norm", CONTINUOUS, (X, 0.5, np.where(X > 0, 2.0, -1.0))),  # scale <= 0: nan
    ("norm", ("ppf", "isf"), (np.clip(UNIT, 1e-3, 1 - 1e-3), 0.5, 2.0)),
    ("t", CONTINUOUS, (X, SHAPE_A * 2, 0.3, 1.5)),
    ("t", CONTINUOUS, (X * 1e-3, SHAPE_A, 0.0, 1.0)),  # near the center
    ("t", CONTINUOUS, (X * 0.2, SHAPE_A * 0.3 + 0.01)),  # the center's series, df < 1
    ("t", CONTINUOUS, (X, SHAPE_A * 1e4)),  # large df
    ("t", CONTINUOUS, (X, np.where(X > 0, 2.0, -1.0))),  # df <= 0: nan
    ("gamma", CONTINUOUS, (X, SHAPE_A, -1.0, 1.5)),
    ("gamma", CONTINUOUS, (np.abs(X) * 20, SHAPE_A * 30)),  # large shapes
    ("chi2", CONTINUOUS, (X, SHAPE_A, -1.0, 1.5)),
    ("beta", CONTINUOUS, (UNIT, SHAPE_A, SHAPE_B)),
    ("beta", CONTINUOUS, (UNIT * 3, SHAPE_A * 20, SHAPE_B * 20, -0.5, 2.0)),
    ("poisson", ("logpmf", "pmf", "cdf", "logcdf", "sf", "logsf"), (COUNTS, MEANS)),
    ("poisson", ("logpmf", "cdf", "sf"), (COUNTS, MEANS, 2.0)),  # loc
]
PARAMS = [
    pytest.param(dist, fn, args, id=f"{dist}.{fn}-{i}")
    for i, (dist, fns, args) in enumerate(ROWS)
    for fn in fns
]


def _scipy_stats():  # noqa: ANN202
    return pytest.importorskip("scipy.stats", reason="SciPy is the reference")


def _assert_close(got, expected, rtol=1e-10) -> None:  # noqa: ANN001
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.shape == expected.shape
    # log-probabilities near 0 are compared on an absolute scale
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=1e-14, equal_nan=True)


@pytest.mark.parametrize("dist,fn,args", PARAMS)
def test_values_match_scipy(dist: str, fn: str, args: tuple) -> None:
    reference = getattr(getattr(_scipy_stats(), dist), fn)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # SciPy warns on nan parameters
        expected = reference(*args)
    got = getattr(getattr(stats, dist), fn)(*args)
    # SciPy's own log(1 - tiny) and log(cdf) round where tapeflow takes log1p of the
    # complement: those entries agree to 1e-6 relative (checked against mpmath below).
    rtol = 1e-6 if fn in ("logcdf", "logsf") else 1e-9
    _assert_close(got, expected, rtol)


@pytest.mark.parametrize(
    "dist,args",
    [
        ("norm", (0.3, 0.1, 2.0)),
        ("t", (0.3, 3.0, 0.1, 2.0)),
        ("gamma", (2.3, 3.0, 0.1, 2.0)),
        ("chi2", (2.3, 3.0, 0.1, 2.0)),
        ("beta", (0.3, 3.0, 2.0)),
    ],
)
def test_float32_stays_float32_and_scalars_stay_scalars(dist: str, args: tuple) -> None:
    for fn in CONTINUOUS:
        f = getattr(getattr(stats, dist), fn)
        assert np.ndim(f(*args)) == 0 and np.result_type(f(*args)) == np.float64
        single = f(*(np.float32(a) for a in args))
        assert single.dtype == np.float32, (dist, fn)
        expected = f(*args)
        np.testing.assert_allclose(single, expected, rtol=1e-5, atol=1e-6)


def test_log_tails_are_more_accurate_than_log_of_the_probability() -> None:
    mpmath = pytest.importorskip("mpmath", reason="mpmath is the high-precision reference")
    mpmath.mp.dps = 40
    # P(a, y) near 1: gamma.logsf, poisson.logcdf, beta.logcdf near 0
    cases = [
        (stats.gamma.logsf(0.03, 2.5), mpmath.log(mpmath.gammainc(2.5, 0.03, mpmath.inf, True))),
        (stats.poisson.logcdf(30.0, 2.0), mpmath.log(mpmath.gammainc(31, 2.0, mpmath.inf, True))),
        (stats.beta.logcdf(0.999, 2.0, 3.0), mpmath.log(mpmath.betainc(2, 3, 0, 0.999, True))),
        (stats.t.logcdf(30.0, 3.0), None),
    ]
    for got, exact in cases[:3]:
        np.testing.assert_allclose(got, float(exact), rtol=1e-12)
    assert -1e-4 < cases[3][0] < 0  # log1p(-tail), not log of a rounded 1


def test_dirichlet_matches_scipy() -> None:
    scipy_stats = _scipy_stats()
    alpha = np.array([1.5, 2.0, 0.7])
    points = RNG.dirichlet(alpha, 5).T  # components on the first axis, as in SciPy
    for x in (points, points[:, 0], points[:2], points[:2, 0]):
        for fn in ("logpdf", "pdf"):
            expected = getattr(scipy_stats.dirichlet, fn)(x, alpha)
            _assert_close(getattr(stats.dirichlet, fn)(x, alpha), expected)


@pytest.mark.parametrize(
    "x,alpha,match",
    [
        ([0.2, 0.8], [0.0, 1.0], "greater than 0"),
        ([0.2, 0.8], [[1.0, 1.0]], "one dimensional"),
        ([0.2, 0.3, 0.1, 0.4], [1.0, 1.0], "one entry fewer"),
        ([-0.2, 1.2], [1.0, 1.0], "greater than or equal to zero"),
        ([0.0, 1.0], [0.5, 1.0], "greater than zero if its alpha is less than one"),
        ([0.2, 0.7], [1.0, 1.0], "normal simplex"),
    ],
)
def test_dirichlet_checks_like_scipy(x, alpha, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        stats.dirichlet.logpdf(np.array(x), np.array(alpha))
    # the checks run under grad too, where the values are known
    with pytest.raises(ValueError, match=match):
        tp.grad(lambda a: tnp.sum(stats.dirichlet.logpdf(np.array(x), a)))(np.array(alpha))


def test_multivariate_normal_matches_scipy() -> None:
    scipy_stats = _scipy_stats()
    a = RNG.standard_normal((3, 3))
    cov = a @ a.T + np.eye(3)
    mean = RNG.standard_normal(3)
    points = RNG.standard_normal((4, 3))
    cases = [
        (points, mean, cov),
        (points, None, cov),
        (points, mean, np.array([1.0, 2.0, 3.0])),
        (points, mean, 2.0),
        (points[0], mean, cov),
        (points[:, 0], None, 2.0),  # one dimension: each entry a point
        (0.5, None, 1),
    ]
    for x, m, c in cases:
        for fn in ("logpdf", "pdf"):
            expected = getattr(scipy_stats.multivariate_normal, fn)(x, m, c)
            _assert_close(getattr(stats.multivariate_normal, fn)(x, m, c), expected)


def test_multivariate_normal_cdf_matches_scipy() -> None:
    scipy_stats = _scipy_stats()
    for dim in (1, 2, 3, 5):
        a = RNG.standard_normal((dim, dim))
        cov, mean = a @ a.T + 0.5 * np.eye(dim), RNG.standard_normal(dim)
        points = RNG.standard_normal((4, dim))
        cases = [
            ((points, mean, cov), {}),
            ((points[0], mean, np.diag(cov)), {}),
            ((points, None, cov), {}),
            ((points, mean, 1.5), {"lower_limit": points - 1.5}),
            ((points, mean, cov), {"lower_limit": np.full(dim, -np.inf)}),
        ]
        for args, kw in cases:
            # SciPy's own error is its abseps and releps: asked for far less than ours
            tight = {"abseps": 1e-8, "releps": 1e-8, "maxpts": 10**5 * dim}
            expected = scipy_stats.multivariate_normal.cdf(*args, **kw, **tight)
            got = stats.multivariate_normal.cdf(*args, **kw)
            assert np.shape(got) == np.shape(expected)
            # one dimension is exact; the lattice's error is of the order of 1e-5 (SciPy's default)
            np.testing.assert_allclose(got, expected, rtol=1e-12 if dim == 1 else 0, atol=5e-5)
            log_got = stats.multivariate_normal.logcdf(*args, **kw)
            np.testing.assert_allclose(log_got, np.log(got), rtol=1e-14)
    # far in the lower tail (P = 2e-8) the relative error is 3e-4, and falls with maxpts
    cov = np.array([[1.0, 0.6, 0.2], [0.6, 2.0, 0.3], [0.2, 0.3, 1.5]])
    x = np.array([-4.0, -5.0, -3.5])
    tight = {"abseps": 1e-30, "releps": 1e-6, "maxpts": 10**6}
    expected = scipy_stats.multivariate_normal.logcdf(x, cov=cov, **tight)
    np.testing.assert_allclose(stats.multivariate_normal.logcdf(x, cov=cov), expected, atol=1e-3)
    more = stats.multivariate_normal.logcdf(x, cov=cov, maxpts=2**16)
    np.testing.assert_allclose(more, expected, atol=2e-4)


@pytest.mark.parametrize("rho", [-0.9, 0.0, 0.5, 0.95])
def test_multivariate_normal_cdf_derivatives_are_the_known_ones(rho: float) -> None:
    # Standard bivariate normal: P(0, 0) = 1/4 + asin(rho) / (2 pi); its slope in x[0] at
    # (a, b) is pdf(a) cdf((b - rho a) / sqrt(1 - rho^2)), in rho the joint density.
    def with_rho(x, r):  # noqa: ANN001, ANN202
        cov = tnp.stack([tnp.stack([tnp.ones_like(r), r]), tnp.stack([r, tnp.ones_like(r)])])
        return stats.multivariate_normal.cdf(x, cov=cov)

    zero, r = np.zeros(2), np.float64(rho)
    np.testing.assert_allclose(with_rho(zero, r), 0.25 + np.arcsin(rho) / (2 * np.pi), atol=2e-5)
    x = np.array([0.3, -0.4])
    s = np.sqrt(1 - rho * rho)
    norm = stats.norm
    d_x = tp.grad(with_rho)(x, r)
    expected_x = [
        norm.pdf(x[0]) * norm.cdf((x[1] - rho * x[0]) / s),
        norm.pdf(x[1]) * norm.cdf((x[0] - rho * x[1]) / s),
    ]
    np.testing.assert_allclose(d_x, expected_x, rtol=2e-3, atol=2e-5)
    _, d_rho = tp.jvp(with_rho, (x, r), (np.zeros(2), np.float64(1.0)))
    quad = (x[0] ** 2 - 2 * rho * x[0] * x[1] + x[1] ** 2) / (1 - rho * rho)
    np.testing.assert_allclose(d_rho, np.exp(-quad / 2) / (2 * np.pi * s), rtol=2e-3, atol=2e-5)


def test_multivariate_normal_cdf_keeps_float32_and_runs_under_vmap_and_jit() -> None:
    cov = np.array([[1.0, 0.3], [0.3, 2.0]])
    xs = RNG.standard_normal((5, 2))

    def f(x):  # noqa: ANN001, ANN202
        return stats.multivariate_normal.cdf(x, cov=cov.astype(x.dtype), maxpts=1024)

    assert f(xs.astype(np.float32)).dtype == np.float32
    assert tp.grad(lambda x: tnp.sum(f(x)))(xs.astype(np.float32)).dtype == np.float32
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingFallbackWarning)
        np.testing.assert_allclose(tp.vmap(f)(xs), f(xs), rtol=1e-13)
        grads = tp.vmap(tp.grad(f))(xs)
    np.testing.assert_allclose(grads, np.stack([tp.grad(f)(x) for x in xs]), rtol=1e-12)
    np.testing.assert_allclose(tp.jit(f)(xs), f(xs), rtol=1e-13)
    # infinite bounds: that coordinate drops out, with no nan in the gradient
    edge = np.array([0.1, np.inf])
    np.testing.assert_allclose(f(edge), stats.norm.cdf(0.1), rtol=1e-14)
    np.testing.assert_allclose(tp.grad(f)(edge), [stats.norm.pdf(0.1), 0.0], rtol=1e-14)


def test_multivariate_normal_cdf_in_blocks_of_rows_is_the_same(monkeypatch) -> None:  # noqa: ANN001
    from tapeflow.scipy.stats import _genz

    cov = np.array([[1.0, 0.3], [0.3, 2.0]])
    xs = RNG.standard_normal((5, 2))

    def f(x):  # noqa: ANN001, ANN202
        return stats.multivariate_normal.logcdf(x, cov=cov, maxpts=1024, lower_limit=x - 2)

    whole, whole_grad = f(xs), tp.grad(lambda x: tnp.sum(f(x)))(xs)
    monkeypatch.setattr(_genz, "_BLOCK", 2048)  # two rows a block: three blocks
    np.testing.assert_allclose(f(xs), whole, rtol=1e-15)
    # the cotangents of the blocks meet in a different order: equal to rounding
    np.testing.assert_allclose(tp.grad(lambda x: tnp.sum(f(x)))(xs), whole_grad, rtol=1e-14)


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: stats.multivariate_normal.cdf([0.0, 0.0], maxpts=0), ValueError, "maxpts"),
        (lambda: stats.multivariate_normal.cdf([0.0], maxpts=2.5), ValueError, "positive integer"),
        (
            lambda: stats.multivariate_normal.cdf(
                [0.0, 0.0], None, np.eye(2), lower_limit=[0, 0, 0]
            ),
            ValueError,
            r"lower_limit of shape \(3,\) does not broadcast to x's shape \(2,\)",
        ),
        (
            lambda: stats.multivariate_normal.logpdf([0.0, 0.0], cov=[[1.0, 2.0], [2.0, 1.0]]),
            np.linalg.LinAlgError,
            "cov must be symmetric positive definite",
        ),
        (
            lambda: stats.multivariate_normal.logcdf([0.0, 0.0], cov=[[1.0, 2.0], [2.0, 1.0]]),
            np.linalg.LinAlgError,
            "cov must be symmetric positive definite",
        ),
        (
            lambda: stats.norm.cdf("a"),
            TypeError,
            "norm.cdf takes real numbers, got an array of <U1",
        ),
        (
            lambda: stats.multivariate_normal.logcdf([0.0], allow_singular=True),
            NotImplementedError,
            "allow_singular",
        ),
        (
            lambda: stats.multivariate_normal.logpdf([0.0], allow_singular=True),
            NotImplementedError,
            "allow_singular",
        ),
        (lambda: stats.multivariate_normal.logpdf([0.0, 1.0], [0.0, 0.0, 0.0]), ValueError, "3"),
        (lambda: stats.norm.logpdf(1j), TypeError, "norm.logpdf takes real arguments"),
        (lambda: stats.gamma.cdf(1.0 + 0j, 2.0), TypeError, "gamma.cdf takes real"),
    ],
)
def test_errors_name_the_problem(call, error, match: str) -> None:
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_t_cdf_has_the_density_as_slope_at_its_center(dtype) -> None:  # noqa: ANN001
    df, zero = dtype(3.0), dtype(0.0)
    rtol = 1e-6 if dtype == np.float64 else 1e-5
    density = _scipy_stats().t.pdf(0.0, 3.0)
    for fn, sign in ((stats.t.cdf, 1), (stats.t.sf, -1), (stats.t.logcdf, 2), (stats.t.logsf, -2)):
        slope = tp.grad(fn)(zero, df)
        assert slope.dtype == dtype
        np.testing.assert_allclose(slope, sign * density, rtol=rtol)
        _, tangent = tp.jvp(fn, (zero, df), (dtype(1.0), dtype(0.0)))
        np.testing.assert_allclose(tangent, sign * density, rtol=rtol)
        assert abs(tp.grad(fn, 1)(zero, df)) < 1e-12  # every df puts half the mass below 0
    np.testing.assert_allclose(stats.t.cdf(zero, df), 0.5, rtol=1e-7)


def test_t_cdf_is_smooth_through_its_center() -> None:
    # The tails go through |z|; at the center an odd series takes over, so the second
    # derivatives there are those of a smooth function (the density's slope, 0 at 0).
    for df in (0.3, 3.0, 1e4):
        for z in (0.0, 1e-8, -0.05):
            hess = tp.hessian(stats.t.cdf, argnums=(0, 1))(z, df)
            slope = tp.grad(stats.t.pdf)(z, df)
            np.testing.assert_allclose(hess[0][0], slope, rtol=1e-9, atol=1e-15)
            assert np.isfinite(hess[1][1]) and np.isfinite(hess[0][1])
        assert tp.hessian(stats.t.cdf, argnums=1)(0.0, df) == 0.0


def test_t_is_accurate_at_its_center_and_for_large_df() -> None:
    mpmath = pytest.importorskip("mpmath", reason="mpmath is the high-precision reference")
    mpmath.mp.dps = 40
    for df in (0.01, 0.3, 3.0, 59.0, 61.0, 1e4, 1e6):
        nu = mpmath.mpf(df)
        log_c = (
            mpmath.loggamma((nu + 1) / 2) - mpmath.loggamma(nu / 2) - mpmath.log(nu * mpmath.pi) / 2
        )
        for z in (-0.3, -0.01, 1e-9, 0.25, 2.0):
            w = mpmath.mpf(z) ** 2 / nu
            logpdf = log_c - (nu + 1) / 2 * mpmath.log1p(w)
            # cdf = 1/2 + z pdf(0) 2F1(1/2, (df+1)/2; 3/2; -z^2/df)
            cdf = 0.5 + z * mpmath.exp(log_c) * mpmath.hyp2f1(0.5, (nu + 1) / 2, 1.5, -w)
            np.testing.assert_allclose(stats.t.logpdf(z, df), float(logpdf), rtol=5e-14)
            if abs(z) < 1:  # the tails of large df are the incomplete beta function's
                np.testing.assert_allclose(stats.t.cdf(z, df), float(cdf), rtol=5e-14)


def test_poisson_count_has_no_gradient_and_mean_has_the_pmf() -> None:
    mu = 3.0
    for k in (0.0, 2.0, 5.0):
        # d/dmu cdf(k; mu) = -pmf(k; mu), d/dmu sf = pmf
        np.testing.assert_allclose(tp.grad(stats.poisson.cdf, 1)(k, mu), -stats.poisson.pmf(k, mu))
        np.testing.assert_allclose(tp.grad(stats.poisson.sf, 1)(k, mu), stats.poisson.pmf(k, mu))
        assert tp.grad(stats.poisson.logpmf, 0)(k, mu) == 0.0


# ----- the incomplete functions the CDFs stand on --------------------------------------
def _nth(fn, argnum: int, order: int):  # noqa: ANN001, ANN202
    for _ in range(order):
        fn = tp.grad(fn, argnum)
    return fn


@pytest.mark.parametrize("order", [1, 2, 3])
def test_shape_derivatives_of_the_incomplete_gamma_function_match_mpmath(order: int) -> None:
    mpmath = pytest.importorskip("mpmath", reason="mpmath is the high-precision reference")
    mpmath.mp.dps = 30
    points = [(0.3, 0.2), (0.7, 3.0), (2.5, 1.0), (6.0, 9.0), (40.0, 35.0), (150.0, 170.0)]
    for a, x in points:
        exact = mpmath.diff(lambda s, x=x: mpmath.gammainc(s, 0, x, regularized=True), a, order)
        np.testing.assert_allclose(_nth(tsp.gammainc, 0, order)(a, x), float(exact), rtol=1e-9)
        upper = _nth(tsp.gammaincc, 0, order)(a, x)
        np.testing.assert_allclose(upper, -float(exact), rtol=1e-9)


@pytest.mark.parametrize("da,db", [(1, 0), (0, 1), (1, 1), (2, 0), (0, 2)])
def test_shape_derivatives_of_the_incomplete_beta_function_match_mpmath(da: int, db: int) -> None:
    mpmath = pytest.importorskip("mpmath", reason="mpmath is the high-precision reference")
    mpmath.mp.dps = 30
    points = [(0.4, 0.6, 0.3), (2.0, 3.0, 0.7), (5.0, 0.8, 0.95), (30.0, 20.0, 0.55)]
    for a, b, x in points:
        exact = mpmath.diff(
            lambda s, t, x=x: mpmath.betainc(s, t, 0, x, regularized=True), (a, b), (da, db)
        )
        ours = _nth(_nth(tsp.betainc, 0, da), 1, db)(a, b, x)
        np.testing.assert_allclose(ours, float(exact), rtol=1e-9)


# ----- transforms ------------------------------------------------------------------------
def test_vmap_is_batched_and_matches_a_loop() -> None:
    xs = np.abs(RNG.standard_normal((4, 3))) + 0.2
    shapes = np.abs(RNG.standard_normal(4)) + 0.5

    def f(x, a):  # noqa: ANN001, ANN202
        return stats.gamma.logcdf(x, a) + stats.beta.sf(x / 4, a, 2.0) + stats.t.cdf(x, a)

    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingFallbackWarning)
        got = tp.vmap(f)(xs, shapes)
        grads = tp.vmap(tp.grad(lambda x, a: tnp.sum(f(x, a)), argnums=(0, 1)))(xs, shapes)
    np.testing.assert_allclose(
        got, np.stack([f(x, a) for x, a in zip(xs, shapes, strict=True)]), rtol=1e-12
    )
    for i in range(2):
        loop = [
            tp.grad(lambda x, a: tnp.sum(f(x, a)), argnums=(0, 1))(x, a)[i]
            for x, a in zip(xs, shapes, strict=True)
        ]
        np.testing.assert_allclose(grads[i], np.stack(loop), rtol=1e-10)


def test_jit_compiles_a_likelihood() -> None:
    data = np.abs(RNG.standard_normal(20)) + 0.1

    def nll(params):  # noqa: ANN001, ANN202
        a, scale = params
        return -tnp.sum(stats.gamma.logpdf(data, a, 0.0, scale)) - stats.gamma.logsf(3.0, a)

    params = np.array([1.5, 0.8])
    compiled = tp.jit(tp.value_and_grad(nll))
    value, grad = compiled(params)
    eager_value, eager_grad = tp.value_and_grad(nll)(params)
    np.testing.assert_array_equal(value, eager_value)
    np.testing.assert_array_equal(grad, eager_grad)


# Every function of every distribution: (name, function, arguments, the arguments that
# hold a batch on their first axis).
_B = 3  # examples in a batch
_XB = RNG.standard_normal((_B, 4))
_POS_B = np.abs(_XB) + 0.3
_UNIT_B = 0.5 + 0.4 * np.tanh(_XB)
_SHAPES_B = np.abs(RNG.standard_normal((_B, 1))) + 0.5
_COVS_B = np.array([[1.5, 0.3], [0.3, 1.0]]) * _SHAPES_B[:, :, None]
_ONE = ("logpmf", "pmf", "cdf", "logcdf", "sf", "logsf")
EVERY = [
    *((f"norm.{fn}", getattr(stats.norm, fn), (_XB, 0.5, 2.0), (0,)) for fn in CONTINUOUS),
    *((f"norm.{fn}", getattr(stats.norm, fn), (_UNIT_B, 0.5, 2.0), (0,)) for fn in ("ppf", "isf")),
    *((f"t.{fn}", getattr(stats.t, fn), (_XB, _SHAPES_B, 0.1, 1.5), (0, 1)) for fn in CONTINUOUS),
    *((f"gamma.{fn}", getattr(stats.gamma, fn), (_POS_B, _SHAPES_B), (0, 1)) for fn in CONTINUOUS),
    *((f"chi2.{fn}", getattr(stats.chi2, fn), (_POS_B, _SHAPES_B), (1,)) for fn in CONTINUOUS),
    *(
        (f"beta.{fn}", getattr(stats.beta, fn), (_UNIT_B, 1.3, _SHAPES_B), (2,))
        for fn in CONTINUOUS
    ),
    *(
        (f"poisson.{fn}", getattr(stats.poisson, fn), (np.arange(4.0), _POS_B * 3), (1,))
        for fn in _ONE
    ),
    *(
        (
            f"dirichlet.{fn}",
            getattr(stats.dirichlet, fn),
            (np.array([0.2, 0.3, 0.5]), _POS_B[:, :3]),
            (1,),
        )
        for fn in ("logpdf", "pdf")
    ),
    *(
        (
            f"multivariate_normal.{fn}",
            getattr(stats.multivariate_normal, fn),
            (_XB.reshape(_B, 2, 2), np.zeros(2), _COVS_B),
            (0, 2),
        )
        for fn in ("logpdf", "pdf", "cdf", "logcdf")
    ),
]
_IDS = [e[0] for e in EVERY]


def _argnums(name: str, args: tuple) -> tuple[int, ...]:
    """Every argument but Poisson's count (discrete: no gradient)."""
    return tuple(i for i in range(len(args)) if not (name.startswith("poisson") and i == 0))


@pytest.mark.parametrize("name,fn,args,batched", EVERY, ids=_IDS)
def test_every_function_runs_batched_under_vmap_and_compiled_under_jit(
    name, fn, args, batched
) -> None:  # noqa: ANN001
    in_axes = tuple(0 if i in batched else None for i in range(len(args)))
    examples = [tuple(a[b] if i in batched else a for i, a in enumerate(args)) for b in range(_B)]
    argnums = _argnums(name, args)

    def loss(*a):  # noqa: ANN002, ANN202
        return tnp.sum(fn(*a))

    # vmap matches a loop over the examples, without falling back to one
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingFallbackWarning)
        got = tp.vmap(fn, in_axes=in_axes)(*args)
        grads = tp.vmap(tp.grad(loss, argnums=argnums), in_axes=in_axes)(*args)
    np.testing.assert_allclose(got, np.stack([fn(*e) for e in examples]), rtol=1e-12)
    for k, g in enumerate(grads):
        loop = np.stack([tp.grad(loss, argnums=argnums)(*e)[k] for e in examples])
        np.testing.assert_allclose(g, loop, rtol=1e-10, atol=1e-14)
    # jit gives the eager value and gradient
    value, grad = tp.jit(tp.value_and_grad(loss, argnums=argnums))(*examples[0])
    eager_value, eager_grad = tp.value_and_grad(loss, argnums=argnums)(*examples[0])
    np.testing.assert_allclose(value, eager_value, rtol=1e-14)
    for g, e in zip(grad, eager_grad, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-13, atol=1e-300)


@pytest.mark.parametrize("name,fn,args,batched", EVERY, ids=_IDS)
def test_every_function_keeps_float32(name, fn, args, batched) -> None:  # noqa: ANN001
    # float32 arrays with Python numbers (weak, as in numpy) give float32 results
    args = tuple(a[0] if i in batched else a for i, a in enumerate(args))
    single = tuple(np.asarray(a, np.float32) if isinstance(a, np.ndarray) else a for a in args)
    out = fn(*single)
    assert np.result_type(out) == np.float32, name
    np.testing.assert_allclose(out, fn(*args), rtol=2e-4, atol=1e-6)
    arrays = tuple(i for i in _argnums(name, args) if isinstance(args[i], np.ndarray))
    grads = tp.grad(lambda *a: tnp.sum(fn(*a)), argnums=arrays)(*single)
    assert all(np.result_type(g) == np.float32 for g in grads), name
