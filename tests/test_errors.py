"""Every error tapeflow raises on purpose: its type and a distinctive part of its message.

``docs/errors.md`` lists the errors by area; each entry has an id (``### `grad-non-scalar` ...``)
and a ``Tested:`` line. The table ``CASES`` below holds one trigger per id tested here;
``test_every_documented_error_is_tested`` keeps the page and the tests in step, and checks
that entries tested elsewhere name a test function that exists.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow import miniflow as mf
from tapeflow.jit import ConcretizationError

ROOT = Path(__file__).resolve().parent.parent
X = np.ones(3)


def in_grad(body: Callable[[Any], Any], x: Any = X) -> Callable[[], Any]:
    """A thunk that runs ``body`` on a traced copy of ``x`` under ``tp.grad``."""
    return lambda: tp.grad(lambda v: tnp.sum(body(v)))(x)


# ----- regression tests for the fixes that came with this page -----------------------------


def test_vjp_fn_rejects_a_cotangent_of_the_wrong_dtype() -> None:
    _, f_vjp = tp.vjp(lambda x: (x * 2.0, {"a": tnp.sum(x)}), np.ones(3))
    with pytest.raises(TypeError, match=r"cotangent at \[1\]\['a'\] has dtype float32.*float64"):
        f_vjp((np.ones(3), {"a": np.float32(1.0)}))
    _, f32 = tp.vjp(lambda x: x * 2, np.ones(2, np.float32))
    with pytest.raises(TypeError, match=r"has dtype float64, but the output has dtype float32"):
        f32(np.ones(2))
    with pytest.raises(TypeError, match=r"complex128.*real cotangent"):
        f32(np.ones(2, np.complex128))
    # the right dtype, Python numbers and integer outputs' cotangents are accepted
    assert f32(np.ones(2, np.float32))[0].dtype == np.float32
    _, f_scalar = tp.vjp(lambda x: tnp.sum(x), np.ones(3))
    np.testing.assert_array_equal(f_scalar(1.0)[0], np.ones(3))
    np.testing.assert_array_equal(f_scalar(2)[0], 2 * np.ones(3))
    _, f_complex = tp.vjp(lambda z: z * 2.0, np.ones(2, np.complex128))
    np.testing.assert_array_equal(f_complex(np.ones(2, np.complex128))[0], 2 * np.ones(2))
    _, f_z = tp.vjp(lambda z: tnp.sum(z), np.ones(2, np.complex128))
    assert f_z(1j)[0].dtype == np.complex128
    with pytest.raises(TypeError, match="has dtype complex128, but the output has dtype float64"):
        f_scalar(1j)
    # a Python-number output (not computed from the input) has no dtype of its own
    _, f_const = tp.vjp(lambda x: 1.0, np.ones(3))
    np.testing.assert_array_equal(f_const(np.float32(1.0))[0], np.zeros(3))
    with pytest.raises(TypeError, match="complex128, but the output has dtype float64"):
        f_const(np.complex128(1.0))
    _, f_mixed = tp.vjp(lambda x: (x * 2.0, tnp.argmax(x)), np.arange(3.0))
    np.testing.assert_array_equal(f_mixed((np.ones(3), np.zeros((), np.int64)))[0], 2 * np.ones(3))


def test_messages_use_the_right_article() -> None:
    with pytest.raises(TypeError, match="is an int of dtype int64"):
        tp.grad(lambda x: x)(1)
    with pytest.raises(TypeError, match=r"is an ndarray of dtype bool"):
        tp.grad(lambda x: 1.0)(np.array([True]))
    with pytest.raises(TypeError, match="is a str;"):
        tp.grad(lambda x: 1.0)("abc")


def test_jvp_tangents_are_arrays_of_the_output_dtype() -> None:
    _, t = tp.jvp(lambda x: x * tp.stop_gradient(x), (3.0,), (1.0,))
    assert type(t) is np.float64 and t == 3.0
    _, t = tp.jvp(lambda x: x, (3.0,), (1.0,))
    assert type(t) is np.float64
    _, t = tp.jvp(lambda x: x * 2, (np.float32(3.0),), (1.0,))
    assert t.dtype == np.float32 and t == 2.0
    _, t = tp.jvp(
        lambda x: x * tp.stop_gradient(x), (np.ones(2, np.float32),), (np.ones(2, np.float32),)
    )
    assert t.dtype == np.float32


def test_cotangents_of_python_numbers_are_numpy_scalars() -> None:
    _, f_vjp = tp.vjp(lambda a, b: a * b, 1.0, 2.0)
    ga, gb = f_vjp(1.0)
    assert type(ga) is np.float64 and ga == 2.0 and type(gb) is np.float64 and gb == 1.0
    with pytest.raises(ValueError, match="^grad: argnums=0 refers to argument 0"):
        tp.grad(lambda: 1.0)()


def test_jvp_casts_a_tangent_a_rule_widened_back_to_the_output_dtype() -> None:
    # np.float64 * float32 array is float64 under NEP 50: a careless rule widens the tangent
    widen = tp.primitive(lambda a: a * 2, name="test_errors_widening_rule")
    tp.defjvp(widen, lambda t, ans, a: np.float64(2.0) * t)
    _, t = tp.jvp(widen, (np.ones(2, np.float32),), (np.ones(2, np.float32),))
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t, [2.0, 2.0])


def test_forward_mode_accumulates_tuple_tangents_of_a_multi_output_primitive() -> None:
    # A primitive with two traced arguments and a tuple answer: the tangent contributions of
    # the two arguments are tuples and must be added entry by entry, not concatenated.
    pair = tp.primitive(lambda a, b: (a + b, a * b), name="test_errors_pair")
    tp.defjvp(pair, lambda t, ans, a, b: (t, t * b), lambda t, ans, a, b: (t, t * a))
    first = tp.primitive(lambda p: p[0], name="test_errors_first")
    second = tp.primitive(lambda p: p[1], name="test_errors_second")
    tp.defjvp(first, lambda t, ans, p: t[0])
    tp.defjvp(second, lambda t, ans, p: t[1])

    def f(a, b):
        p = pair(a, b)
        return first(p), second(p)

    (s, m), (ts, tm) = tp.jvp(f, (2.0, 3.0), (1.0, 10.0))
    assert (s, m) == (5.0, 6.0)
    assert ts == 11.0  # d(a + b) = 1 + 10
    assert tm == 1.0 * 3.0 + 10.0 * 2.0  # d(a * b) = b da + a db


# ----- one trigger per documented error ------------------------------------------------------


def _leak() -> Callable[[], Any]:
    kept = []
    tp.grad(lambda v: (kept.append(v), tnp.sum(v))[1])(X)
    return lambda: kept[0] * 2.0


def _leak_forward() -> Callable[[], Any]:
    kept = []
    tp.jvp(lambda v: (kept.append(v), v)[1], (X,), (X,))
    return lambda: tnp.sin(kept[0])


def _leak_jit() -> Callable[[], Any]:
    kept = []
    tp.jit(lambda v: (kept.append(v), v * 2.0)[1])(X)
    return lambda: tnp.sin(kept[0])


def _no_rule_primitive(kind: str) -> Callable[[], Any]:
    prim = tp.primitive(lambda a: a * 1.0, name=f"test_errors_no_{kind}")
    if kind == "vjp":
        return in_grad(prim)
    return lambda: tp.jvp(prim, (X,), (X,))


def _register_twice() -> None:
    class Twice:
        pass

    for _ in range(2):
        tp.tree_util.register_pytree_node(Twice, lambda t: ((), None), lambda aux, ch: Twice())


def _custom_vjp(fwd: Any, bwd: Any, fun: Any = None, **kw: Any) -> Any:
    f = tp.custom_vjp(fun or (lambda x: x * 1.0), **kw)
    if fwd is not None:
        f.defvjp(fwd, bwd)
    return f


def _custom_jvp(rule: Any, fun: Any = None) -> Any:
    f = tp.custom_jvp(fun or (lambda x: x * 1.0))
    if rule is not None:
        f.defjvp(rule)
    return f


_ident_fwd = lambda x: (x * 1.0, None)  # noqa: E731


def _jit_closure() -> Any:
    def outer(y: Any) -> Any:
        return tnp.sum(tp.jit(lambda z: z * y)(np.ones(3)))

    return tp.grad(outer)(X)


def _jit_concrete(what: str) -> Any:
    def f(v: Any) -> Any:
        if what == "bool":
            return v * 2.0 if v[0] > 0 else v
        return float(tp.tracer.unwrap(v)[0]) * v  # type: ignore[attr-defined]

    return tp.jit(f)(X)


def _nonlinear_bwd() -> Any:
    f = _custom_vjp(_ident_fwd, lambda res, g: (g + 1.0,))
    return tp.jvp(f, (X,), (X,))


def _numpy_bwd_forward_mode() -> Any:
    f = _custom_vjp(_ident_fwd, lambda res, g: (np.asarray(g) * 1.0,))
    return tp.jvp(f, (X,), (X,))


def _numpy_bwd_second_order() -> Any:
    f = _custom_vjp(lambda x: (tnp.sin(x), x), lambda x, g: (g * np.asarray(np.cos(x)),))
    return tp.grad(tp.grad(lambda x: f(x)))(1.0)


def _custom_closure() -> Any:
    def outer(y: Any, x: Any) -> Any:
        f = _custom_vjp(lambda x: (x * y, None), lambda res, g: (g,), fun=lambda x: x * y)
        return tnp.sum(f(x))

    return tp.grad(outer, argnums=(0, 1))(X, X)


def _gradient_check_failure() -> Any:
    wrong = tp.primitive(lambda a: a * a, name="test_errors_wrong_rule")
    tp.defvjp(wrong, lambda ans, a: lambda g: g * a)  # should be 2 * a
    return tp.testing.check_grads(wrong, (np.array([1.0, 2.0]),))


def _scaled() -> Any:
    return _custom_vjp(
        lambda n, x: (x * n, None),
        lambda n, r, g: (g * n,),
        fun=lambda n, x: x * n,
        nondiff_argnums=(0,),
    )


def _keyword_only() -> Any:
    f = tp.custom_vjp(lambda x, *, k=1: x * k)
    f.defvjp(_ident_fwd, lambda r, g: (g,))
    return f(1.0, k=2)


@pytest.mark.parametrize(
    "transform",
    [
        tp.grad,
        tp.value_and_grad,
        tp.jacrev,
        tp.jacfwd,
        tp.hessian,
        tp.elementwise_grad,
        tp.checkpoint,
        tp.jit,
        tp.vmap,
        tp.custom_vjp,
        tp.custom_jvp,
        lambda f: tp.vjp(f, 1.0),
        lambda f: tp.jvp(f, (1.0,), (1.0,)),
        lambda f: tp.hvp(f, (1.0,), (1.0,)),
        lambda f: tp.linearize(f, 1.0),
    ],
)
def test_every_transform_rejects_a_non_callable(transform: Callable[[Any], Any]) -> None:
    with pytest.raises(TypeError, match="expects a callable, got ndarray"):
        transform(np.ones(2))


@pytest.mark.parametrize(
    "statement",
    ["x -= 1.0", "x *= 2.0", "x /= 2.0", "x **= 2.0", "x @= x"],
)
def test_every_augmented_assignment_on_a_traced_array_raises(statement: str) -> None:
    def f(x: Any) -> Any:
        exec(statement, {}, {"x": x})
        return tnp.sum(x)

    with pytest.raises(TypeError, match="traced arrays are immutable, so in-place"):
        tp.grad(f)(np.ones(2))


def _vmap_multi_output() -> Any:
    pair = tp.primitive(lambda a, b: (a + b, a * b), name="test_errors_vmap_pair")
    first = tp.primitive(lambda p: p[0], name="test_errors_vmap_first")
    with pytest.warns(UserWarning, match="no batching rule"):
        return tp.vmap(lambda a, b: first(pair(a, b)))(X, X)


def _bad_shape_rule() -> Any:
    bad = tp.primitive(lambda a: a * 2.0, name="test_errors_bad_shape_rule")
    tp.defvjp(bad, lambda ans, a: lambda g: tnp.sum(g) * 2.0)  # forgot to keep g's shape
    return tp.grad(lambda v: tnp.sum(bad(v)))(np.ones(2))


def _bad_tangent_shape_rule() -> Any:
    bad = tp.primitive(lambda a: a * 2.0, name="test_errors_bad_tangent_rule")
    tp.defjvp(bad, lambda t, ans, a: tnp.sum(t) * 2.0)
    return tp.jvp(bad, (np.ones(2),), (np.ones(2),))


def _idx_directory(case: str) -> Any:
    root = Path(_tmp("idx"))
    root.mkdir()
    images, labels = np.zeros((4, 2, 2), np.uint8), np.zeros(4, np.uint8)
    if case == "image-shape":
        images = np.zeros(4, np.uint8)
    elif case == "label-shape":
        labels = np.zeros((4, 1), np.uint8)
    for split in ("train", "t10k"):
        tp.datasets.write_idx(root / f"{split}-images-idx3-ubyte", images)
        tp.datasets.write_idx(root / f"{split}-labels-idx1-ubyte", labels)
    if case == "gzip":
        (root / "train-images-idx3-ubyte").unlink()
        (root / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b" + b"not gzip at all")
    return tp.datasets.idx_dataset(root)


def _miniflow(case: str) -> Any:
    x, y = mf.Input(name="x"), mf.Input(name="y")
    node = mf.Mul(x, y)
    if case == "node-input":
        return mf.Add(x, np.ones(2))
    if case == "feed":
        return mf.evaluate(node, {x: 1.0})
    if case == "wrt-type":
        return mf.value_and_grad(node, {x: 1.0, y: 2.0}, x)
    if case == "wrt-node":
        return mf.value_and_grad(node, {x: 1.0, y: 2.0}, [node])
    if case == "wrt-stray":
        return mf.value_and_grad(node, {x: 1.0, y: 2.0}, [mf.Input(name="stray")])
    if case == "wrt-dtype":
        return mf.value_and_grad(node, {x: np.array(["a"]), y: 2.0}, [x])
    if case == "labels":
        return mf.evaluate(
            mf.CrossEntropyWithSoftmax(x, y), {x: np.ones((2, 3)), y: np.array([0.5, 1])}
        )
    if case == "accuracy":
        return mf.accuracy(x, {x: np.ones((2, 3))}, np.array([0, 1, 2]))
    if case == "output":
        return mf.evaluate(np.ones(2), {})  # type: ignore[arg-type]
    raise AssertionError(case)


_SCRATCH = tempfile.TemporaryDirectory(prefix="tapeflow-errors-")  # removed at exit


def _tmp(name: str) -> str:
    """A fresh path for a file or directory ``name`` in this module's scratch directory."""
    return str(Path(tempfile.mkdtemp(dir=_SCRATCH.name)) / name)


