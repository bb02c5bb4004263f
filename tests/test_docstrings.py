"""The examples in tapeflow's docstrings run and print what they say.

Examples that need the network or write files carry ``# doctest: +SKIP`` in
the source and are shown, not run.
"""

from __future__ import annotations

import doctest
import importlib
import os
import pkgutil
from pathlib import Path

import pytest

import tapeflow

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(tapeflow.__path__, "tapeflow.")
    if not info.name.endswith("__main__")
)
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


@pytest.mark.parametrize("name", ["tapeflow", *MODULES])
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    cwd = os.getcwd()
    os.chdir(ROOT)  # examples refer to benchmarks/data/mnist relative to the repository
    try:
        # Run as user code (its own __name__): a primitive an example declares is a
        # user's primitive, not one of tapeflow's own.
        result = doctest.testmod(
            module,
            optionflags=FLAGS,
            verbose=False,
            report=True,
            extraglobs={"__name__": "__doctest__"},
        )
    finally:
        os.chdir(cwd)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
