"""Importing another MFA server's installation (``factorflow migrate ...``)."""