def _load_broken_params(kind: str) -> Any:
    path = _tmp("params.npz")
    if kind == "corrupted":
        np.savez(path, __tapeflow_tree__=np.array("{not json"), x=np.ones(2))
    else:  # "lacks": the structure names an array that is not in the file
        np.savez(path, __tapeflow_tree__=np.array('{"format": 1, "tree": {"leaf": "x"}}'))
    return tp.load_params(path)


def _save_params(tree: Any) -> Any:
    return tp.save_params(_tmp("params.npz"), tree)


class _Opaque:
    pass


tp.tree_util.register_pytree_node(_Opaque, lambda o: ((), None), lambda aux, ch: _Opaque())


Case = tuple[Callable[[], Any], type, str]

CASES: dict[str, Case] = {
    # transforms and their arguments
    "not-callable": (lambda: tp.grad(3), TypeError, "grad expects a callable, got int"),
    "argnums-type": (
        lambda: tp.grad(lambda x: x, argnums=1.5)(1.0),
        TypeError,
        "argnums must be an int or a tuple of ints",
    ),
    "argnums-empty": (
        lambda: tp.grad(lambda x: x, argnums=())(1.0),
        ValueError,
        r"argnums must name at least one argument",
    ),
    "argnums-range": (
        lambda: tp.grad(lambda x: x, argnums=2)(1.0),
        ValueError,
        r"refers to argument 2, but the function was called with 1",
    ),
    "argnums-repeated": (
        lambda: tp.grad(lambda x, y: x * y, argnums=(0, -2))(2.0, 3.0),
        ValueError,
        r"argnums=\(0, -2\) names argument 0 twice",
    ),
    "has-aux-not-pair": (
        lambda: tp.grad(lambda x: x, has_aux=True)(1.0),
        TypeError,
        r"has_aux=True\) needs the function to return a pair",
    ),
    "grad-non-scalar": (
        lambda: tp.grad(lambda x: x * 2.0)(X),
        TypeError,
        r"scalar output, but it returned shape \(3,\)",
    ),
    "grad-several-outputs": (
        lambda: tp.grad(lambda x: (x, x))(1.0),
        TypeError,
        "single scalar output, but it returned a tuple",
    ),
    "grad-output-not-a-number": (
        lambda: tp.grad(lambda x: "loss")(1.0),
        TypeError,
        "returning a scalar array or float, got str",
    ),
    "grad-complex-output": (
        lambda: tp.grad(lambda z: z * 2.0)(1j),
        TypeError,
        "Pass holomorphic=True",
    ),
    "grad-integer-output": (
        lambda: tp.grad(lambda x: tnp.argmax(x))(X),
        TypeError,
        "real floating-point output, but the function returned dtype int",
    ),
    "holomorphic-real-output": (
        lambda: tp.grad(lambda z: tnp.abs(z), holomorphic=True)(1j),
        TypeError,
        "holomorphic=True\\) requires a complex output",
    ),
    "holomorphic-real-input": (
        lambda: tp.grad(lambda z: z, holomorphic=True)(1.0),
        TypeError,
        "requires complex inputs",
    ),
    "input-not-float": (
        lambda: tp.grad(lambda x, n: x * n, argnums=(0, 1))(1.0, 3),
        TypeError,
        r"input at argument 1 is an int of dtype int64; only float and complex",
    ),
    "input-not-array": (
        lambda: tp.grad(lambda x: 1.0)({"w": "abc"}),
        TypeError,
        r"argument 0\['w'\] is a str",
    ),
    "input-none": (
        lambda: tp.grad(lambda x: 1.0)(None),
        TypeError,
        "argument 0 is None, which holds nothing to differentiate",
    ),
    "primal-none": (lambda: tp.vjp(lambda x: 1.0, None), TypeError, "vjp: primal 0 is None"),
    "jvp-primal-none": (
        lambda: tp.jvp(lambda x: x, (None,), (None,)),
        TypeError,
        "jvp: primal 0 is None, which holds nothing to differentiate",
    ),
    "jvp-not-tuples": (
        lambda: tp.jvp(tnp.sin, X, X),
        TypeError,
        "takes primals and tangents as tuples",
    ),
    "hvp-not-tuples": (
        lambda: tp.hvp(lambda x: tnp.sum(x), X, X),
        TypeError,
        r"hvp\(fun, primals, tangents\) takes primals and tangents as tuples",
    ),
    "hvp-no-primals": (
        lambda: tp.hvp(lambda: 1.0, (), ()),
        ValueError,
        "hvp: primals must hold at least one argument",
    ),
    "linearize-no-primals": (lambda: tp.linearize(tnp.sin), TypeError, "needs at least one primal"),
    "linearize-tangent-count": (
        lambda: tp.linearize(tnp.sin, 1.0)[1](1.0, 2.0),
        TypeError,
        r"jvp_fn takes one tangent per primal \(1\), got 2",
    ),
    "jacobian-non-float-output": (
        lambda: tp.jacrev(lambda x: (x * 2.0, tnp.argmax(x)))(X),
        TypeError,
        r"output at \[1\] is an int64, not a float array",
    ),
    "hessian-non-scalar": (
        lambda: tp.hessian(lambda x: x * 2.0)(X),
        TypeError,
        r"hessian requires a function with a scalar output",
    ),
    "checkpoint-not-callable": (
        lambda: tp.checkpoint(None),
        TypeError,
        "checkpoint expects a callable",
    ),
    "rule-cotangent-shape": (
        _bad_shape_rule,
        ValueError,
        r"cotangent computed for input leaf 0 has shape \(\), but the input has shape \(2,\)",
    ),
    "rule-tangent-shape": (
        _bad_tangent_shape_rule,
        ValueError,
        r"tangent computed for output leaf 0 has shape \(\), but the output has shape \(2,\)",
    ),
    # pytrees
    "tree-unflatten-count": (
        lambda: tp.tree_util.tree_unflatten(tp.tree_util.tree_structure((1, 2)), [1]),
        ValueError,
        "has 2 leaves but 1 were given",
    ),
    "tree-map-structure": (
        lambda: tp.tree_util.tree_map(lambda a, b: a, (1, 2), [1, 2]),
        ValueError,
        "argument 1 has structure .* does not match",
    ),
    "tree-register-twice": (
        _register_twice,
        ValueError,
        "Twice is already registered as a pytree node",
    ),
    "unravel-shape": (
        lambda: tp.tree_util.ravel_pytree([X])[1](np.ones(4)),
        ValueError,
        r"unravel expects a vector of shape \(3,\), got shape \(4,\)",
    ),
    # cotangents and tangents
    "cotangent-structure": (
        lambda: tp.vjp(lambda x: (x, x), X)[1](X),
        ValueError,
        "the cotangent has structure .* output has structure",
    ),
    "cotangent-shape": (
        lambda: tp.vjp(lambda x: x, X)[1](np.ones(2)),
        ValueError,
        r"cotangent has shape \(2,\), but the output has shape \(3,\)",
    ),
    "cotangent-not-a-number": (
        lambda: tp.vjp(lambda x: tnp.sum(x), X)[1]("one"),
        TypeError,
        r"vjp_fn: the cotangent is a str; pass an array of the output's dtype float64",
    ),
    "cotangent-dtype": (
        lambda: tp.vjp(lambda x: x, X)[1](np.ones(3, np.float32)),
        TypeError,
        "cotangent has dtype float32, but the output has dtype float64",
    ),
    "tangent-structure": (
        lambda: tp.jvp(lambda x: x, (X,), ([X],)),
        TypeError,
        "tangents have structure .* primals have structure",
    ),
    "tangent-shape": (
        lambda: tp.jvp(lambda x: x, (X,), (np.ones(2),)),
        ValueError,
        r"tangent at \[0\] has shape \(2,\), but the primal has shape \(3,\)",
    ),
    "tangent-dtype": (
        lambda: tp.jvp(lambda x: x, (X,), (np.ones(3, np.float32),)),
        TypeError,
        r"tangent at \[0\] has dtype float32, but the primal has dtype float64",
    ),
    # numpy on traced arrays
    "numpy-unsupported-function": (
        in_grad(lambda v: np.trapezoid(v)),
        TypeError,
        r"tapeflow cannot differentiate numpy\.trapezoid yet",
    ),
    "numpy-unsupported-ufunc-method": (
        in_grad(lambda v: np.add.reduceat(v, [0, 1])),
        TypeError,
        r"cannot differentiate numpy\.add\.reduceat",
    ),
    "numpy-unsupported-keyword": (
        in_grad(lambda v: np.quantile(v, 0.5, weights=np.ones(X.shape), method="inverted_cdf")),
        TypeError,
        r"supports numpy\.quantile but not its keyword argument weights=",
    ),
    "numpy-ufunc-where": (
        in_grad(lambda v: np.exp(v, where=v > 0)),
        TypeError,
        r"numpy\.exp\(\.\.\., where=\.\.\.\) leaves the unselected entries uninitialized",
    ),
    "numpy-reduce-where": (
        in_grad(lambda v: np.logaddexp.reduce(v, where=np.array([True, False, True]))),
        TypeError,
        r"numpy\.logaddexp\.reduce\(\.\.\., where=\.\.\.\) is not supported",
    ),
    "array-conversion": (
        in_grad(lambda v: np.asarray(v) * 2.0),
        TypeError,
        "numpy tried to convert a traced array to a plain ndarray",
    ),
    "missing-vjp-rule": (
        _no_rule_primitive("vjp"),
        TypeError,
        r"no VJP rule for argument 0 of 'test_errors_no_vjp'",
    ),
    "missing-jvp-rule": (
        _no_rule_primitive("jvp"),
        TypeError,
        r"no JVP rule for argument 0 of 'test_errors_no_jvp'",
    ),
    "unsupported-attribute": (
        in_grad(lambda v: v.searchsorted(0.5)),
        AttributeError,
        "do not support the ndarray attribute 'searchsorted'",
    ),
    "bitwise-on-float": (in_grad(lambda v: v & v), TypeError, "only on boolean traced arrays"),
    "invert-on-float": (in_grad(lambda v: ~v), TypeError, "only supported for boolean masks"),
    "len-of-0d": (
        lambda: tp.grad(lambda v: len(v) * v)(1.0),
        TypeError,
        r"len\(\) of unsized object",
    ),
    "primitive-not-callable": (
        lambda: tp.primitive(3),
        TypeError,
        "tp.primitive expects a callable",
    ),
    "defvjp-not-a-primitive": (
        lambda: tp.defvjp(np.sin, None),
        TypeError,
        "is not a tapeflow primitive; declare it first",
    ),
    "rule-not-callable": (
        lambda: tp.defvjp(tnp.sin, 3),
        TypeError,
        "rule for argument 0 must be callable or None",
    ),
    # limits of the numpy layer
    "numpy-unsupported-mode": (
        in_grad(lambda v: tnp.pad(v, 1, mode=lambda *args: None)),
        NotImplementedError,
        "pad: a function as mode fills the padding in place",
    ),
    "numpy-traced-constant": (
        in_grad(lambda v: tnp.quantile(v, v[0])),
        TypeError,
        "q must be a constant, not a traced value",
    ),
    "numpy-argument-error": (
        in_grad(lambda v: tnp.sum(v, axis=3)),
        np.exceptions.AxisError,
        "axis 3 is out of bounds for array of dimension 1",
    ),
    "numpy-unsupported-keyword-tnp": (
        in_grad(lambda v: tnp.clip(v, 0, 1, casting="unsafe")),
        TypeError,
        r"clip got unsupported keyword\(s\) \['casting'\]",
    ),
    # in-place mutation
    "setitem": (
        in_grad(lambda v: v.__setitem__(0, 1.0)),
        TypeError,
        r"immutable, so item assignment \(x\[idx\] = v\) is not allowed",
    ),
    "augmented-assignment": (
        in_grad(lambda v: v.__iadd__(1.0)),
        TypeError,
        r"immutable, so in-place addition \(x \+= v\)",
    ),
    "in-place-method": (
        in_grad(lambda v: v.sort()),
        AttributeError,
        r"ndarray\.sort changes the array in place.*tnp\.sort",
    ),
    "out-argument": (
        in_grad(lambda v: np.multiply(v, 2.0, out=np.zeros(3))),
        TypeError,
        r"numpy\.multiply\(\.\.\., out=\.\.\.\).*would write into an array in place",
    ),
    "ufunc-at": (
        in_grad(lambda v: np.add.at(v, [0], 1.0)),
        TypeError,
        r"numpy\.add\.at\(a, indices, b\) would write into an array in place",
    ),
    "tnp-out-argument": (
        in_grad(lambda v: tnp.dot(v, v, out=np.zeros(()))),
        TypeError,
        r"tnp\.dot\(\.\.\., out=\.\.\.\) would write in place",
    ),
    # leaked tracers
    "leaked-tracer": (
        _leak(),
        RuntimeError,
        "reverse-mode .* transform that has already returned was used again",
    ),
    "leaked-tracer-forward": (
        _leak_forward(),
        RuntimeError,
        "forward-mode .* has already returned",
    ),
    "leaked-tracer-jit": (
        _leak_jit(),
        RuntimeError,
        "from a jit transform that has already returned",
    ),
    # jit
    "jit-concretization": (
        lambda: _jit_concrete("bool"),
        ConcretizationError,
        r"bool\(\) needs the value of a traced array.*tnp\.where",
    ),
    "jit-unwrap": (
        lambda: _jit_concrete("unwrap"),
        TypeError,
        r"reading the contents of a traced array \(unwrap\) needs the value",
    ),
    "jit-closure": (_jit_closure, TypeError, "closure over a traced value"),
    "jit-not-callable": (lambda: tp.jit(1), TypeError, "jit expects a callable"),
    "jit-cache-size": (
        lambda: tp.jit(tnp.sin, cache_size=0),
        ValueError,
        "cache_size must be at least 1",
    ),
    "jit-static-argnums": (
        lambda: tp.jit(tnp.sin, static_argnums=3)(X),
        ValueError,
        r"static_argnums=3 refers to argument 3",
    ),
    "jit-unhashable-static": (
        lambda: tp.jit(lambda x, n: x, static_argnums=1)(X, [1]),
        TypeError,
        "must be hashable",
    ),
    "vmap-multi-output-rule": (
        _vmap_multi_output,
        NotImplementedError,
        "received a batched multi-output value and has no batching rule",
    ),
    # custom_vjp / custom_jvp contract
    "custom-not-callable": (
        lambda: tp.custom_vjp(3),
        TypeError,
        "tp.custom_vjp expects a callable",
    ),
    "custom-vjp-no-rule": (
        lambda: _custom_vjp(None, None)(1.0),
        TypeError,
        r"has no rule yet; call <lambda>\.defvjp\(fwd, bwd\)",
    ),
    "custom-jvp-no-rule": (
        lambda: _custom_jvp(None)(1.0),
        TypeError,
        r"has no rule yet; register one with @<lambda>\.defjvp",
    ),
    "custom-defvjp-not-callable": (
        lambda: _custom_vjp(1, 2),
        TypeError,
        r"defvjp\(fwd, bwd\) needs two callables",
    ),
    "custom-defjvp-not-callable": (
        lambda: _custom_jvp(1),
        TypeError,
        r"defjvp\(rule\) needs a callable",
    ),
    "custom-fwd-not-pair": (
        lambda: tp.grad(_custom_vjp(lambda x: x, lambda r, g: (g,)))(1.0),
        TypeError,
        r"fwd must return a pair \(out, residuals\)",
    ),
    "custom-bwd-not-tuple": (
        lambda: tp.grad(_custom_vjp(_ident_fwd, lambda r, g: g))(1.0),
        TypeError,
        r"bwd must return a tuple.*return \(g_x,\)",
    ),
    "custom-bwd-count": (
        lambda: tp.grad(_custom_vjp(_ident_fwd, lambda r, g: (g, g)))(1.0),
        ValueError,
        r"bwd returned 2 cotangent\(s\), but the function has 1",
    ),
    "custom-bwd-structure": (
        lambda: tp.grad(_custom_vjp(_ident_fwd, lambda r, g: ([g],)))(1.0),
        ValueError,
        "bwd's cotangent 0 has structure",
    ),
    "custom-bwd-shape": (
        lambda: tp.grad(lambda x: tnp.sum(_custom_vjp(_ident_fwd, lambda r, g: (g[:2],))(x)))(X),
        ValueError,
        r"cotangent for argument 0 has shape \(2,\), but the argument has shape \(3,\)",
    ),
    "custom-bwd-traced": (
        _numpy_bwd_second_order,
        TypeError,
        "its bwd rule failed on traced values",
    ),
    "custom-bwd-forward-mode": (
        _numpy_bwd_forward_mode,
        TypeError,
        r"forward mode \(jvp, jacfwd\) of a custom_vjp function finds tangents by transposing",
    ),
    "custom-bwd-nonlinear": (_nonlinear_bwd, ValueError, "is not linear in g"),
    "custom-jvp-not-pair": (
        lambda: tp.jvp(_custom_jvp(lambda p, t: p[0]), (1.0,), (1.0,)),
        TypeError,
        r"the rule must return a pair \(out, tangent_out\)",
    ),
    "custom-jvp-tangent-structure": (
        lambda: tp.grad(_custom_jvp(lambda p, t: (p[0], (t[0], t[0]))))(1.0),
        TypeError,
        "the tangent output has structure",
    ),
    "custom-jvp-tangent-shape": (
        lambda: tp.jvp(_custom_jvp(lambda p, t: (p[0], np.ones(2))), (1.0,), (1.0,)),
        ValueError,
        r"tangent output at <root> has shape \(2,\)",
    ),
    "custom-jvp-out-uses-tangent": (
        lambda: tp.grad(_custom_jvp(lambda p, t: (t[0], t[0])))(1.0),
        ValueError,
        "depends on the tangents",
    ),
    "custom-closure": (_custom_closure, TypeError, "closes over a traced value"),
    "custom-nondiff-traced": (
        in_grad(lambda v: _scaled()(v, v)),
        TypeError,
        "nondiff_argnums are for static values",
    ),
    "custom-nondiff-range": (
        lambda: _custom_vjp(_ident_fwd, lambda r, g: (g,), nondiff_argnums=(3,))(1.0),
        ValueError,
        "nondiff_argnums names argument 3, but it was called with 1",
    ),
    "custom-bad-arguments": (
        lambda: _custom_vjp(_ident_fwd, lambda r, g: (g,))(1.0, y=2.0),
        TypeError,
        "<lambda>: got an unexpected keyword argument 'y'",
    ),
    "custom-keyword-only": (
        _keyword_only,
        TypeError,
        r"take their arguments positionally; got keyword-only arguments \['k'\]",
    ),
    # testing
    "check-grads-mismatch": (
        _gradient_check_failure,
        tp.testing.GradientCheckError,
        "reverse-mode derivative of .* disagrees with finite differences",
    ),
    "check-grads-mode": (
        lambda: tp.testing.check_grads(tnp.sin, (1.0,), modes=("sideways",)),
        ValueError,
        "unknown mode 'sideways'",
    ),
    "check-grads-order": (
        lambda: tp.testing.check_grads(tnp.sin, (1.0,), order=0),
        ValueError,
        "order must be >= 1",
    ),
    "check-grads-no-float": (
        lambda: tp.testing.check_grads(lambda n: 1.0, (3,)),
        TypeError,
        "no float argument to differentiate",
    ),
    # miniflow
    "miniflow-node-input": (
        lambda: _miniflow("node-input"),
        TypeError,
        "input 1 is an ndarray, not a node",
    ),
    "miniflow-output": (
        lambda: _miniflow("output"),
        TypeError,
        "expected a miniflow node, got ndarray",
    ),
    "miniflow-feed-missing": (
        lambda: _miniflow("feed"),
        KeyError,
        "feed_dict has no value for Input 'y'",
    ),
    "miniflow-wrt-type": (
        lambda: _miniflow("wrt-type"),
        TypeError,
        "wrt must be a list or tuple of Input nodes",
    ),
    "miniflow-wrt-node": (
        lambda: _miniflow("wrt-node"),
        TypeError,
        r"wrt\[0\] is a Mul; gradients are taken with respect to Input nodes",
    ),
    "miniflow-wrt-stray": (
        lambda: _miniflow("wrt-stray"),
        ValueError,
        "is not an input of this graph",
    ),
    "miniflow-wrt-dtype": (
        lambda: _miniflow("wrt-dtype"),
        TypeError,
        "feed has dtype <U1; only numbers can be differentiated",
    ),
    "miniflow-labels": (
        lambda: _miniflow("labels"),
        ValueError,
        "labels must be whole class indices",
    ),
    "miniflow-accuracy": (lambda: _miniflow("accuracy"), ValueError, "one label per row"),
    # nn, optim, datasets, serialization, scipy: argument checks without a test elsewhere
    "optim-schedule-args": (
        lambda: tp.optim.step_decay(1.0, 0.5, step_size=0),
        ValueError,
        "step_decay: step_size must be >= 1",
    ),
    "optim-cosine-args": (
        lambda: tp.optim.cosine_decay(1.0, decay_steps=0),
        ValueError,
        "cosine_decay: decay_steps must be >= 1",
    ),
    "optim-warmup-args": (
        lambda: tp.optim.warmup(1.0, warmup_steps=-1),
        ValueError,
        "warmup: warmup_steps must be >= 0",
    ),
    "optim-clip-args": (
        lambda: tp.optim.clip_by_global_norm([X], 0.0),
        ValueError,
        "max_norm must be > 0",
    ),
    "optim-sgd-momentum": (
        lambda: tp.optim.sgd(0.1, momentum=1.0),
        ValueError,
        r"momentum must be in \[0, 1\)",
    ),
    "optim-sgd-nesterov": (
        lambda: tp.optim.sgd(0.1, nesterov=True),
        ValueError,
        "nesterov=True needs momentum > 0",
    ),
    "nn-one-hot-labels": (
        lambda: tp.nn.one_hot(np.array([0.0, 1.0]), 3),
        TypeError,
        "one_hot expects integer labels",
    ),
    "nn-one-hot-range": (
        lambda: tp.nn.one_hot(np.array([0, 3]), 3),
        ValueError,
        r"labels must lie in \[0, 3\)",
    ),
    "nn-embedding-ids": (
        lambda: tp.nn.embedding(np.array([0.0]), np.ones((3, 2))),
        TypeError,
        "embedding expects integer ids, got dtype float64",
    ),
    "nn-layer-norm-axis": (
        lambda: tp.nn.LayerNorm(axis=0),
        ValueError,
        "LayerNorm normalises the last axis",
    ),
    "nn-pool-shape": (
        lambda: tp.nn.MaxPool(2)[0](np.random.default_rng(0), (-1, 4)),
        ValueError,
        "pooling expects NCHW input shapes",
    ),
    "nn-conv-shape": (
        lambda: tp.nn.Conv(2, (3, 3))[0](np.random.default_rng(0), (-1, 4)),
        ValueError,
        "Conv expects NCHW input shapes",
    ),
    "nn-dropout-rate": (lambda: tp.nn.Dropout(1.0), ValueError, r"drop_rate must be in \[0, 1\)"),
    "scipy-polygamma-order": (
        lambda: tp.scipy.special.polygamma(-1, 1.0),
        ValueError,
        "n must be a non-negative integer",
    ),
    "idx-write-shape": (
        lambda: tp.datasets.write_idx(_tmp("scalar.idx"), np.array(3, np.uint8)),
        ValueError,
        "IDX stores arrays with 1 to 255 dimensions, got 0",
    ),
    "lab-dataset-mismatch": (
        lambda: tp.datasets.DataSet(np.ones((3, 2)), np.ones(2)),
        ValueError,
        "3 images but 2 labels",
    ),
    "lab-next-batch-type": (
        lambda: tp.datasets.DataSet(np.ones((3, 2)), np.ones(3)).next_batch(1.5),
        TypeError,
        "batch_size must be an int, got float",
    ),
    "lab-validation-size-type": (
        lambda: tp.datasets.read_data_sets(_tmp("none"), validation_size=0.5),
        TypeError,
        "validation_size must be an int, got float",
    ),
    "idx-directory-shapes": (
        lambda: _idx_directory("image-shape"),
        ValueError,
        r"train images have shape \(4,\); expected \(N, \.\.\.\)",
    ),
    "idx-directory-label-shape": (
        lambda: _idx_directory("label-shape"),
        ValueError,
        r"train labels have shape \(4, 1\); expected \(N,\)",
    ),
    "idx-directory-gzip": (
        lambda: _idx_directory("gzip"),
        ValueError,
        "train-images-idx3-ubyte.gz: corrupted or truncated gzip data",
    ),
    "batches-batch-size-type": (
        lambda: next(tp.datasets.batches(X, X, 1.5)),
        TypeError,
        "batch_size must be an int, got float",
    ),
    "batches-no-rows": (
        lambda: next(tp.datasets.batches(np.float64(1.0), X, 1)),
        ValueError,
        "must have a leading \\(row\\) dimension",
    ),
    "save-params-keys": (lambda: _save_params({1.5: X}), TypeError, "dict keys must be str or int"),
    "save-params-custom-node": (
        lambda: _save_params([_Opaque()]),
        TypeError,
        "cannot describe the custom pytree node _Opaque",
    ),
    "load-params-corrupted": (
        lambda: _load_broken_params("corrupted"),
        ValueError,
        "has a corrupted structure entry",
    ),
    "load-params-missing-array": (
        lambda: _load_broken_params("lacks"),
        ValueError,
        "lacks the array for key path",
    ),
    "jacrev-complex-output": (
        lambda: tp.jacrev(lambda x: x * (1 + 1j))(X),
        TypeError,
        "jacrev requires real outputs.*ambiguous",
    ),
    "jacfwd-complex-input": (
        lambda: tp.jacfwd(tnp.abs)(X.astype(complex)),
        TypeError,
        "jacfwd requires real inputs, but argument 0 has dtype complex128",
    ),
    "jacobian-holomorphic-real": (
        lambda: tp.jacrev(lambda z: z * z, holomorphic=True)(X),
        TypeError,
        r"jacrev\(\.\.\., holomorphic=True\) requires complex inputs",
    ),
    "reduce-axes": (
        lambda: tp.grad(tnp.sum, reduce_axes=("batch",)),
        NotImplementedError,
        "tapeflow has no named axes",
    ),
    "symbolic-zeros": (
        lambda: tp.custom_jvp(lambda x: x).defjvp(lambda p, t: (p, t), symbolic_zeros=True),
        NotImplementedError,
        r"symbolic_zeros=True\) is not supported",
    ),
    "defjvps-nondiff": (
        lambda: tp.custom_jvp(lambda x, n: x, nondiff_argnums=(1,)).defjvps(None),
        TypeError,
        "defjvps cannot be used with nondiff_argnums",
    ),
    "checkpoint-static-unhashable": (
        lambda: tp.grad(tp.checkpoint(lambda x, k: x * k[0], static_argnums=1))(1.0, [2.0]),
        TypeError,
        "static argument 1 is list, which is not hashable",
    ),
    "vmap-axis-size": (
        lambda: tp.vmap(tnp.sin, axis_size=3)(np.ones(2)),
        ValueError,
        "axis_size=3, but argument",
    ),
    "jit-donate-type": (
        lambda: tp.jit(lambda x: x, donate_argnums="x"),
        TypeError,
        "donate_argnums must be ints",
    ),
    "eval-shape-sharding": (
        lambda: tp.ShapeDtypeStruct((2,), np.float32, sharding="cpu"),
        NotImplementedError,
        "tapeflow has no devices or shardings",
    ),
    # tapeflow.distributed, in this one process (a job of one rank)
    "distributed-unknown-op": (
        lambda: _distributed().allreduce(X, op="prod"),
        ValueError,
        "allreduce: unknown op 'prod'; use one of 'sum', 'mean', 'max', 'min'",
    ),
    "distributed-axis": (
        lambda: _distributed().allgather(X, axis=1),
        ValueError,
        "allgather: axis 1 is out of range for an array with 1 dimension",
    ),
    "distributed-root": (
        lambda: _distributed().broadcast(X, root=1),
        ValueError,
        r"broadcast: root=1 is not a rank of this job of 1 process\(es\); use 0 to 0",
    ),
    "distributed-reduce-scatter-0d": (
        lambda: _distributed().reduce_scatter(1.0),
        ValueError,
        "reduce_scatter needs an array with at least one axis",
    ),
    "distributed-complex-max": (
        lambda: _distributed().allreduce(X * 1j, op="max"),
        TypeError,
        "op='max' needs real values, got complex128",
    ),
}


