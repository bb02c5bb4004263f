"""docs/coverage.md is generated from the registries and must not go stale."""

import difflib

from docs.generators.coverage_page import build_table, default_path, main
from tapeflow.core.primitive import registered_primitives


def test_coverage_table_is_up_to_date():
    expected = build_table()
    path = default_path()
    current = path.read_text() if path.exists() else ""
    if current != expected:
        diff = "".join(
            list(
                difflib.unified_diff(
                    current.splitlines(True),
                    expected.splitlines(True),
                    "docs/coverage.md",
                    "registry",
                )
            )[:40]
        )
        raise AssertionError(
            "docs/coverage.md is stale; regenerate it with "
            "`python -m docs.generators.coverage_page`.\n" + diff
        )


def test_every_builtin_primitive_and_dispatched_function_is_listed():
    text = build_table()
    for name in registered_primitives(builtin_only=True):
        assert f"| `{name}` |" in text, name
    for name in (
        "numpy.exp",
        "numpy.sum",
        "numpy.matmul",
        "numpy.add.reduce",
        "numpy.maximum.reduce",
        "numpy.multiply.outer",
        "numpy.add.accumulate",
    ):
        assert f"| `{name}` |" in text, name
    assert "| `numpy.trapezoid` |" not in text


def test_rule_columns_reflect_the_registry():
    text = build_table()
    assert "| `exp` | yes | yes |" in text
    assert "| `less` | zero | zero |" in text
    assert "| `x.at` | yes | yes |" in text


def test_check_mode_detects_a_stale_file(tmp_path):
    out = tmp_path / "coverage.md"
    assert main(["--output", str(out)]) == 0
    assert main(["--output", str(out), "--check"]) == 0
    out.write_text(out.read_text() + "edited by hand\n")
    assert main(["--output", str(out), "--check"]) == 1
