"""recordsFiltered without recounting the whole history: counts remembered for every worker.

The page query (sql/ratings_page.sql) brings the count remembered under this filter's key up
to date with the changes logged since it was read, or counts when none is remembered, and
says which (count_source); csat/queries/remembered.py stores a new or updated count. Any write that
can change a filter's result is logged in its own transaction (migration 0030), so a count is
always exact; remembering only decides how much the database must read.
"""

from csat.queries import remembered, versioned_cache
from schemas.ratings import FILTER_PARAMS


def count_key(params):
    """The filtered_count_cache key of these filter parameters."""
    return versioned_cache.key_of({name: params[name] for name in FILTER_PARAMS})


def remember(key, counts_row):
    """Store the count a page query counted or brought up to date under its count_key."""
    remembered.record("count", counts_row["count_source"], "filtered_count_remember",
                      {"key": key, "version": counts_row["filter_version"],
                       "ratings": counts_row["recordsFiltered"]})