def _distributed() -> Any:
    """tapeflow.distributed, or a skip where the mpi extra is not installed."""
    pytest.importorskip("mpi4py", reason='needs the mpi extra: pip install "tapeflow[mpi]"')
    return tp.distributed


@pytest.mark.parametrize("name", sorted(CASES))
def test_error(name: str) -> None:
    thunk, exc, pattern = CASES[name]
    with pytest.raises(exc, match=pattern):
        thunk()


@pytest.mark.parametrize(
    "body, pattern",
    [
        (lambda v: tnp.take(v, [0], mode="wrap"), "take supports mode='raise' only"),
        (lambda v: tnp.quantile(v, 0.5, method="lower"), "quantile supports method='linear' only"),
        (lambda v: tnp.sort(v, order="x"), r"sort\(\.\.\., order=\.\.\.\) of structured arrays"),
        (lambda v: tnp.partition(v, 1, order="x"), r"partition\(\.\.\., order=\.\.\.\)"),
    ],
)
def test_numpy_unsupported_modes(body: Callable[[Any], Any], pattern: str) -> None:
    with pytest.raises(NotImplementedError, match=pattern):
        in_grad(body, np.arange(3.0))()


# ----- the page and the tests stay in step ---------------------------------------------------

ROW = re.compile(r"^\| `([a-z0-9-]+)` \|(.*)$", re.M)
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def test_every_documented_error_is_tested() -> None:
    page = (ROOT / "docs" / "errors.md").read_text()
    rows = ROW.findall(page)
    ids = [name for name, _ in rows]
    assert len(ids) == len(set(ids)), "duplicate ids in docs/errors.md"
    for name, rest in rows:
        refs = REFERENCE.findall(rest)
        for path, test in refs:
            source = (ROOT / path).read_text()
            assert re.search(rf"^def {test}\(", source, re.M), f"{name}: {path}::{test} not found"
        assert name in CASES or "Tested in" in rest, f"{name} is documented but not tested"
    missing = sorted(set(CASES) - set(ids))
    assert not missing, f"tested but not documented in docs/errors.md: {missing}"


def test_casting_to_an_integer_dtype_carries_no_derivative():
    # Regression: astype(int) passed cotangents through as if the cast were the identity.
    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(tp.grad(lambda x: tnp.sum(x.astype(int) * x))(x), [1.0, 2.0])
    assert tp.jvp(lambda x: tnp.sum(x.astype(int) * x), (x,), (np.ones(2),))[1] == 3.0


def test_vjp_needs_per_argument_entries_must_be_argument_numbers_or_ans() -> None:
    from tapeflow.core.primitive import vjp_needs

    twice = tp.primitive(lambda x, y: 2 * x * y, name="twice_needs_test")
    with pytest.raises(TypeError, match="argument 0's rule must list argument numbers and 'ans'"):
        vjp_needs(twice, ans=False, args={0: ("y",)})
    with pytest.raises(TypeError, match="the keys of args must be argument numbers .*'x'"):
        vjp_needs(twice, ans=False, args={"x": (1,)})
