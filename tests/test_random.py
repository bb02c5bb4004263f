"""tapeflow.random: the cipher against published answers, fixed keys against recorded
values, every transform, the statistics of the streams, and clear errors.

The statistical tests use fixed keys, so they are deterministic; each threshold is one a
correct generator passes and a defective one fails, and the tests at the end of the
statistics section show the same battery rejecting defective generators.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow.random.continuous import normal_from_words, truncated_normal_from_words
from tapeflow.random.conversions import unit_interval
from tapeflow.random.threefry import threefry2x32
from tapeflow.scipy.special import ndtr
from tapeflow.vmap import BatchingFallbackWarning

tpr = tp.random


# ----- the cipher ------------------------------------------------------------------------
# Random123's known-answer vectors for Threefry-2x32 (tests/kat_vectors of the library
# that accompanies Salmon et al. 2011): rounds, counter words, key words, output words.
KNOWN_ANSWERS = [
    (13, (0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x9D1C5EC6, 0x8BD50731)),
    (13, (0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0xFD36D048, 0x2D17272C)),
    (13, (0x243F6A88, 0x85A308D3), (0x13198A2E, 0x03707344), (0xBA3E4725, 0xF27D669E)),
    (20, (0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
    (20, (0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    (20, (0x243F6A88, 0x85A308D3), (0x13198A2E, 0x03707344), (0xC4923A9C, 0x483DF7A0)),
    (32, (0x00000000, 0x00000000), (0x00000000, 0x00000000), (0xCEE3D47E, 0xA23DFD5C)),
    (32, (0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x6E2FE0D0, 0xB1B76F82)),
]


@pytest.mark.parametrize("rounds,counter,key,expected", KNOWN_ANSWERS)
def test_threefry_matches_random123_known_answers(rounds, counter, key, expected) -> None:
    out = threefry2x32(key[0], key[1], counter[0], counter[1], rounds=rounds)
    assert (int(out[0]), int(out[1])) == expected


def test_threefry_on_arrays_equals_threefry_entry_by_entry() -> None:
    rng = np.random.default_rng(0)
    k0, k1 = rng.integers(0, 2**32, (2, 3, 1), dtype=np.uint32)
    x0, x1 = rng.integers(0, 2**32, (2, 4), dtype=np.uint32)
    y0, y1 = threefry2x32(k0, k1, x0, x1)  # keys (3, 1) against counters (4,)
    assert y0.shape == y1.shape == (3, 4) and y0.dtype == np.uint32
    for i in range(3):
        for j in range(4):
            one = threefry2x32(k0[i, 0], k1[i, 0], x0[j], x1[j])
            assert (int(one[0]), int(one[1])) == (y0[i, j], y1[i, j])


# ----- agreement with JAX ------------------------------------------------------------------
# jax.random.split(jax.random.key(0), 8), JAX's default counter layout since JAX 0.5
# ("partitionable" Threefry), as JAX prints it.
JAX_SPLIT_OF_KEY_0 = [
    [1797259609, 2579123966],
    [928981903, 3453687069],
    [4146024105, 2718843009],
    [2467461003, 3840466878],
    [2285895361, 433833334],
    [1524306142, 1887795613],
    [3792494674, 2909014575],
    [2716826189, 292468403],
]


def test_split_gives_jax_keys() -> None:
    np.testing.assert_array_equal(tpr.split(tpr.key(0), 8), JAX_SPLIT_OF_KEY_0)
    np.testing.assert_array_equal(tpr.PRNGKey(42), [0, 42])


def _jax_earlier_layout_words(key: np.ndarray, n: int) -> np.ndarray:
    """32-bit words in JAX's counter layout before 0.5 (jax_threefry_partitionable=False):
    counters 0..n-1, padded to even length, the first half paired with the second."""
    counters = np.concatenate([np.arange(n), np.zeros(n % 2)]).astype(np.uint32)
    half = len(counters) // 2
    first, second = threefry2x32(key[0], key[1], counters[:half], counters[half:])
    return np.concatenate([first, second])[:n]


# Values JAX printed with that earlier layout (float32): they check everything after the
# counters, the cipher's words, the conversion to floats and the normal's algorithm.
JAX_EARLIER_LAYOUT = [
    ("bits, key 0", 0, 4, None, [4146024105, 967050713, 2718843009, 1272950319]),
    ("normal, key 0", 0, 4, "normal", [1.8160863, -0.75488514, 0.33988908, -0.53483534]),
    ("normal, key 42", 42, 1, "normal", [-0.18471177]),
    ("normal, key 123", 123, 3, "normal", [-0.1470326, 0.5524756, 1.648498]),
    (
        "5 * truncated_normal(-2, 2), key 42",
        42,
        6,
        "truncated",
        [2.9047365, 5.2338114, 5.29852, -3.836303, -4.192359, 0.6022964],
    ),
]


@pytest.mark.parametrize(
    "seed,n,sampler,expected",
    [row[1:] for row in JAX_EARLIER_LAYOUT],
    ids=[row[0] for row in JAX_EARLIER_LAYOUT],
)
def test_the_float_algorithms_reproduce_jax(seed, n, sampler, expected) -> None:
    words = _jax_earlier_layout_words(tpr.key(seed), n)
    if sampler is None:
        np.testing.assert_array_equal(words, expected)
        return
    f32 = np.dtype(np.float32)
    if sampler == "normal":
        got = normal_from_words(words, f32)
    else:
        got = 5 * truncated_normal_from_words(words, np.float32(-2), np.float32(2), f32)
    assert got.dtype == np.float32
    # erfinv rounds differently in its last float32 digit: two units in the last place.
    np.testing.assert_allclose(got, expected, rtol=3e-7, atol=3e-7)


# ----- fixed keys give fixed values --------------------------------------------------------
# Recorded from this implementation once it had passed the tests above.
K42 = tpr.key(42)
RECORDED = [
    ("bits", lambda: tpr.bits(K42, (4,)), [2098992034, 2919706841, 2646866425, 2409546199]),
    (
        "bits uint64",
        lambda: tpr.bits(K42, (3,), np.uint64),
        [7871734211187709741, 276886910877598708, 10591095138341673235],
    ),
    ("bits uint16", lambda: tpr.bits(K42, (3,), np.uint16), [5026, 12505, 63993]),
    ("bits uint8", lambda: tpr.bits(K42, (3,), np.uint8), [162, 217, 249]),
    ("split", lambda: tpr.split(K42), [[1832780943, 270669613], [64467757, 2916123636]]),
    ("fold_in", lambda: tpr.fold_in(K42, 7), [2547012911, 1371500959]),
    (
        "uniform",
        lambda: tpr.uniform(K42, (4,)),
        [0.4267275666499091, 0.01501006951531458, 0.5741444178995352, 0.7298188969046309],
    ),
    (
        "uniform float32",
        lambda: tpr.uniform(K42, (3,), np.float32),
        [0.48870957, 0.6797972, 0.6162715],
    ),
    (
        "normal",
        lambda: tpr.normal(K42, (4,)),
        [-0.18471174528191164, -2.169824560397755, 0.18693555179382587, 0.612265357051096],
    ),
    (
        "normal float32",
        lambda: tpr.normal(K42, (3,), np.float32),
        [-0.028304616, 0.46713176, 0.29570293],
    ),
    (
        "truncated_normal",
        lambda: tpr.truncated_normal(K42, -1.0, 2.0, (3,)),
        [0.01998452592513152, -0.9504476695340625, 0.3282714408370325],
    ),
    (
        "gumbel",
        lambda: tpr.gumbel(K42, (3,)),
        [0.16062720630382138, -1.4348544993307841, 0.5890136500161952],
    ),
    ("randint", lambda: tpr.randint(K42, (6,), 0, 100), [41, 8, 35, 25, 66, 22]),
    ("permutation", lambda: tpr.permutation(K42, 6), [1, 0, 2, 5, 4, 3]),
    ("choice", lambda: tpr.choice(K42, 10, (4,)), [1, 8, 5, 5]),
    ("categorical", lambda: tpr.categorical(K42, np.zeros(5), shape=(6,)), [3, 1, 3, 4, 3, 0]),
    ("bernoulli", lambda: tpr.bernoulli(K42, 0.5, (6,)), [True, True, False, False, False, False]),
]


@pytest.mark.parametrize("draw,expected", [r[1:] for r in RECORDED], ids=[r[0] for r in RECORDED])
def test_fixed_keys_give_recorded_values(draw, expected) -> None:
    got = draw()
    if np.issubdtype(got.dtype, np.floating) and got.dtype == np.float64:
        # Words and uniform floats are exact; erfinv and log may differ by an ulp between
        # math libraries.
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)
    elif got.dtype == np.float32:
        np.testing.assert_allclose(got, np.asarray(expected, np.float32), rtol=1e-6)
    else:
        np.testing.assert_array_equal(got, expected)


def test_a_value_depends_on_its_position_not_on_the_shape_drawn() -> None:
    # Entry i encrypts the counter i: a longer draw extends a shorter one.
    np.testing.assert_array_equal(tpr.bits(K42, (10,))[:4], tpr.bits(K42, (4,)))
    np.testing.assert_array_equal(tpr.uniform(K42, (2, 5)).ravel(), tpr.uniform(K42, (10,)))
    np.testing.assert_array_equal(tpr.split(K42, 5)[:2], tpr.split(K42))


SEEDS = [
    (0, [0, 0]),
    (42, [0, 42]),
    (2**32 + 7, [1, 7]),
    (2**64 - 1, [2**32 - 1, 2**32 - 1]),
    (-1, [2**32 - 1, 2**32 - 1]),
    (-(2**63), [2**31, 0]),
    (np.int64(5), [0, 5]),
    (np.uint64(2**63), [2**31, 0]),
    (np.array(3), [0, 3]),
]


@pytest.mark.parametrize("seed,words", SEEDS)
def test_key_words_from_seeds(seed, words) -> None:
    made = tpr.key(seed)
    assert made.dtype == np.uint32 and made.shape == (2,)
    np.testing.assert_array_equal(made, words)


def test_split_and_fold_in_relations() -> None:
    key = tpr.key(9)
    keys = tpr.split(key, 4)
    assert keys.shape == (4, 2) and keys.dtype == np.uint32
    for i in range(4):  # key i of a split is fold_in(key, i), as in JAX
        np.testing.assert_array_equal(keys[i], tpr.fold_in(key, i))
    assert tpr.split(key, (2, 3)).shape == (2, 3, 2)
    assert tpr.split(key, 0).shape == (0, 2)
    np.testing.assert_array_equal(tpr.fold_in(key, -1), tpr.fold_in(key, 2**32 - 1))
    np.testing.assert_array_equal(tpr.fold_in(key, np.int32(3)), tpr.fold_in(key, 3))
    many = tpr.split(key, 10_000)
    assert len({tuple(k) for k in many.tolist()}) == 10_000


# ----- every transform -------------------------------------------------------------------
A = np.arange(12.0).reshape(4, 3)
P = np.array([0.1, 0.2, 0.3, 0.2, 0.2])
SAMPLERS = {
    "bits": lambda k: tpr.bits(k, (3,)),
    "bits uint64": lambda k: tpr.bits(k, (2,), np.uint64),
    "uniform": lambda k: tpr.uniform(k, (3,), minval=-2.0, maxval=3.0),
    "uniform float32": lambda k: tpr.uniform(k, (3,), np.float32),
    "uniform float16": lambda k: tpr.uniform(k, (3,), np.float16),
    "normal": lambda k: tpr.normal(k, (2, 3)),
    "normal complex": lambda k: tpr.normal(k, (2,), np.complex128),
    "truncated_normal": lambda k: tpr.truncated_normal(k, np.array([-1.0, 0.0]), 1.5, (3, 2)),
    "gumbel": lambda k: tpr.gumbel(k, (3,)),
    "bernoulli": lambda k: tpr.bernoulli(k, np.array([0.1, 0.5, 0.9])),
    "categorical": lambda k: tpr.categorical(k, np.log(P), shape=(6,)),
    "categorical axis 0": lambda k: tpr.categorical(k, np.zeros((3, 2)), axis=0, shape=(4, 2)),
    "randint": lambda k: tpr.randint(k, (5,), -3, np.array([9, 10, 11, 12, 13])),
    "randint int8": lambda k: tpr.randint(k, (5,), -128, 128, np.int8),
    "permutation": lambda k: tpr.permutation(k, 6),
    "permutation of rows": lambda k: tpr.permutation(k, A),
    "permutation axis 1": lambda k: tpr.permutation(k, A, axis=1),
    "permutation independent": lambda k: tpr.permutation(k, A, independent=True),
    "choice": lambda k: tpr.choice(k, 10, (3,)),
    "choice without replacement": lambda k: tpr.choice(k, 10, (3,), replace=False),
    "choice with p": lambda k: tpr.choice(k, np.arange(5.0), (3,), p=P),
    "choice with p without replacement": lambda k: tpr.choice(k, 5, (3,), replace=False, p=P),
    "choice axis 1": lambda k: tpr.choice(k, A, (2, 2), axis=1),
    "split": lambda k: tpr.split(k, 3),
    "fold_in": lambda k: tpr.fold_in(k, 5),
}
KEY = tpr.key(7)
KEYS = tpr.split(tpr.key(8), 4)


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_jit_gives_the_eager_values(name) -> None:
    draw = SAMPLERS[name]
    jitted = tp.jit(draw)
    for key in (KEY, KEYS[0]):  # a second key: the draw is not frozen at tracing time
        np.testing.assert_array_equal(jitted(key), draw(key))


def test_jit_draws_anew_for_each_key_instead_of_replaying_the_trace() -> None:
    jitted = tp.jit(lambda k: tpr.normal(k, (100,)))
    first, second = jitted(KEY), jitted(KEYS[0])
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(second, tpr.normal(KEYS[0], (100,)))


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_vmap_over_keys_is_one_vectorised_call_equal_to_a_loop(name) -> None:
    draw = SAMPLERS[name]
    loop = np.stack([draw(k) for k in KEYS])
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingFallbackWarning)  # no loop over the keys
        np.testing.assert_array_equal(tp.vmap(draw)(KEYS), loop)
        np.testing.assert_array_equal(tp.jit(tp.vmap(draw))(KEYS), loop)


def test_vmap_over_keys_nested_and_along_another_axis() -> None:
    grid = tpr.split(tpr.key(1), (3, 2))
    draw = SAMPLERS["normal"]
    nested = tp.vmap(tp.vmap(draw))(grid)
    np.testing.assert_array_equal(nested, [[draw(k) for k in row] for row in grid])
    columns = np.moveaxis(KEYS, 0, 1)  # keys along axis 1: shape (2, 4)
    np.testing.assert_array_equal(
        tp.vmap(draw, in_axes=1)(columns), np.stack([draw(k) for k in KEYS])
    )


def test_fold_in_with_traced_data_under_jit_and_vmap() -> None:
    steps = np.arange(5)
    want = np.stack([tpr.fold_in(KEY, int(i)) for i in steps])
    np.testing.assert_array_equal(tp.jit(tpr.fold_in)(KEY, 3), want[3])
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingFallbackWarning)
        np.testing.assert_array_equal(tp.vmap(tpr.fold_in, in_axes=(None, 0))(KEY, steps), want)
        both = tp.vmap(tpr.fold_in)(KEYS, steps[:4])
        np.testing.assert_array_equal(
            both, [tpr.fold_in(k, i) for k, i in zip(KEYS, range(4), strict=True)]
        )
        table = tp.vmap(tp.vmap(tpr.fold_in, in_axes=(None, 0)), in_axes=(0, None))(KEYS, steps)
    np.testing.assert_array_equal(table, [[tpr.fold_in(k, int(i)) for i in steps] for k in KEYS])


def test_samplers_run_inside_grad_and_vmap_of_grad() -> None:
    def loss(mu, key):
        return tnp.sum((mu + 0.5 * tpr.normal(key, (3,))) ** 2)

    want = np.array([2 * np.sum(0.1 + 0.5 * tpr.normal(k, (3,))) for k in KEYS])
    np.testing.assert_allclose(tp.vmap(tp.grad(loss), in_axes=(None, 0))(0.1, KEYS), want)
    np.testing.assert_allclose(tp.jit(tp.vmap(tp.grad(loss), in_axes=(None, 0)))(0.1, KEYS), want)


# ----- gradients through the float parameters ----------------------------------------------
GRADIENT_CASES = [
    (
        "uniform in minval, maxval",
        lambda lo, hi: tnp.sum(tpr.uniform(KEY, (5,), minval=lo, maxval=hi) ** 2),
        (-1.0, 2.0),
        2,
    ),
    (
        "normal, mu + sigma * z",
        lambda mu, s: tnp.sum((mu + s * tpr.normal(KEY, (5,))) ** 3),
        (0.3, 1.5),
        2,
    ),
    (
        "truncated_normal in its bounds",
        lambda lo, hi: tnp.sum(tpr.truncated_normal(KEY, lo, hi, (5,)) ** 2),
        (-1.0, 0.5),
        1,
    ),
    (
        "gumbel, loc + scale * g",
        lambda loc, s: tnp.sum(tnp.exp(loc + s * tpr.gumbel(KEY, (4,)))),
        (0.2, 0.7),
        2,
    ),
    (
        "permutation of an array",
        lambda x, w: tnp.sum(tpr.permutation(KEY, x) * w),
        (np.arange(4.0), np.ones(4)),
        1,
    ),
    (
        "choice from an array",
        lambda x, w: tnp.sum(tpr.choice(KEY, x, (6,)) ** 2 * w),
        (np.arange(1.0, 5.0), 1.5),
        1,
    ),
]


@pytest.mark.parametrize(
    "fun,args,order", [c[1:] for c in GRADIENT_CASES], ids=[c[0] for c in GRADIENT_CASES]
)
def test_gradients_through_float_parameters_match_finite_differences(fun, args, order) -> None:
    args = tuple(np.asarray(a, np.float64) for a in args)
    tp.check_grads(fun, args, order=order, modes=("rev", "fwd"))


def test_uniform_gradient_is_the_draw() -> None:
    u = tpr.uniform(KEY, (5,))
    d_min, d_max = tp.grad(
        lambda lo, hi: tnp.sum(tpr.uniform(KEY, (5,), minval=lo, maxval=hi)), argnums=(0, 1)
    )(0.0, 1.0)
    np.testing.assert_allclose(d_max, u.sum())
    np.testing.assert_allclose(d_min, (1 - u).sum())


# ----- shapes, dtypes, ranges ----------------------------------------------------------------
SHAPES = [
    ("uniform", lambda: tpr.uniform(KEY, (2, 3)), (2, 3), np.float64, (0.0, 1.0)),
    ("uniform scalar", lambda: tpr.uniform(KEY), (), np.float64, (0.0, 1.0)),
    (
        "uniform float16",
        lambda: tpr.uniform(KEY, (100,), np.float16, 2.0, 3.0),
        (100,),
        np.float16,
        (2.0, 3.0),
    ),
    (
        "uniform broadcast bounds",
        lambda: tpr.uniform(KEY, (2, 3), minval=np.zeros(3), maxval=np.arange(1.0, 4.0)),
        (2, 3),
        np.float64,
        (0.0, 3.0),
    ),
    ("normal float32", lambda: tpr.normal(KEY, (4,), np.float32), (4,), np.float32, None),
    ("normal complex64", lambda: tpr.normal(KEY, (4,), np.complex64), (4,), np.complex64, None),
    (
        "truncated_normal shape None",
        lambda: tpr.truncated_normal(KEY, np.zeros((2, 1)), np.ones(3)),
        (2, 3),
        np.float64,
        (0.0, 1.0),
    ),
    (
        "truncated_normal float32",
        lambda: tpr.truncated_normal(KEY, -0.5, 0.5, (1000,), np.float32),
        (1000,),
        np.float32,
        (-0.5, 0.5),
    ),
    ("gumbel", lambda: tpr.gumbel(KEY, (3, 1)), (3, 1), np.float64, None),
    ("bits default", lambda: tpr.bits(KEY, (5,)), (5,), np.uint32, None),
    (
        "bernoulli shape None",
        lambda: tpr.bernoulli(KEY, np.full((2, 2), 0.5, np.float32)),
        (2, 2),
        np.bool_,
        None,
    ),
    ("bernoulli shape", lambda: tpr.bernoulli(KEY, shape=(7,)), (7,), np.bool_, None),
    ("categorical", lambda: tpr.categorical(KEY, np.zeros((3, 5))), (3,), np.int64, (0, 4)),
    (
        "categorical samples in front",
        lambda: tpr.categorical(KEY, np.zeros((3, 5)), shape=(2, 3)),
        (2, 3),
        np.int64,
        (0, 4),
    ),
    ("randint", lambda: tpr.randint(KEY, (1000,), -5, 5), (1000,), np.int64, (-5, 4)),
    (
        "randint uint8 to 256",
        lambda: tpr.randint(KEY, (1000,), 250, 256, np.uint8),
        (1000,),
        np.uint8,
        (250, 255),
    ),
    (
        "randint int64 full range",
        lambda: tpr.randint(KEY, (1000,), -(2**63), 2**63 - 1),
        (1000,),
        np.int64,
        (-(2**63), 2**63 - 2),
    ),
    (
        "randint maxval beyond int64",
        lambda: tpr.randint(KEY, (1000,), 2**62, 2**63 + 10),
        (1000,),
        np.int64,
        (2**62, 2**63 - 2),
    ),
    ("randint empty range", lambda: tpr.randint(KEY, (10,), 3, 3), (10,), np.int64, (3, 3)),
    ("permutation", lambda: tpr.permutation(KEY, 7), (7,), np.int64, (0, 6)),
    ("choice", lambda: tpr.choice(KEY, 4, (2, 5)), (2, 5), np.int64, (0, 3)),
    ("choice of rows", lambda: tpr.choice(KEY, A, (2, 2)), (2, 2, 3), np.float64, (0.0, 11.0)),
    ("choice of nothing", lambda: tpr.choice(KEY, A, (0,), axis=1), (4, 0), np.float64, None),
    ("split", lambda: tpr.split(KEY, (2, 3)), (2, 3, 2), np.uint32, None),
]


@pytest.mark.parametrize(
    "draw,shape,dtype,bounds", [s[1:] for s in SHAPES], ids=[s[0] for s in SHAPES]
)
def test_samplers_shapes_dtypes_and_ranges(draw, shape, dtype, bounds) -> None:
    got = np.asarray(draw())
    assert got.shape == shape and got.dtype == dtype
    if bounds is not None and got.size:
        low, high = bounds
        assert got.min() >= low and got.max() <= high
        if dtype in (np.float16, np.float32, np.float64) and low != high:
            assert (got < high).any()


def test_values_are_distinct_and_ranges_are_open_where_promised() -> None:
    x = tpr.truncated_normal(KEY, -0.001, 0.001, (10_000,))
    assert (x > -0.001).all() and (x < 0.001).all()
    assert sorted(tpr.permutation(KEY, 50).tolist()) == list(range(50))
    assert len(set(tpr.choice(KEY, 20, (20,), replace=False).tolist())) == 20
    assert len(set(tpr.choice(KEY, 20, (20,), replace=False, p=np.full(20, 0.05)).tolist())) == 20
    assert set(tpr.choice(KEY, 4, (200,), p=np.array([0.0, 0.5, 0.0, 0.5])).tolist()) == {1, 3}
    logits = np.array([-np.inf, 0.0, -np.inf])
    assert (tpr.categorical(KEY, logits, shape=(100,)) == 1).all()
    assert not tpr.bernoulli(KEY, 0.0, (100,)).any() and tpr.bernoulli(KEY, 1.0, (100,)).all()
    assert (tpr.randint(KEY, (10,), 5, 2) == 5).all()  # maxval <= minval gives minval, as JAX


# ----- errors ----------------------------------------------------------------------------------
ERRORS = [
    ("seed as key", lambda: tpr.uniform(3), TypeError, r"pass tp.random.key\(3\)"),
    (
        "Generator as key",
        lambda: tpr.normal(np.random.default_rng(0)),
        TypeError,
        "numpy.random.Generator",
    ),
    (
        "wrong key dtype",
        lambda: tpr.uniform(np.array([0, 1])),
        TypeError,
        "uint32 array of shape \\(2,\\).*int64",
    ),
    ("wrong key shape", lambda: tpr.split(np.zeros(3, np.uint32)), TypeError, "shape \\(3,\\)"),
    ("batch of keys", lambda: tpr.normal(tpr.split(KEY, 3)), ValueError, "tp.vmap"),
    ("list as key", lambda: tpr.bits([0, 1]), TypeError, "got list"),
    ("int shape", lambda: tpr.uniform(KEY, 3), TypeError, r"shape=\(3,\)"),
    ("negative shape", lambda: tpr.normal(KEY, (2, -1)), ValueError, "non-negative"),
    ("float shape", lambda: tpr.gumbel(KEY, (2.5,)), ValueError, "non-negative ints"),
    (
        "bounds too big for shape",
        lambda: tpr.uniform(KEY, (3,), minval=np.zeros((2, 3))),
        ValueError,
        "do not broadcast to shape=\\(3,\\)",
    ),
    (
        "int dtype for uniform",
        lambda: tpr.uniform(KEY, (2,), np.int32),
        TypeError,
        "float16, float32 or float64",
    ),
    (
        "float dtype for randint",
        lambda: tpr.randint(KEY, (2,), 0, 5, np.float64),
        TypeError,
        "integer dtype",
    ),
    (
        "float bounds for randint",
        lambda: tpr.randint(KEY, (2,), 0.5, 5),
        TypeError,
        "minval must be an integer",
    ),
    ("uint64 randint", lambda: tpr.randint(KEY, (2,), 0, 5, np.uint64), TypeError, "uint64"),
    ("integer p", lambda: tpr.bernoulli(KEY, 1), TypeError, "probabilities must be floats"),
    (
        "integer logits",
        lambda: tpr.categorical(KEY, np.array([1, 2])),
        TypeError,
        "logits must be floats",
    ),
    ("scalar logits", lambda: tpr.categorical(KEY, 1.0), ValueError, "axis of categories"),
    ("logits axis", lambda: tpr.categorical(KEY, np.zeros(3), axis=1), ValueError, "out of range"),
    (
        "categorical shape",
        lambda: tpr.categorical(KEY, np.zeros((3, 4)), shape=(2,)),
        ValueError,
        "do not broadcast",
    ),
    ("negative permutation", lambda: tpr.permutation(KEY, -1), ValueError, "non-negative"),
    (
        "scalar array permutation",
        lambda: tpr.permutation(KEY, np.array(1.5)),
        ValueError,
        "at least one axis",
    ),
    (
        "too many without replacement",
        lambda: tpr.choice(KEY, 3, (4,), replace=False),
        ValueError,
        "cannot take 4 samples from 3",
    ),
    ("choice from nothing", lambda: tpr.choice(KEY, 0, (2,)), ValueError, "greater than 0"),
    (
        "choice p shape",
        lambda: tpr.choice(KEY, 3, (2,), p=np.ones(4) / 4),
        ValueError,
        "1-d array of 3",
    ),
    ("choice axis", lambda: tpr.choice(KEY, A, (2,), axis=2), ValueError, "out of range"),
    ("seed too big", lambda: tpr.key(2**64), ValueError, r"\[-2\*\*63, 2\*\*64\)"),
    ("float seed", lambda: tpr.key(1.5), TypeError, "must be an integer"),
    ("traced seed", lambda: tp.jit(tpr.key)(3), TypeError, "seed is traced"),
    ("fold_in too big", lambda: tpr.fold_in(KEY, 2**32), ValueError, "32-bit"),
    ("fold_in float", lambda: tpr.fold_in(KEY, np.array(1.5)), TypeError, "integer scalar"),
    ("split negative", lambda: tpr.split(KEY, -2), ValueError, "non-negative"),
    (
        "traced permutation size",
        lambda: tp.jit(lambda k, n: tpr.permutation(k, n))(KEY, 3),
        TypeError,
        "static",
    ),
]


@pytest.mark.parametrize("call,error,message", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_bad_input_raises_a_clear_error(call, error, message) -> None:
    with pytest.raises(error, match=message):
        call()


# ----- statistics --------------------------------------------------------------------------
# A z-score beyond 5 has probability below 6e-7 for a correct generator.
Z_LIMIT = 5.0
N = 1_000_000


def chi_square_z(counts: np.ndarray, expected: np.ndarray) -> float:
    """The chi-square statistic as a standard normal z (Wilson-Hilferty): large positive
    for a poor fit, large negative for a fit too good to be random."""
    df = counts.size - 1
    statistic = float(((counts - expected) ** 2 / expected).sum())
    return ((statistic / df) ** (1 / 3) - (1 - 2 / (9 * df))) / math.sqrt(2 / (9 * df))


def uniform_z_scores(u: np.ndarray) -> dict[str, float]:
    """z-scores of uniform floats on [0, 1): moments, histogram, serial dependence."""
    n = u.size
    bins = 1000
    counts = np.bincount((u * bins).astype(np.int64), minlength=bins)
    pairs = (u[: n // 2 * 2].reshape(-1, 2) * 32).astype(np.int64)
    pair_counts = np.bincount(pairs[:, 0] * 32 + pairs[:, 1], minlength=32 * 32)
    return {
        "mean": (u.mean() - 0.5) / math.sqrt(1 / 12 / n),
        "variance": (u.var() - 1 / 12) / math.sqrt((1 / 80 - 1 / 144) / n),
        "chi-square, 1000 bins": chi_square_z(counts, np.full(bins, n / bins)),
        "lag-1 correlation": correlation_z(u[:-1], u[1:]),
        "chi-square of pairs, 32 x 32": chi_square_z(pair_counts, np.full(32 * 32, n // 2 / 1024)),
    }


def normal_z_scores(z: np.ndarray) -> dict[str, float]:
    """z-scores of standard normal samples: four moments and Kolmogorov-Smirnov."""
    n = z.size
    ordered = np.sort(z)
    cdf = ndtr(ordered)
    steps = np.arange(1, n + 1) / n
    ks = max((steps - cdf).max(), (cdf - steps + 1 / n).max()) * math.sqrt(n)
    return {
        "mean": z.mean() * math.sqrt(n),
        "variance": (z.var() - 1) / math.sqrt(2 / n),
        "skewness": np.mean(z**3) / math.sqrt(15 / n),
        "excess kurtosis": (np.mean(z**4) - 3) / math.sqrt(96 / n),
        # sqrt(n) * D above 2.7 has probability below 1e-6: scaled here to the z limit.
        "Kolmogorov-Smirnov": ks * Z_LIMIT / 2.7,
    }


def correlation_z(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1] * math.sqrt(a.size))


def failures(scores: dict[str, float]) -> list[str]:
    return [name for name, z in scores.items() if not abs(z) < Z_LIMIT]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_uniform_passes_moments_histogram_and_serial_tests(dtype) -> None:
    u = tpr.uniform(tpr.key(1), (N,), dtype).astype(np.float64)
    assert failures(uniform_z_scores(u)) == []


def test_normal_passes_moments_and_kolmogorov_smirnov() -> None:
    z = tpr.normal(tpr.key(2), (N,))
    assert failures(normal_z_scores(z)) == []


def test_every_bit_is_a_fair_coin() -> None:
    words = tpr.bits(tpr.key(5), (N,))
    ones = np.unpackbits(words.view(np.uint8)).reshape(N, 32).mean(axis=0)
    assert (abs(ones - 0.5) / math.sqrt(0.25 / N) < Z_LIMIT).all()


STREAM_PAIRS = [
    ("the two keys of a split", lambda k: tuple(tpr.split(k))),
    ("fold_in of 1000 and 1001", lambda k: (tpr.fold_in(k, 1000), tpr.fold_in(k, 1001))),
    ("a key and the first key of its split", lambda k: (k, tpr.split(k)[0])),
    ("keys of adjacent seeds", lambda k: (tpr.key(0), tpr.key(1))),
    ("keys of seeds 2**32 apart", lambda k: (tpr.key(5), tpr.key(2**32 + 5))),
]


@pytest.mark.parametrize(
    "make_keys", [p[1] for p in STREAM_PAIRS], ids=[p[0] for p in STREAM_PAIRS]
)
def test_streams_of_related_keys_are_independent(make_keys) -> None:
    key_a, key_b = make_keys(tpr.key(3))
    a = tpr.uniform(key_a, (N,))
    b = tpr.uniform(key_b, (N,))
    assert abs(correlation_z(a, b)) < Z_LIMIT
    # Pairs (a_i, b_i) fill the unit square evenly: no dependence beyond correlation.
    cells = (a * 32).astype(np.int64) * 32 + (b * 32).astype(np.int64)
    assert abs(chi_square_z(np.bincount(cells, minlength=1024), np.full(1024, N / 1024))) < Z_LIMIT


def test_the_first_draws_of_many_split_keys_are_uniform_and_independent() -> None:
    keys = tpr.split(tpr.key(4), 200_000)
    first = tp.vmap(lambda k: tpr.uniform(k))(keys)
    scores = uniform_z_scores(first)
    assert failures(scores) == []


def test_discrete_samplers_have_their_distributions() -> None:
    n = 200_000
    die = tpr.randint(tpr.key(10), (n,), 1, 7)
    assert abs(chi_square_z(np.bincount(die, minlength=7)[1:], np.full(6, n / 6))) < Z_LIMIT
    coin = tpr.bernoulli(tpr.key(11), 0.3, (n,))
    assert abs((coin.mean() - 0.3) / math.sqrt(0.21 / n)) < Z_LIMIT
    p = np.array([0.5, 0.25, 0.125, 0.125])
    for draws in (
        tpr.categorical(tpr.key(12), np.log(p), shape=(n,)),
        tpr.choice(tpr.key(13), 4, (n,), p=p),
    ):
        assert abs(chi_square_z(np.bincount(draws, minlength=4), n * p)) < Z_LIMIT
    # Without replacement, the first draw of a weighted sample follows p.
    keys = tpr.split(tpr.key(14), 50_000)
    first = tp.vmap(lambda k: tpr.choice(k, 4, (2,), replace=False, p=p)[0])(keys)
    assert abs(chi_square_z(np.bincount(first, minlength=4), 50_000 * p)) < Z_LIMIT
    # Every position is equally likely for every element of a permutation.
    perms = tp.vmap(lambda k: tpr.permutation(k, 6))(keys)
    position_of_0 = np.argmax(perms == 0, axis=1)
    assert (
        abs(chi_square_z(np.bincount(position_of_0, minlength=6), np.full(6, 50_000 / 6))) < Z_LIMIT
    )


def test_continuous_samplers_have_their_moments() -> None:
    n = 400_000
    g = tpr.gumbel(tpr.key(20), (n,))
    assert abs((g.mean() - np.euler_gamma) / math.sqrt(np.pi**2 / 6 / n)) < Z_LIMIT
    assert abs(g.var() / (np.pi**2 / 6) - 1) < 0.02
    low, high = -0.5, 2.0
    x = tpr.truncated_normal(tpr.key(21), low, high, (n,))
    density = np.exp(-(np.array([low, high]) ** 2) / 2) / math.sqrt(2 * np.pi)
    mass = ndtr(high) - ndtr(low)
    mean = (density[0] - density[1]) / mass
    var = 1 + (low * density[0] - high * density[1]) / mass - mean**2
    assert abs((x.mean() - mean) / math.sqrt(var / n)) < Z_LIMIT
    assert abs(x.var() / var - 1) < 0.02


# The battery rejects defective generators: without these, a threshold could be one that
# nothing fails.
def _threefry_with_rounds(rounds: int) -> np.ndarray:
    counters = np.arange(N, dtype=np.uint32)
    first, second = threefry2x32(0, 0, 0, counters, rounds=rounds)
    return unit_interval(first ^ second, dtype=np.float32).astype(np.float64)


@pytest.mark.parametrize("rounds", [1, 2, 3, 4, 5, 6, 7])
def test_the_uniform_battery_rejects_threefry_with_too_few_rounds(rounds) -> None:
    assert failures(uniform_z_scores(_threefry_with_rounds(rounds)))
    assert failures(uniform_z_scores(_threefry_with_rounds(20))) == []


def test_the_batteries_reject_other_defects_and_accept_another_good_generator() -> None:
    rng = np.random.default_rng(0)
    assert failures(uniform_z_scores(rng.random(N))) == []  # not tailored to Threefry
    weyl = (np.arange(N) * ((math.sqrt(5) - 1) / 2)) % 1.0  # too even to be random
    assert "chi-square, 1000 bins" in failures(uniform_z_scores(weyl))
    assert "mean" in failures(uniform_z_scores(rng.random(N) ** 1.01))
    assert failures(normal_z_scores(rng.standard_normal(N))) == []
    assert "variance" in failures(normal_z_scores(1.01 * rng.standard_normal(N)))
    irwin_hall = rng.random((N, 12), dtype=np.float32).sum(axis=1) - 6  # light tails
    assert "excess kurtosis" in failures(normal_z_scores(irwin_hall.astype(np.float64)))
    a = rng.random(N)
    assert abs(correlation_z(a, a)) > Z_LIMIT  # a "split" giving the same key twice
    assert abs(correlation_z(a, 0.99 * rng.random(N) + 0.01 * a)) > Z_LIMIT
