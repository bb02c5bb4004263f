"""Matrix rows for tapeflow/numpy/reductions.py."""

import numpy as np

import tapeflow.numpy as tnp
from tapeflow.numpy.reductions import linear_scan
from tests.numpy.spec import Case, distinct, positive, real

AXES = [None, 0, -1, (0, 1)]
SHAPES = (((2, 3),), ((2, 3, 4),))


def with_zeros(z: np.ndarray) -> np.ndarray:
    """Real values with exact zeros at every third entry (several zeros per slice)."""
    out = real(z).copy()
    out.reshape(-1)[::3] = 0.0
    return out


def with_nan(z: np.ndarray) -> np.ndarray:
    """Distinct values with one NaN (at flat index 1: no slice is all NaN)."""
    out = distinct(z).copy()
    out.reshape(-1)[1] = np.nan
    return out


def _axis_fun(f, axis, keep, **kw):
    return lambda x: f(x, axis=axis, keepdims=keep, **kw)


# (name, function, domain, covers, extra keywords): expanded over every axis/keepdims combination.
REDUCTIONS = [
    ("sum", tnp.sum, real, ["sum"], {}),
    ("mean", tnp.mean, real, ["mean"], {}),
    ("max", tnp.max, distinct, ["max"], {}),
    ("min", tnp.min, distinct, ["min"], {}),
    ("prod", tnp.prod, real, ["prod", "cumprod", "linear_scan"], {}),
    ("prod-zeros", tnp.prod, with_zeros, ["prod"], {}),
    ("var", tnp.var, real, ["mean", "sum"], {}),
    ("var-ddof1", tnp.var, real, ["mean", "sum"], {"ddof": 1}),
    ("std", tnp.std, real, ["mean", "sum"], {}),
    ("std-ddof1", tnp.std, real, ["mean", "sum"], {"ddof": 1}),
    ("ptp", tnp.ptp, distinct, ["max", "min"], {}),
    ("average", tnp.average, real, ["mean"], {}),
    ("nansum", tnp.nansum, with_nan, ["sum"], {}),
    ("nanmean", tnp.nanmean, with_nan, ["sum"], {}),
    ("nanmax", tnp.nanmax, with_nan, ["max"], {}),
    ("nanmin", tnp.nanmin, with_nan, ["min"], {}),
    ("median", tnp.median, distinct, ["permute_along_axis"], {}),
]

CASES = [
    Case(
        f"{name}-axis{axis}-keep{keep}",
        _axis_fun(f, axis, keep, **kw),
        SHAPES,
        domains=dom,
        covers=covers,
    )
    for name, f, dom, covers, kw in REDUCTIONS
    for axis in AXES
    for keep in (False, True)
]

CASES += [
    Case("sum-0d", tnp.sum, (((),),), covers=["sum"]),
    Case(
        "max-ties",
        lambda x: tnp.max(x * 0.0 + 1.0) * tnp.sum(x),
        (((3,),),),
        covers=["max"],
        order=1,
    ),
    Case("prod-vector", tnp.prod, (((),), ((1,),), ((5,),)), domains=with_zeros, covers=["prod"]),
    Case(
        "prod-all-but-one-zero",
        lambda x: tnp.prod(x * np.array([0.0, 0.0, 1.0, 1.0], x.dtype)),
        (((4,),),),
        covers=["prod"],
    ),
    # several zeros in one slice: every first and second derivative must be exactly right.
    Case(
        "prod-two-zeros",
        lambda x: tnp.prod(x, axis=1),
        (((2, 6),),),
        domains=with_zeros,
        covers=["prod"],
    ),
]

# cumulative sums and products along every axis.
for name, f, dom in [
    ("cumsum", tnp.cumsum, real),
    ("cumprod", tnp.cumprod, real),
    ("cumprod-zeros", tnp.cumprod, with_zeros),
]:
    CASES += [
        Case(
            f"{name}-axis{axis}",
            (lambda f, a: lambda x: f(x, axis=a))(f, axis),
            (((5,),), ((2, 3),), ((2, 3, 4),)) if axis in (None, 0, -1) else SHAPES,
            domains=dom,
            covers=[name.split("-")[0], "linear_scan"] if "prod" in name else [name],
        )
        for axis in (None, 0, -1, 1)
    ]
CASES += [
    Case("cumsum-0d", tnp.cumsum, (((),),), covers=["cumsum"]),
    Case(
        "linear_scan",
        lambda a, b: linear_scan(a, b, axis=0),
        (((4,), (4,)), ((3, 2), (3, 2))),
        covers=["linear_scan"],
    ),
    Case(
        "linear_scan-axis1",
        lambda a, b: linear_scan(a, b, axis=1),
        (((2, 5), (2, 5)),),
        domains=[with_zeros, real],
        covers=["linear_scan"],
    ),
]

# complex input: var and std are mean(|d|^2) and its root (real), through real parts.
CASES += [
    Case(
        f"{name}-complex-axis{axis}",
        (lambda f, a: lambda x, y: f(x + 1j * y, axis=a, ddof=1))(f, axis),
        (((2, 3), (2, 3)), ((2, 3, 4), (2, 3, 4))),
        covers=["real", "conj"],
    )
    for name, f in (("var", tnp.var), ("std", tnp.std))
    for axis in (None, 1)
]
# one value per slice: std is identically 0 there, with derivatives 0 (not NaN).
CASES += [
    Case("std-one-value", tnp.std, (((1,),), ((),)), covers=["sqrt"]),
    Case("std-axis-of-length-1", lambda x: tnp.std(x, axis=1), (((2, 1, 3),),), covers=["sqrt"]),
]

# weighted averages: 1-d weights along one axis, full-shape weights, returned sums.
CASES += [
    Case(
        "average-weights-axis",
        lambda x, w: tnp.average(x, axis=1, weights=w),
        (((2, 3), (3,)), ((2, 3, 4), (3,))),
        domains=[real, positive],
        covers=["sum"],
    ),
    Case(
        "average-weights-full",
        lambda x, w: tnp.average(x, weights=w),
        (((3,), (3,)), ((2, 3), (2, 3))),
        domains=[real, positive],
        covers=["sum"],
    ),
    Case(
        "average-returned",
        lambda x, w: tnp.average(x, axis=0, weights=w, returned=True, keepdims=True),
        (((2, 3), (2, 3)),),
        domains=[real, positive],
        covers=["sum", "broadcast_to"],
    ),
]

# quantiles (w.r.t. values, method='linear'), scalar and vector q.
CASES += [
    Case(
        f"quantile-q{i}-axis{axis}-keep{keep}",
        (lambda q, a, k: lambda x: tnp.quantile(x, q, axis=a, keepdims=k))(q, axis, keep),
        SHAPES,
        domains=distinct,
        covers=["permute_along_axis"],
    )
    for i, q in enumerate([0.3, [0.1, 0.5, 1.0]])
    for axis in AXES
    for keep in (False, True)
]
CASES += [
    Case(
        "percentile",
        lambda x: tnp.percentile(x, [25.0, 90.0], axis=0),
        SHAPES,
        domains=distinct,
        covers=["permute_along_axis"],
    ),
    Case(
        "median-vector",
        tnp.median,
        (((1,),), ((4,),), ((5,),)),
        domains=distinct,
        covers=["permute_along_axis"],
    ),
]
