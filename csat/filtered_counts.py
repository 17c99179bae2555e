"""recordsFiltered without recounting: each worker remembers the last count of each filter.

Counting a filter costs up to hundreds of milliseconds at a million ratings, and DataTables
asks for the same filters page after page. A count is remembered with the
rating_filter_version it was read at (migration 0021, csat/versioned_cache.py) and handed
back to the page query, which returns it only if it reads that same version in its own
snapshot, and counts again otherwise (sql/ratings_page.sql). Any write that can change a
filter's result bumps the version in the same transaction, so a returned count is always
exact; this cache only decides whether the database must count.
"""

from csat import versioned_cache

MAX_FILTERS = 1024
_NOT_COUNTED = {"counted_version": None, "counted_filtered": None}


class FilteredCounts:
    def __init__(self, cache):
        self._cache = cache

    def known(self, filters):
        """The page query's counted_version/counted_filtered parameters for these filters."""
        known = self._cache.get(versioned_cache.key_of(filters))
        if known is None:
            return _NOT_COUNTED
        return {"counted_version": known[0], "counted_filtered": known[1]}

    def remember(self, filters, counts_row):
        """Keep the count a page query returned, with the version it belongs to."""
        self._cache.put(versioned_cache.key_of(filters), counts_row["filter_version"],
                        counts_row["recordsFiltered"])


def for_app():
    """The current app's counts (one per app: apps may use different databases)."""
    return FilteredCounts(versioned_cache.for_app("csat_filtered_counts", MAX_FILTERS))
