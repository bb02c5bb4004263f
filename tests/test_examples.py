"""The examples gallery (docs/examples/*.py) runs in --quick mode and learns something.

Each script's ``main(argv)`` returns its measurements; a row below says what a few
steps must already show. Full runs and their results are on the gallery's pages.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"

# script: (what its quick run must show, the figure it draws)
CHECKS: dict[str, tuple[Callable[[dict[str, float]], bool], str]] = {
    "logistic_regression": (
        lambda r: r["final_loss"] < 0.6 * r["initial_loss"] and r["test_accuracy"] > 0.8,
        "logistic_regression.png",
    ),
    "gp_regression": (lambda r: r["final_nlml"] < r["initial_nlml"] - 5, "gp_regression.png"),
    "bayesian_nn": (lambda r: r["final_elbo"] > r["initial_elbo"], "bayesian_nn.png"),
    "char_lstm": (
        lambda r: (
            r["final_bits"] < r["initial_bits"] and r["initial_bits"] < 1.5 * r["uniform_bits"]
        ),
        "char_lstm.png",
    ),
    "vae": (lambda r: r["final_elbo"] > r["initial_elbo"] + 20, "vae.png"),
    "mnist_cnn": (lambda r: r["final_accuracy"] > r["initial_accuracy"] + 0.1, "mnist_cnn.png"),
    "dp_sgd": (lambda r: r["sgd_accuracy"] > r["chance"] + 0.1, "dp_sgd.png"),
    "neural_ode": (lambda r: r["final_mse"] < 0.7 * r["initial_mse"], "neural_ode.png"),
}


def _load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"gallery_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_example_has_a_check_and_a_page() -> None:
    scripts = {p.stem for p in EXAMPLES.glob("*.py")}
    assert scripts == set(CHECKS), (
        f"scripts without a row, or rows without a script: {scripts ^ set(CHECKS)}"
    )
    for name in scripts:
        page = (EXAMPLES / f"{name}.md").read_text()
        assert f"figures/{name}.png" in page, f"{name}.md does not show its figure"
        assert (EXAMPLES / "figures" / f"{name}.png").is_file(), f"{name}: no recorded figure"


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_example_runs_quick(name: str, tmp_path: Path) -> None:
    check, figure = CHECKS[name]
    result = _load(name).main(["--quick", "--out", str(tmp_path)])
    assert check(result), f"{name} --quick: {result}"
    # matplotlib comes with the docs extra, which CI installs
    assert (tmp_path / figure).is_file(), f"{name} drew no {figure}"
