"""The JAX compatibility table stays true: tapeflow's signatures against JAX's, name by name.

``docs/generators/jax_api.py`` holds JAX's signatures and the reasons for every
difference; these tests compare them with tapeflow's by introspection. A new difference
without a reason fails, and so does a reason whose difference was closed.
"""

from __future__ import annotations

import inspect

import pytest

import tapeflow.numpy as tnp
from docs.generators import jax_compat_page as page
from docs.generators.jax_api import COMMON, NOTES, SIGNATURES, tapeflow_name

NAMES = sorted(SIGNATURES)

# The names the table must cover: JAX's transforms, jax.tree_util, jax.nn (activations
# and the rest) and jax.nn.initializers, name by name.
REQUIRED = [
    *(
        f"jax.{n}"
        for n in (
            "grad value_and_grad vjp jvp linearize jacfwd jacrev jacobian hessian vmap jit "
            "checkpoint remat custom_vjp custom_jvp eval_shape closure_convert named_call"
        ).split()
    ),
    "jax.lax.stop_gradient",
    "jax.custom_jvp.defjvp",
    "jax.custom_jvp.defjvps",
    "jax.custom_vjp.defvjp",
    *(
        f"jax.tree_util.{n}"
        for n in (
            "tree_map_with_path tree_flatten_with_path keystr register_pytree_node_class "
            "register_dataclass Partial tree_transpose tree_structure all_leaves tree_flatten "
            "tree_leaves tree_map tree_unflatten register_pytree_node"
        ).split()
    ),
    *(
        f"jax.nn.{n}"
        for n in (
            "relu relu6 sigmoid softplus sparse_plus sparse_sigmoid soft_sign silu swish "
            "log_sigmoid leaky_relu hard_sigmoid hard_silu hard_swish hard_tanh tanh elu celu "
            "selu gelu glu squareplus mish identity one_hot standardize logsumexp log_softmax "
            "softmax"
        ).split()
    ),
    *(
        f"jax.nn.initializers.{n}"
        for n in (
            "constant delta_orthogonal glorot_normal glorot_uniform he_normal he_uniform "
            "kaiming_normal kaiming_uniform lecun_normal lecun_uniform normal ones orthogonal "
            "truncated_normal uniform variance_scaling xavier_normal xavier_uniform zeros"
        ).split()
    ),
    "jax.numpy.sum",
    "jax.numpy.linalg.cholesky",
]

# tapeflow.numpy functions with keyword arguments that jax.numpy does not have.
NOT_IN_JAX_NUMPY = {
    "build_array": "tapeflow's helper behind tnp.array",
    "diagonal_scatter": "tapeflow's transpose of diagonal",
    "linear_scan": "tapeflow's helper behind cumulative sums",
    "logsumexp": "JAX has it as jax.nn.logsumexp and jax.scipy.special.logsumexp",
    "real_if_close": "numpy's, not in jax.numpy",
    "row_stack": "numpy's deprecated name for vstack, which the table compares",
}


def test_the_table_covers_every_name_the_issue_lists():
    assert not [n for n in REQUIRED if n not in SIGNATURES]


def test_the_table_covers_every_tnp_function_with_keyword_arguments():
    # "covers" means the function is in the table, so its keywords are compared with JAX's.
    uncovered = []
    for n in dir(tnp):
        obj = getattr(tnp, n)
        if n.startswith("_") or inspect.isclass(obj) or inspect.ismodule(obj) or not callable(obj):
            continue
        params = page.signature_of(obj) or []
        keywords = [p for p in params if p.default != page.NO_DEFAULT or p.kind == "keyword"]
        if keywords and f"jax.numpy.{n}" not in SIGNATURES and n not in NOT_IN_JAX_NUMPY:
            uncovered.append(n)
    assert not uncovered, f"add JAX's signatures to docs/generators/jax_api.py: {uncovered}"


@pytest.mark.parametrize("name", NAMES)
def test_every_difference_is_explained_and_every_explanation_is_true(name):
    found = page.differences(name)
    unexplained = [
        what
        for param, what in found
        if (param == "" and not NOTES.get(name, {}).get(""))
        or (param != "" and page.explain(name, param) is None)
    ]
    assert not unexplained, f"{name}: explain in docs/generators/jax_api.py: {unexplained}"
    documented = {p for p in NOTES.get(name, {}) if p}
    stale = documented - {p for p, _ in found}
    assert not stale, f"{name}: no longer differs in {stale}; remove those notes"


def test_names_jax_has_and_tapeflow_lacks_say_why():
    missing = [n for n in NAMES if page.resolve(tapeflow_name(n))[0] is None]
    assert all(NOTES.get(n, {}).get("") for n in missing)


def test_every_shared_reason_is_used_and_notes_name_known_functions():
    used = {
        key
        for name in NAMES
        for param, _ in page.differences(name)
        for key in COMMON
        if key[1] == param and name.startswith(key[0]) and param not in NOTES.get(name, {})
    }
    assert set(COMMON) == used, f"unused shared reasons: {set(COMMON) - used}"
    assert not set(NOTES) - set(SIGNATURES)


COMPARISONS = [
    # (JAX's signature, tapeflow's parameters written as a signature, differing parameters)
    ("(fun, argnums=0)", "(fun, argnums=0, extra=1)", []),
    ("(fun, argnums=0)", "(fun, argnums=1)", ["argnums"]),
    ("(fun, argnums=0)", "(fun)", ["argnums"]),
    ("(fun, *, has_aux=False)", "(fun, has_aux=False)", []),
    ("(fun, *, has_aux=False)", "(fun, /, has_aux=False)", ["fun"]),
    ("(x, /)", "(y, /)", []),
    ("(x, y, /)", "(x, /)", ["y"]),
    ("(f, *args)", "(f)", ["args"]),
    ("(a, b)", "(b, a)", ["a", "b"]),
    ("(a, dtype=...)", "(a, dtype=None)", []),
    ("(a, dtype=...)", "(a, dtype)", ["dtype"]),
    ("(a)", "(a, b)", ["b"]),
]


@pytest.mark.parametrize("theirs,ours,expected", COMPARISONS)
def test_the_comparison_itself(theirs, ours, expected, monkeypatch):
    exec_ns: dict = {}
    exec(f"def f{ours.replace('dtype=...', 'dtype=None')}: pass", exec_ns)
    monkeypatch.setitem(SIGNATURES, "jax.test_only", theirs)
    monkeypatch.setattr(page, "resolve", lambda dotted: (exec_ns["f"], False))
    assert [p for p, _ in page.differences("jax.test_only")] == expected


def test_the_page_is_current(tmp_path):
    path = page.default_path()
    assert path.read_text() == page.render(), (
        "docs/jax-compat.md is stale: run python -m docs.generators.jax_compat_page"
    )
    out = tmp_path / "jax-compat.md"
    assert page.main(["--output", str(out)]) == 0
    assert page.main(["--output", str(out), "--check"]) == 0
    out.write_text(out.read_text() + "edited by hand\n")
    assert page.main(["--output", str(out), "--check"]) == 1
