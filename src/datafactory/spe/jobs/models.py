"""Tables of the secure processing environment (filled in by the part that owns them)."""

from __future__ import annotations
