"""The sets of handling items behind every number of the report: one test per count, applied
to the same rows the report was computed from (live or frozen), so a list always sums to its
count. Each is a measure of catalog.measures, whose SQL twin lists the live catalog without
loading all of it; tests hold the two to each other."""

from __future__ import annotations

from catalog.measures import (
    ALL,
    AT_MOST_ONE_VISIT,
    FULLY_ONLINE,
    INSTANT,
    LIMITED,
    MISSING_PREFIX,
    MORE_VISITS,
    NO_VISIT,
    ONLINE_CAPABLE,
    PROMISED,
    QUALITY,
    RULES,
    VISIT,
    Measure,
)

__all__ = ["ITEMS", "MEASURES", "MISSING_PREFIX", "Measure"]

# The lists the report links its numbers to, in the order the pages offer them.
MEASURES: dict[str, Measure] = {
    measure.key: measure
    for measure in (ALL, NO_VISIT, VISIT, INSTANT, PROMISED, AT_MOST_ONE_VISIT, MORE_VISITS,
                    ONLINE_CAPABLE, FULLY_ONLINE, LIMITED, *RULES.values(), *QUALITY)
}  # fmt: skip

ITEMS = "items"  # not a set of handling items: the approval items themselves (counts by type)
