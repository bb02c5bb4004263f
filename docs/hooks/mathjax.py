"""MkDocs hook: serve MathJax from the installed ``django-static-mathjax`` package.

The site renders its formulas with MathJax in the reader's browser, from a copy inside
the site itself, so pages work offline and nothing third-party is kept in this
repository: the script comes from the package that the ``docs`` extra installs
(``pip install -e ".[docs]"``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

# The TeX input with every extension built in (nothing loaded later) and SVG output,
# which needs no font files.
BUNDLE = "tex-svg-full.js"
SITE_PATH = f"assets/mathjax/{BUNDLE}"


def _bundle() -> Path:
    spec = importlib.util.find_spec("mathjax")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / "static" / "mathjax" / "es5" / BUNDLE
        if path.is_file():
            return path
    raise PluginError(
        f"MathJax's {BUNDLE} was not found: install the docs dependencies with "
        '`pip install -e ".[docs]"` (they include django-static-mathjax, which ships MathJax).'
    )


def on_files(files: Files, config: Any) -> Files:
    files.append(File.generated(config, SITE_PATH, abs_src_path=str(_bundle())))
    return files
