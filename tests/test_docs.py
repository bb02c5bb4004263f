"""Every ```python block in README.md and docs/*.md runs, so the docs cannot rot.

Blocks of one page run in order in one namespace, from the repository root, as a
reader would paste them. Use ```text for anything that is not meant to run. The
```pycon blocks of docs/api.md are the docstrings' examples, which
tests/test_docstrings.py runs (and tests/test_api_reference.py keeps the page current).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_code_blocks_run(page: Path) -> None:
    blocks = BLOCK.findall(page.read_text())
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        for i, code in enumerate(blocks):
            try:
                exec(compile(code, f"{page.name}[block {i + 1}]", "exec"), namespace)
            except Exception as exc:  # pragma: no cover - the failure message is the point
                raise AssertionError(f"{page.name}, code block {i + 1} failed: {exc!r}") from exc
    finally:
        os.chdir(cwd)
