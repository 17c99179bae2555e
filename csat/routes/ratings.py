"""GET /csat (the ratings table), GET /csat/{id} and GET /csat/ticket/{ticketId} (details)."""

from flask import Blueprint, jsonify

from csat import db
from csat.queries import filtered_counts
from csat.auth import COMPANY_REQUEST_VIEW, MENU_CSAT, ensure_visible, require_permission
from csat.errors import NotFound
from csat.parsing.rating_filters import parse_list_args
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
        from csat.exports import engine as exports  # the export streams; only report requests load it

        return exports.export_ratings(args)
    rows = db.fetch_all("ratings_page", {**args.page_params, "count_key": filtered_counts.count_key(args.params)},
                        identifiers=args.identifiers, role="replica")
    filtered_counts.remember(args.params, rows[0])
    return jsonify(_page(rows, args.draw))


@bp.get(f"/<int(max={BIGINT_MAX}):rating_id>")
@require_permission(MENU_CSAT)
def rating_details(rating_id):
    """One rating's details; 404 when it does not exist or lies outside the caller's locales."""
    details = _visible_details({"rating_id": rating_id, "ticket_id": None})
    if details is None:
        raise NotFound("Rating not found")
    return jsonify({"details": details})


@bp.get(f"/ticket/<int(max={BIGINT_MAX}):ticket_id>")
@require_permission(MENU_CSAT, COMPANY_REQUEST_VIEW)
def ticket_rating_details(ticket_id):
    """The rating of a ticket (the survey card in the ticket chat); null when nobody rated it."""
    return jsonify({"details": _visible_details({"rating_id": None, "ticket_id": ticket_id})})


def _page(rows, draw):
    """The DataTables body. Every row carries both counts; an empty page is one row of counts."""
    counts = rows[0]
    return {
        "data": [{field: row[field] for field in ROW_FIELDS}
                 for row in rows if row["rating_id"] is not None],
        "draw": draw,
        "recordsTotal": counts["recordsTotal"],
        "recordsFiltered": counts["recordsFiltered"],
    }


def _visible_details(params):
    """The details row without its locale, None when absent; 404 outside the caller's locales."""
    row = db.fetch_one("rating_details", params, role="replica")
    if row is None:
        return None
    ensure_visible(row.pop("locale_id"))
    return row
