"""The built documentation site, read in a real headless browser.

The site is built with ``mkdocs build --strict``, served on 127.0.0.1 and opened in
Debian's Chromium through ChromeDriver (``apt-get install chromium chromium-driver``;
selenium comes with the ``docs`` extra). The checks are what a reader would see: the
tutorial's formulas typeset as maths, the API reference's real signatures and whole
examples, and no link on any page that leads nowhere.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin, urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
# No network, no first-run or background work: the page is all the browser does.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        pass


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The strictly built site, served on 127.0.0.1: (its base URL, its folder)."""
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, f"mkdocs build --strict failed:\n{build.stderr}"
    handler = functools.partial(_Quiet, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", out
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def site(built: tuple[str, Path]) -> str:
    return built[0]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        why = (
            f"{', '.join(missing)} missing: install Debian's Chromium "
            "(apt-get install chromium chromium-driver), as .ci/run does"
        )
        # CI installs the browser, so there a missing one is a failure, never a skip.
        if os.environ.get("TAPEFLOW_REQUIRE_BROWSER"):
            pytest.fail(why)
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver: Any, script: str, timeout: float = 30.0) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(script))


def test_tutorial_formulas_render_as_maths(site: str, browser: Any) -> None:
    driver: Any = browser
    driver.get(site + "tutorial/")
    formulas = driver.execute_script("return document.querySelectorAll('.arithmatex').length")
    assert formulas >= 20, f"the tutorial has only {formulas} formulas marked for typesetting"
    # MathJax replaces each formula's TeX by an <mjx-container> holding an SVG.
    _wait(
        driver,
        "return document.querySelectorAll('.arithmatex mjx-container svg').length"
        " === document.querySelectorAll('.arithmatex').length",
    )
    text = driver.execute_script("return document.body.innerText")
    for raw in ("$$", "\\frac", "\\partial", "\\[", "\\("):
        assert raw not in text, f"raw TeX {raw!r} is visible on the tutorial page"


def test_api_page_shows_signatures_and_whole_examples(site: str, browser: Any) -> None:
    driver: Any = browser
    driver.get(site + "api/")
    text = driver.execute_script("return document.body.innerText")
    for shown in (
        "tp.nn.relu(x)",
        "tp.scipy.special.erf(x)",
        "tp.scipy.special.gammaln(x)",
        "tp.vmap(fun, in_axes=0, out_axes=0, axis_name=None, axis_size=None",
        "tp.save_params(path, params)",
        # the last line of save_params's example, not only its first
        "sorted(np.load(path).files)",
        # vmap's example to its end
        "in_axes=(None, 0, 0))(w, xs, ys)",
    ):
        assert shown in text, f"the API page does not show {shown!r}"
    assert "relu(*args, **kwargs)" not in text


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _crawl(driver: Any, start: str) -> tuple[dict[str, set[str]], list[tuple[str, str]]]:
    """Every page reachable from ``start``: {page: ids on it}, and every (page, link)."""
    ids: dict[str, set[str]] = {}
    links: list[tuple[str, str]] = []
    todo = [start]
    while todo:
        page = todo.pop()
        if page in ids or _status(page) != 200:
            continue
        driver.get(page)
        found = driver.execute_script(
            "return [Array.from(document.querySelectorAll('[id]'), e => e.id),"
            " Array.from(document.querySelectorAll('a[href]'), a => a.href)]"
        )
        ids[page] = set(found[0])
        for href in found[1]:
            links.append((page, href))
            target = urldefrag(href)[0]
            if target.startswith(start) and target.endswith("/") and target not in ids:
                todo.append(target)
    return ids, links


def test_no_broken_links(built: tuple[str, Path], browser: Any) -> None:
    site, folder = built
    ids, links = _crawl(browser, site)
    rel = [p.parent.relative_to(folder).as_posix() for p in folder.rglob("index.html")]
    pages = {site if r == "." else f"{site}{r}/" for r in rel}
    assert pages <= set(ids), f"pages no link leads to: {sorted(pages - set(ids))}"
    broken = []
    for page, href in links:
        target, anchor = urldefrag(href)
        if not target.startswith(site):
            assert urlparse(href).scheme in ("http", "https", "mailto"), href
            continue  # an outside address: the test machine has no network to check it
        if target in ids:
            if anchor and anchor not in ids[target]:
                broken.append(f"{page} -> {href} (no element with id {anchor!r})")
            continue
        if _status(urljoin(site, target)) != 200:
            broken.append(f"{page} -> {href}")
    assert not broken, "broken links:\n" + "\n".join(sorted(set(broken)))
