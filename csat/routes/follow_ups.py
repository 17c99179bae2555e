"""Admin follow-ups of a rating: create (POST), replace (PUT), and read their history (GET).

POST and PUT /csat/comments take {"ratingId": int > 0, "comments": string}, trimmed to
1-2000 characters, and answer {"success": true}. Unknown rating, or one outside the token's
`locales`: 404. POST where a follow-up exists, or PUT where none does: 409. The database
decides both conflicts in one statement, so concurrent writers cannot slip past each other.

GET /csat/<rating_id>/follow-ups answers the full history, newest first:

    {"history": [
      {"version": 2, "comments": "Refund issued", "written_by": 7, "written_by_name": "Ana Díaz",
       "written_at": "2026-04-12T09:30:00Z",
       "replaced_by": null, "replaced_by_name": null, "replaced_at": null},
      {"version": 1, "comments": "Called the customer", "written_by": 1,
       "written_by_name": "Admin User", "written_at": "2026-04-11T10:00:00Z",
       "replaced_by": 7, "replaced_by_name": "Ana Díaz", "replaced_at": "2026-04-12T09:30:00Z"}
    ]}

Version 1 is the first text; the first entry is the current one (replaced_* null). A rating
without a follow-up answers {"history": []}; an unknown or hidden rating 404.

With a read replica, reads (history, details, list) go to it, except an admin's own right
after they wrote: a successful POST/PUT records where the write ended in the primary's WAL
(db.record_read_position), and their reads use the primary until the replica has replayed it.
"""

from flask import Blueprint

from csat.auth import (CSAT_ADD_COMMENTS, CSAT_UPDATE_COMMENTS, MENU_CSAT, current_admin,
                       require_permission)
from csat.parsing.bodies import parse_json_body
from csat.queries.follow_ups import create_follow_up, follow_up_versions, update_follow_up
from schemas import BIGINT_MAX
from schemas.follow_ups import CommentIn, FollowUpHistoryOut, SuccessOut

bp = Blueprint("follow_ups", __name__, url_prefix="/csat")

_comment_in = CommentIn()
_history_out = FollowUpHistoryOut()
_success_out = SuccessOut()


@bp.post("/comments")
@require_permission(CSAT_ADD_COMMENTS)
def follow_up_create():
    """Give a rating its follow-up, written by the caller."""
    create_follow_up(parse_json_body(_comment_in), current_admin().id, _token_locale_ids())
    return _success_out.dump({"success": True})


@bp.put("/comments")
@require_permission(CSAT_UPDATE_COMMENTS)
def follow_up_update():
    """Replace a rating's follow-up text; the previous text goes to its history."""
    update_follow_up(parse_json_body(_comment_in), current_admin().id, _token_locale_ids())
    return _success_out.dump({"success": True})


@bp.get(f"/<int(max={BIGINT_MAX}):rating_id>/follow-ups")
@require_permission(MENU_CSAT)
def follow_up_history(rating_id):
    """Every text of the rating's follow-up, newest first."""
    return _history_out.dump({"history": follow_up_versions(rating_id, _token_locale_ids())})


def _token_locale_ids():
    """A single rating is limited by the token's locales only (localeId narrows lists)."""
    locales = current_admin().locales
    return list(locales) if locales is not None else None
