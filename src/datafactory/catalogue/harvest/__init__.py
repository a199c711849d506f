"""Harvesting other catalogues into ours: DCAT documents, CKAN and udata APIs.

``sources`` adds and lists sources, ``readers`` fetch and read them, ``normalise`` turns
what they hold into our ``DatasetDraft``, ``run`` stores the records and writes the report.
"""
