"""Framework-free request model shared by the API, the CLI and the scheduler."""
