"""Permits: the single data authority's access procedure."""
