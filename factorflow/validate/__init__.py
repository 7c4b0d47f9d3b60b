"""Authentication of PIN+OTP: /validate/check and friends."""
