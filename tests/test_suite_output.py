"""What `python -m pytest` prints: no line of dots per 80 tests, coverage as one line.

Runs pytest on one small test file in a subprocess, with the project's configuration.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_a_run_prints_the_summary_and_a_one_line_coverage_total():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_tree_util.py", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    # No progress letters for passing (or skipped) tests ...
    letters = [line.split("[")[0].strip() for line in lines]
    assert not any(text and set(text) <= {".", "s"} for text in letters), run.stdout
    # ... and coverage as one line, not pytest-cov's table of files.
    assert sum("line coverage of tapeflow/:" in line for line in lines) == 1, run.stdout
    assert not any(line.startswith(("Name ", "TOTAL")) for line in lines), run.stdout
    assert " passed" in lines[-1]
    assert len(lines) <= 5, run.stdout
