"""Seed files: token import (``POST /token/load/<filename>``, ``factorflow token import``)
from PSKC (RFC 6030), OATH CSV and Yubikey CSV files, and PSKC export.

A parser turns a file into :class:`~factorflow.tokens.imports.ImportedToken` values and
the places they came from; :mod:`factorflow.tokens.seeds.load` checks the whole file
before it writes anything and imports it through the bulk path of
:mod:`factorflow.tokens.imports`, in the request's one transaction: a file is imported
whole or not at all.
"""
