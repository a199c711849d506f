"""The one seam between the query gate and the engines that run its analyses (STYLE §8).

``run`` is the primary method; ``screen`` answers with bounds where that is cheaper (the
gate falls back to ``run`` when the bounds do not decide); ``render`` shows the SQL an engine
would run, for display, logs and the spec tests' render mode; ``population_differences``
serves the differencing defence. The errors an engine raises::

    InvalidInput (422)
    ├── QueryLimitExceeded     the query ran past the engine's time or memory limit
    └── QueryFailed            the engine could not run it (types, overflow); no data values
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Protocol

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

from datafactory.core.errors import InvalidInput
from datafactory.spe.analysis import Analysis
from datafactory.spe.tables import TableSpec


class QueryLimitExceeded(InvalidInput):
    """The query was stopped by the engine's time or memory limit."""


class QueryFailed(InvalidInput):
    """The engine could not run an accepted query. The message never quotes the engine's
    own, which may contain values of the data."""


class QueryEngine(Protocol):
    name: ClassVar[str]

    def load(self, table: TableSpec, data: pa.Table) -> None:
        """Make ``data`` readable as the workspace table ``table.name``."""

    def render(self, analysis: Analysis) -> str:
        """The SQL ``run`` would execute, in this engine's dialect."""

    def run(self, analysis: Analysis) -> pa.Table:
        """The result: group and aggregate columns under their aliases, then the hidden
        per-cell statistics ``__n`` and, for each sum or mean ``a``, ``__total__a``,
        ``__largest1__a``, ``__largest2__a`` and ``__negative__a``."""

    def screen(self, analysis: Analysis) -> pa.Table | None:
        """The same columns as ``run``, cheaper, with ``__n`` a lower bound on units and
        ``__largest1__a``, ``__largest2__a`` upper bounds on the two largest per-unit
        contributions (totals and signs exact); None when the engine cannot bound this
        analysis more cheaply than ``run`` answers it."""

    def population_differences(
        self, analysis: Analysis, earlier_filters: Sequence[str | None]
    ) -> list[int]:
        """For each earlier canonical filter over the same source, the number of units
        (rows when the source has no unit) owning a row for which exactly one of the
        analysis's filter and the earlier filter holds; NULL counts as false."""
