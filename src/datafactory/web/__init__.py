"""The web face: FastAPI app factory, JSON API, pages, middleware."""
