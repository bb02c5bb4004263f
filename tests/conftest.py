"""Test configuration: hypothesis profiles (``--hypothesis-profile=thorough`` runs more),
and ``--slow`` for the long mode of tests/test_differential.py."""

from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=40, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "thorough", max_examples=1000, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("default")


def pytest_addoption(parser):  # noqa: ANN001, ANN201
    parser.addoption(
        "--slow",
        action="store_true",
        help="tests/test_differential.py: check 10,000 random programs instead of a few",
    )
    parser.addoption(
        "--slow-examples",
        default="10000",
        help="how many random programs --slow checks (default 10000)",
    )
    parser.addoption(
        "--slow-shard",
        default="0/1",
        help="i/n: check the i-th of n disjoint sets of random programs (parallel runs)",
    )


def pytest_report_teststatus(report, config):
    """In the default (quiet) output a passing or skipped test prints nothing, not a letter.

    Thousands of dots said nothing that the summary line (which counts both) does not;
    failures and errors still print their letters as they happen, and ``-v`` shows
    every test (``-rs`` lists the skips with their reasons).
    """
    if config.get_verbosity() >= 0:
        return None
    if report.when == "call" and report.passed:
        return "passed", "", "PASSED"
    if report.skipped and not hasattr(report, "wasxfail"):
        return "skipped", "", "SKIPPED"
    return None


def pytest_terminal_summary(terminalreporter, config):
    """The line coverage of tapeflow/ as one line (pytest-cov's table only when asked for).

    ``python -m pytest --cov-report=term`` prints the table of the files below 100%.
    """
    plugin = config.pluginmanager.getplugin("_cov")
    controller = getattr(plugin, "cov_controller", None)
    if controller is None or getattr(controller, "cov", None) is None or plugin.options.cov_report:
        return  # coverage off (--no-cov), or a report pytest-cov prints itself
    import io

    try:
        total = controller.cov.report(file=io.StringIO(), ignore_errors=True)
    except Exception as exc:  # noqa: BLE001  (no data: say so instead of failing the run)
        terminalreporter.write_line(f"line coverage not reported: {exc}")
        return
    terminalreporter.write_line(
        f"line coverage of tapeflow/: {total:.2f}% (--cov-report=term lists the files below 100%)"
    )
