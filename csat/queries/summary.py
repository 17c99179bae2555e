"""The summary's figures: how the ratings the list's filters match are doing, where, and over time.

sql/summary_figures.sql returns every figure of the range in one statement (headline, range,
breakdowns and trend points, the last two as JSON); Python only arranges its row.

Every figure is rolled up from cells (sums per carrier and score, per ticket type, per agent,
per day) that PostgreSQL remembers for every worker and brings up to date with the changes
logged since (sql/summary_figures.sql, csat/queries/remembered.py): after a write, a summary
costs about what the write changed, not a pass over the history. Only a summary nobody asked
for yet is computed from the matching ratings, with SUMMARY_STATEMENT_TIMEOUT_MS instead of the
request timeout, so a first all-time summary of a large database is slow, never an error.
The previous period (compare=previous) is the same query over the earlier dates.

Each worker also keeps the last MAX_SUMMARIES response bodies with the rating_filter_version
they were read at (csat/queries/versioned_cache.py) and answers from memory while the database
still reads that version (one primary-key read); the version moves with every change that can
alter a summary (migrations 0021, 0024), so a remembered body is exact, never stale.
"""

from datetime import timedelta
from functools import partial

from csat import db
from csat.queries import remembered, summary_change, versioned_cache
from schemas.summary import SummaryOut

# Arguments the cells do not depend on (they only shape figures from the cells, or are not read
# by the summary at all), so summaries differing in them share the remembered cells.
CELL_INDEPENDENT_ARGUMENTS = ("granularity", "compare", "min_sample", "company_keys",
                              "flag_base_url", "carrier_logo_base_url")
# The per-company sums, remembered as parallel arrays beside the other cells.
COMPANY_CELLS = ("company_ids", "company_ratings", "company_score_sums", "company_satisfied")
MAX_SUMMARIES = 256  # per worker; a summary body is a few kB to tens of kB

_summary_out = SummaryOut()


def summary_body(filters, *, granularity, compare, min_sample, statement_timeout_ms):
    """The GET /csat/summary body for the list's filter parameters; `min_sample`: below it an
    entry is low_sample; `statement_timeout_ms`: for a summary computed from the ratings."""
    arguments = {**filters, "granularity": granularity, "compare": compare, "min_sample": min_sample}
    return versioned_cache.remembered_or_computed(
        "csat_summaries", MAX_SUMMARIES, arguments, partial(_computed, statement_timeout_ms=statement_timeout_ms))


def previous_range(start_date, end_date):
    """The period of equal length that ends the day before start_date."""
    days = (end_date - start_date).days + 1
    return start_date - timedelta(days=days), start_date - timedelta(days=1)


def _computed(arguments, *, statement_timeout_ms):
    """(the rating_filter_version the figures were read at, the response body)."""
    row = _figures_row(arguments, statement_timeout_ms)
    body = _figures(row, row["first_day"], row["last_day"])
    body["breakdowns"] = row["breakdowns"]
    body["trend"] = {"granularity": row["granularity"], "points": row["trend_points"]}
    body["previous"], body["change"], previous_breakdowns = None, None, None
    if arguments["compare"]:
        shown = [entry["key"] for entry in row["breakdowns"]["company"]]
        body["previous"], previous_breakdowns = _previous_period(arguments, shown, statement_timeout_ms)
        body["change"] = summary_change.headline_change(body, body["previous"])
    summary_change.annotate_entries(body["breakdowns"], previous_breakdowns)
    return row["filter_version"], _summary_out.dump(body)


def _figures(row, start_date, end_date):
    return {
        "start_date": start_date,
        "end_date": end_date,
        "total": row["total"],
        "average": row["average"],
        "csat": row["csat"],
        "distribution": {str(score): row[f"score_{score}"] for score in range(1, 6)},
        "with_comment": row["with_comment"],
        "detractors": {"total": row["detractors"], "followed_up": row["detractors_followed_up"],
                       "pending": row["detractors_pending"]},
    }


def _previous_period(arguments, companies, statement_timeout_ms):
    """(headline figures, breakdowns) of the period before, for the companies shown now."""
    start_date, end_date = previous_range(arguments["start_date"], arguments["end_date"])
    # No company shown now: [0], which names none (an empty list would mean "the 25 at risk").
    row = _figures_row({**arguments, "start_date": start_date, "end_date": end_date,
                        "company_keys": companies or [0]}, statement_timeout_ms)
    return _figures(row, start_date.isoformat(), end_date.isoformat()), row["breakdowns"]


def _figures_row(arguments, statement_timeout_ms):
    """summary_figures' row for these arguments; the cells it computed or updated are stored."""
    cells_key = versioned_cache.key_of({name: value for name, value in arguments.items()
                                        if name not in CELL_INDEPENDENT_ARGUMENTS})
    row = db.fetch_one("summary_figures", {"company_keys": None, **arguments, "cache_key": cells_key},
                       role="replica", statement_timeout_ms=statement_timeout_ms)
    remembered.record("summary", row["how"], "summary_cells_remember",
                      {"key": cells_key, "version": row["filter_version"], "cells": row["cells"],
                       **{name: row[name] for name in COMPANY_CELLS}})
    return row
