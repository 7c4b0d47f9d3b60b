"""Remote privacyIDEA-compatible servers (``/privacyideaserver/``) and forwarding to them."""
