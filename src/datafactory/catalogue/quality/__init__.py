"""Metadata quality of the catalogue: stored MQA scores, the link checker, citations.

Modules: ``vocabularies`` (the MQA's vocabulary checks over our CSVs), ``models``
(``dataset_quality``, ``link_checks``), ``scoring`` (score and store a dataset, catalogue
figures), ``links`` (the background link checker), ``citations`` (a dataset's
``CitationRecord``), ``policy`` (who may read scores and start link checks).
"""
