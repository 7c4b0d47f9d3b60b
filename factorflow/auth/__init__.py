"""Login (POST /auth) and the JWTs that carry the principal."""
