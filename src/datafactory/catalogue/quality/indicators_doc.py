"""The MQA indicator table of ``docs/quality.md``, written from ``mqa.INDICATORS``.

``tests/catalogue/test_quality.py`` checks that the page holds exactly this table, so the
documentation cannot drift from the scorer.
"""

from __future__ import annotations

from datafactory.catalogue import mqa


def indicators_table() -> str:
    """A Markdown table: dimension, indicator, check, level, points, with the totals."""
    lines = [
        "| Dimension | Indicator | Check | Computed on | Points |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {i.dimension} | {i.name} (`{i.key}`) | {i.check} | {i.level} | {i.points} |"
        for i in mqa.INDICATORS
    ]
    totals = " + ".join(
        f"{d} {sum(i.points for i in mqa.INDICATORS if i.dimension == d)}"
        for d in mqa.DIMENSIONS
    )
    lines.append(f"| **Total** | | {totals} | | **{mqa.MAX_TOTAL}** |")
    return "\n".join(lines) + "\n"
