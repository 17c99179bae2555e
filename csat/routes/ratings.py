"""GET /csat (the ratings table, or with report=true its export), GET /csat/{id} and
GET /csat/ticket/{ticketId} (one rating's details)."""

from operator import itemgetter

from flask import Blueprint, jsonify

from csat.auth import COMPANY_REQUEST_VIEW, MENU_CSAT, current_admin, require_permission
from csat.errors import NotFound
from csat.exports.engine import export_ratings
from csat.parsing.rating_filters import parse_list_args
from csat.queries.ratings import RATING_NOT_FOUND, ratings_page, visible_rating_details
from schemas import BIGINT_MAX
from schemas.ratings import RatingRow

bp = Blueprint("ratings", __name__, url_prefix="/csat")

ROW_FIELDS = tuple(RatingRow().fields)


@bp.get("")
@require_permission(MENU_CSAT)
def ratings_list():
    """One DataTables page of ratings; with report=true, every matching rating as an export."""
    args = parse_list_args()
    if args.report:
        return export_ratings(args)
    page = ratings_page(args.params, args.identifiers, args.start, args.length)
    return jsonify(_page(page, args.draw))


@bp.get(f"/<int(max={BIGINT_MAX}):rating_id>")
@require_permission(MENU_CSAT)
def rating_details(rating_id):
    """One rating's details; 404 when it does not exist or lies outside the caller's locales."""
    details = visible_rating_details(current_admin().locales, rating_id=rating_id)
    if details is None:
        raise NotFound(RATING_NOT_FOUND)
    return jsonify({"details": details})


@bp.get(f"/ticket/<int(max={BIGINT_MAX}):ticket_id>")
@require_permission(MENU_CSAT, COMPANY_REQUEST_VIEW)
def ticket_rating_details(ticket_id):
    """The rating of a ticket (the survey card in the ticket chat); null when nobody rated it."""
    return jsonify({"details": visible_rating_details(current_admin().locales, ticket_id=ticket_id)})


def _page(page, draw):
    """The DataTables body. Every row carries both counts; an empty page is one row of counts."""
    counts = page.first_row()
    row_fields = itemgetter(*map(page.column, ROW_FIELDS))
    rating_id = page.column("rating_id")
    return {
        "data": [dict(zip(ROW_FIELDS, row_fields(row))) for row in page.rows if row[rating_id] is not None],
        "draw": draw,
        "recordsTotal": counts["recordsTotal"],
        "recordsFiltered": counts["recordsFiltered"],
    }
