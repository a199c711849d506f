"""Pure privacy algorithms: identifiers, keyed pseudonyms. No database, no web, nothing of ours."""
