"""Identity: organisations, people, roles, sign-in, API tokens and the access policy."""
