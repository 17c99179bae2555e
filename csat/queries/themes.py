"""The words detractors and promoters use most, more than customers at large.

Without startDate/endDate the range is the last DEFAULT_DAYS days in CSAT_TIMEZONE (today and
the days before it). With only endDate, the DEFAULT_DAYS days ending there; with only
startDate, the DEFAULT_DAYS days starting there, cut at today (a range never ends before its
start). Both given: exactly that range, however long. sql/themes_terms.sql counts the terms
parsed when each comment was written (migration 0026).

Themes read every comment of the range, so each worker remembers the last MAX_BODIES bodies
with the rating_filter_version they were read at, exactly like the summary
(csat/queries/summary.py, csat/queries/versioned_cache.py): a remembered body is served only
while the database still reads that version, and every change that can alter one moves it
(migrations 0021, 0024, 0026).
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from csat import db
from csat.queries import versioned_cache
from schemas.themes import MAX_TERMS, ThemesOut

MAX_BODIES = 128  # per worker; a body is a few kB
DEFAULT_DAYS = 90

_themes_out = ThemesOut()


def themes_body(filters, time_zone):
    """The GET /csat/themes body for the list's filter parameters, the range completed in time_zone."""
    start_date, end_date = default_range(filters["start_date"], filters["end_date"], time_zone)
    arguments = {**filters, "start_date": start_date, "end_date": end_date, "max_terms": MAX_TERMS}
    return versioned_cache.remembered_or_computed("csat_themes", MAX_BODIES, arguments, _computed)


def default_range(start_date, end_date, time_zone):
    """(start, end) with a missing end filled in: DEFAULT_DAYS days ending today in time_zone."""
    span = timedelta(days=DEFAULT_DAYS - 1)
    if end_date is None:
        end_date = max(datetime.now(ZoneInfo(time_zone)).date(), start_date or datetime.min.date())
        if start_date is not None:
            end_date = min(end_date, start_date + span)
    if start_date is None:
        start_date = end_date - span
    return start_date, end_date


def _computed(arguments):
    """(the rating_filter_version the terms were read at, the response body)."""
    row = db.fetch_one("themes_terms", arguments, role="replica")
    return row["filter_version"], _themes_out.dump({
        "start_date": row["start_date"].isoformat(), "end_date": row["end_date"].isoformat(),
        "detractors": row["detractors"], "promoters": row["promoters"]})
