"""GET /csat/themes: the words detractors and promoters use most, more than customers at large.

The filters, their validation and the locale rules are the list's (rating_filters), read with
ThemesArgs. Without startDate/endDate the range is the last 90 days in CSAT_TIMEZONE (today
and the 89 days before it). With only endDate, the 90 days ending there; with only startDate,
the 90 days starting there, cut at today (a range never ends before its start). Both given:
exactly that range, however long (two years of comments take a few seconds).
sql/themes_terms.sql counts the terms parsed when each comment was written (migration 0026).

Themes read every comment of the range (~75,000 for 90 days at 1,000,000 ratings, a few
hundred milliseconds), so each worker remembers the last MAX_BODIES bodies with the
rating_filter_version they were read at, exactly like the summary (csat/summary.py,
csat/versioned_cache.py): a remembered body is served only while the database still reads
that version, and every change that can alter one moves it (migrations 0021, 0024, 0026).
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app

from csat import db
from csat.queries import versioned_cache
from csat.auth import MENU_CSAT, require_permission
from csat.parsing.rating_filters import parse_filter_args
from schemas.themes import MAX_TERMS, ThemesArgs, ThemesOut

bp = Blueprint("themes", __name__, url_prefix="/csat")

MAX_BODIES = 128  # per worker; a body is a few kB
DEFAULT_DAYS = 90

_themes_args = ThemesArgs()
_themes_out = ThemesOut()


@bp.get("/themes")
@require_permission(MENU_CSAT)
def themes():
    """Detractors' and promoters' most frequent comment terms with their lift, for the list's filters."""
    _, filters = parse_filter_args(_themes_args)
    start_date, end_date = default_range(filters["start_date"], filters["end_date"],
                                         current_app.config["CSAT"].time_zone)
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
