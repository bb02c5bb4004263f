"""docs/api.md is generated from the docstrings and must be up to date."""

from pathlib import Path

from docs.generators import api_page as apidoc

ROOT = Path(__file__).resolve().parent.parent


def test_api_reference_is_current() -> None:
    expected = apidoc.render()
    actual = (ROOT / "docs" / "api.md").read_text()
    assert actual == expected, "docs/api.md is stale: run python -m docs.generators.api_page"


def test_every_public_function_has_a_summary() -> None:
    missing = [
        f"{module}.{name}"
        for module, _ in apidoc.SECTIONS
        for name, obj in apidoc._entries(module)
        if not (obj.__doc__ or "").strip()
    ]
    assert not missing, f"public functions without a docstring: {missing}"
