"""What can go wrong in a harvest as a whole (one bad record is counted, not raised)."""

from __future__ import annotations

from datafactory.core.errors import DatafactoryError


class HarvestError(DatafactoryError):
    """The source could not be read: unreachable, refused, too large or unparseable."""

    status = 502
    title = "Harvest failed"
