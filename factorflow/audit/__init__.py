"""The audit log: one signed entry per request and per event action."""
