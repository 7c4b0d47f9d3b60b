from __future__ import annotations

from factorflow.cli.main import app

app()
