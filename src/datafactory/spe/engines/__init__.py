"""Part of the secure processing environment; see spe/__init__.py."""
