"""The built-in machine resolvers (registered under ``factorflow.machine_resolvers``)."""
