"""The documentation's generators (``docs.generators``) live in this package."""
