"""Factorflow: a multi-factor authentication server built around event handling."""

from __future__ import annotations

__version__ = "0.1.0"
