"""Policies: how the server behaves (authentication, authorization, enrollment) and
what administrators and users may do (admin and user scopes), with privacyIDEA's
scope and action names. See :mod:`factorflow.policies.matching` for the rules."""
