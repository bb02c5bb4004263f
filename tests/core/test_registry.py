"""Primitive names are unique, and nothing finds a primitive by its name."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow.core.primitive import get_primitive, registered_primitives
from tapeflow.vmap import BatchingFallbackWarning


def test_a_name_taken_by_tapeflows_own_primitive_is_refused() -> None:
    with pytest.raises(ValueError, match="'reshape' is taken by <primitive reshape>.*shape"):
        tp.primitive(lambda x, shape: np.reshape(x, shape), name="reshape")
    # ... and tnp.reshape keeps its own rules: vmap batches it without the loop.
    xs = np.arange(12.0).reshape(2, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingFallbackWarning)
        out = tp.vmap(lambda x: tnp.reshape(x, (2, 3)))(xs)
    np.testing.assert_array_equal(out, xs.reshape(2, 2, 3))
    assert registered_primitives()["reshape"].declared_in == "tapeflow.numpy.shape"


def test_a_module_may_declare_its_own_name_again() -> None:
    # Re-running a notebook cell (or reloading a module) declares the primitive again.
    first = tp.primitive(lambda x: 2 * x, name="test_registry.twice")
    again = tp.primitive(lambda x: 3 * x, name="test_registry.twice")
    assert registered_primitives()["test_registry.twice"] is get_primitive(again)
    assert get_primitive(first) is not get_primitive(again)


def test_implicit_names_never_clash() -> None:
    a = tp.primitive(lambda x: x)
    b = tp.primitive(np.sin)  # "sin" is tapeflow's: this one is qualified by its module
    assert get_primitive(a).name.endswith("<lambda>")
    assert get_primitive(b).name == f"{__name__}.sin"
    assert registered_primitives()["sin"].declared_in == "tapeflow.numpy.elementwise"
