"""RADIUS server configurations (``/radiusserver/``) and Access-Requests to them (RFC 2865)."""
