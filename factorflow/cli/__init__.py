"""The ``factorflow`` command line."""
