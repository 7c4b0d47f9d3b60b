"""Tokens: the token-type plug-ins, their storage and the management use cases."""
