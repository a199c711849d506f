"""Where the data of a protected dataset lives (filled in by its owner)."""

from __future__ import annotations
