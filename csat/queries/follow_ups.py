"""Admin follow-ups of a rating: create, replace, and read their history.

The database decides both conflicts (a POST where a follow-up exists, a PUT where none does)
in one statement, so concurrent writers cannot slip past each other. After a write, the
admin's reads wait for a replica that has replayed it (db.record_read_position).
"""

from csat import db
from csat.errors import Conflict, NotFound

RATING_NOT_FOUND = "Rating not found"


def create_follow_up(comment, admin_id, locale_ids):
    """Give a rating (comment["rating_id"]) its follow-up; 404 unknown or hidden, 409 if one exists."""
    outcome = db.fetch_one("follow_up_create", {**comment, "admin_id": admin_id, "locale_ids": locale_ids})
    _written(outcome["found"], outcome["created"], admin_id,
             conflict="This rating already has a follow-up; use PUT to change it")


def update_follow_up(comment, admin_id, locale_ids):
    """Replace a rating's follow-up text (kept in its history); 404 unknown or hidden, 409 if none."""
    outcome = db.fetch_one("follow_up_update", {**comment, "admin_id": admin_id, "locale_ids": locale_ids})
    _written(outcome["found"], outcome["updated"], admin_id,
             conflict="This rating has no follow-up yet; use POST to add one")


def follow_up_versions(rating_id, locale_ids):
    """Every version of the rating's follow-up, newest first; 404 unknown or hidden."""
    rows = db.fetch_all("follow_up_history", {"rating_id": rating_id, "locale_ids": locale_ids},
                        role="replica")
    if not rows:
        raise NotFound(RATING_NOT_FOUND)
    return [row for row in rows if row["version"] is not None]


def _written(found, done, admin_id, *, conflict):
    if not found:
        raise NotFound(RATING_NOT_FOUND)
    if not done:
        raise Conflict(conflict)
    db.record_read_position(admin_id)  # read-your-writes on the replica
