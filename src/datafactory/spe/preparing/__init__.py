"""The preparation of a workspace's data by the trusted third party (``spe.preparation``):
its ledger events live here."""
