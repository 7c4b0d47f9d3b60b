"""Side-by-side benchmark of Factorflow and privacyIDEA 3.14 (see docs/performance.md)."""
