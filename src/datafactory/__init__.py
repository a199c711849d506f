"""datafactory: the platform a country runs to share public-sector data safely."""

__version__ = "0.1.0"
