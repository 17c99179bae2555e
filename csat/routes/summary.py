"""GET /csat/summary: CSAT figures, breakdowns and trend for the list's filters.

The filters, their validation and the locale rules are the list's (csat/parsing/
rating_filters.py), read with SummaryArgs (no paging or sort to validate), so `total` equals
the list's recordsFiltered. How the figures are had and remembered: csat/queries/summary.py.
"""

from flask import Blueprint, current_app

from csat.auth import MENU_CSAT, require_permission
from csat.parsing.rating_filters import parse_filter_args
from csat.queries.summary import summary_body
from schemas.summary import SummaryArgs

bp = Blueprint("summary", __name__, url_prefix="/csat")

_summary_args = SummaryArgs()


@bp.get("/summary")
@require_permission(MENU_CSAT)
def summary():
    """CSAT figures, breakdowns and trend for the list's filters; compare=previous adds the period before."""
    options, filters = parse_filter_args(_summary_args)
    settings = current_app.config["CSAT"]
    return summary_body(filters, granularity=options["granularity"], compare=options["compare"],
                        min_sample=settings.summary_min_sample,
                        statement_timeout_ms=settings.summary_statement_timeout_ms)
