"""QR codes for enrolment URIs, as PNG data URIs (what privacyIDEA's ``img`` fields hold)."""

from __future__ import annotations


def png_data_uri(text: str, *, scale: int = 3) -> str:
    """The QR code of ``text`` as ``data:image/png;base64,...``."""
    import segno  # here, not at the top: only enrolments draw QR codes (memory)

    code = segno.make(text, micro=False, error="m")
    return str(code.png_data_uri(scale=scale, border=2))
