"""User stores (resolvers), realms and users."""
