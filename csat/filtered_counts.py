"""recordsFiltered without recounting: each worker remembers the last count of each filter.

Counting a filter costs up to hundreds of milliseconds at a million ratings, and DataTables
asks for the same filters page after page. A count is remembered with the
rating_filter_version it was read at (migration 0021) and handed back to the page query,
which returns it only if it reads that same version in its own snapshot, and counts again
otherwise (sql/ratings_page.sql). Any write that can change a filter's result bumps the
version in the same transaction, so a returned count is always exact; this cache only
decides whether the database must count.

One cache per app (so per database and per worker process), bounded, least recently used
first out.
"""

import threading
from collections import OrderedDict

from flask import current_app

MAX_FILTERS = 1024
_NOT_COUNTED = {"counted_version": None, "counted_filtered": None}


class FilteredCounts:
    def __init__(self, max_filters=MAX_FILTERS):
        self.max_filters = max_filters
        self._counts = OrderedDict()
        self._lock = threading.Lock()

    def known(self, filters):
        """The page query's counted_version/counted_filtered parameters for these filters."""
        key = _key(filters)
        with self._lock:
            known = self._counts.get(key)
            if known is None:
                return _NOT_COUNTED
            self._counts.move_to_end(key)
        return {"counted_version": known[0], "counted_filtered": known[1]}

    def remember(self, filters, counts_row):
        """Keep the count a page query returned, with the version it belongs to."""
        key = _key(filters)
        with self._lock:
            self._counts[key] = (counts_row["filter_version"], counts_row["recordsFiltered"])
            self._counts.move_to_end(key)
            while len(self._counts) > self.max_filters:
                self._counts.popitem(last=False)


def for_app():
    """The current app's cache (one per app: apps may use different databases)."""
    extensions = current_app.extensions
    cache = extensions.get("csat_filtered_counts")
    if cache is None:
        cache = extensions.setdefault("csat_filtered_counts", FilteredCounts())
    return cache


def _key(filters):
    return tuple(sorted((name, tuple(value) if isinstance(value, list) else value)
                        for name, value in filters.items()))
