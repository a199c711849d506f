"""Core: settings, database, audit ledger, errors, files and background jobs."""
