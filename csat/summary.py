"""GET /csat/summary: how the ratings the list's filters match are doing, where, and over time.

The filters, their validation and the locale rules are the list's (parse_list_args), so
`total` equals the list's recordsFiltered. Each figure family is one query file, all run
on csat_filtered_ratings: sql/summary_totals.sql (also for the previous period),
sql/summary_breakdowns.sql and sql/summary_trend.sql. Python only arranges their few rows.
"""

import os
from datetime import timedelta

from flask import Blueprint, current_app, request
from marshmallow import ValidationError

from csat import db
from csat.auth import MENU_CSAT, require_permission
from csat.errors import validation_error
from csat.rating_filters import parse_list_args
from schemas.summary import SummaryArgs, SummaryOut

bp = Blueprint("summary", __name__, url_prefix="/csat")

DEFAULT_MIN_SAMPLE = 30
DIMENSIONS = ("source", "source_platform", "carrier", "ticket_type", "agent")

_summary_args = SummaryArgs()
_summary_out = SummaryOut()


@bp.get("/summary")
@require_permission(MENU_CSAT)
def summary():
    """CSAT figures, breakdowns and trend for the list's filters; compare=previous adds the period before."""
    filters = parse_list_args().params
    options = _parse_summary_args()
    body = _figures(db.fetch_one("summary_totals", filters, role="replica"))
    body.update(_trend(filters, options["granularity"]))
    body["breakdowns"] = _breakdowns(filters)
    body["previous"] = _previous_period(filters) if options["compare"] else None
    return _summary_out.dump(body)


def _parse_summary_args():
    try:
        return _summary_args.load(request.args)
    except ValidationError as exc:
        raise validation_error(exc, "query") from None


def min_sample():
    """Breakdown entries with fewer ratings are flagged low_sample (SUMMARY_MIN_SAMPLE)."""
    configured = getattr(current_app.config["CSAT"], "summary_min_sample", None)
    if configured is not None:
        return configured
    raw = os.environ.get("SUMMARY_MIN_SAMPLE", "").strip()
    return int(raw) if raw.isdigit() else DEFAULT_MIN_SAMPLE


def previous_range(start_date, end_date):
    """The period of equal length that ends the day before start_date."""
    days = (end_date - start_date).days + 1
    return start_date - timedelta(days=days), start_date - timedelta(days=1)


def _figures(row, start_date=None, end_date=None):
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


def _trend(filters, granularity):
    """The range (from the trend query, which knows the data's first and last day) and its points."""
    rows = db.fetch_all("summary_trend", {**filters, "granularity": granularity}, role="replica")
    first = rows[0]
    return {
        "start_date": first["first_day"],
        "end_date": first["last_day"],
        "trend": {
            "granularity": first["granularity"] if first["period_start"] else granularity,
            "points": [{"start": row["period_start"], "end": row["period_end"], "total": row["total"],
                        "average": row["average"], "csat": row["csat"]}
                       for row in rows if row["period_start"] is not None],
        },
    }


def _breakdowns(filters):
    rows = db.fetch_all("summary_breakdowns", {**filters, "min_sample": min_sample()},
                        role="replica")
    breakdowns = {dimension: [] for dimension in DIMENSIONS}
    for row in rows:  # a few hundred rows at most: one per carrier, agent, ...
        breakdowns[row.pop("dimension")].append(row)
    return breakdowns


def _previous_period(filters):
    start_date, end_date = previous_range(filters["start_date"], filters["end_date"])
    row = db.fetch_one("summary_totals", {**filters, "start_date": start_date, "end_date": end_date},
                       role="replica")
    return _figures(row, start_date.isoformat(), end_date.isoformat())
