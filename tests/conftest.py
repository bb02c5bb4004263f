"""Test configuration: hypothesis profiles (``--hypothesis-profile=thorough`` runs more)."""

from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=40, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "thorough", max_examples=1000, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("default")
