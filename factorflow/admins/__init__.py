"""Local administrator accounts."""
