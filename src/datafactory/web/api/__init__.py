"""JSON routes, one module per room. Errors leave as problem+json (web/problems.py)."""
