"""privacyIDEA's ``/system/`` settings and the ``/healthz/`` probes."""
