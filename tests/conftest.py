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
