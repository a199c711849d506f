"""Statistical disclosure control of output tables: the rules every released cell obeys.

Pure functions, no database: the query gate, the airlock and the tests (with ACRO as an
oracle) use the same rules. Defaults are ACRO's (``acro/default.yaml``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DisclosureRules:
    threshold: int = 10
    """A cell needs at least this many contributing people (ACRO ``safe_threshold``)."""
    dof_threshold: int = 10
    """Residual degrees of freedom a model or a spread statistic needs."""
    nk_n: int = 2
    nk_k: float = 0.9
    """Dominance: a cell fails when its ``nk_n`` largest contributors hold at least
    ``nk_k`` of its total."""
    p_ratio: float = 0.10
    """p% rule: a cell fails when (total - largest - second) / largest < p."""
    zeros_disclosive: bool = True
    round_base: int = 5
    """Base for the optional rounding of released values."""
