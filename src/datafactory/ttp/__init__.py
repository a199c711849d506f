"""The trusted third party: key custody, pseudonym domains, re-identification, identifier matching."""
