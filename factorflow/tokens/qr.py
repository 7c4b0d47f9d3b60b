"""QR codes for enrolment URIs, as PNG data URIs (what privacyIDEA's ``img`` fields hold)."""

from __future__ import annotations

import segno


def png_data_uri(text: str, *, scale: int = 3) -> str:
    """The QR code of ``text`` as ``data:image/png;base64,...``."""
    code = segno.make(text, micro=False, error="m")
    return str(code.png_data_uri(scale=scale, border=2))
