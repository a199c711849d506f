"""Catalogue: the single information point. DCAT-AP-LU metadata, vocabularies, RDF, validation."""
