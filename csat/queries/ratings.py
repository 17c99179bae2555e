"""The ratings table's questions: one DataTables page, and one rating's details."""

from csat import db
from csat.errors import NotFound
from csat.queries import filtered_counts

RATING_NOT_FOUND = "Rating not found"


def ratings_page(filters, sort, start, length):
    """One page of sql/ratings_page.sql as a db.Table (tuples: the handler builds each row's
    dict once). Every row carries recordsTotal and recordsFiltered; a page past the end is one
    row of counts with no rating. The filtered count is remembered for every worker
    (csat/queries/filtered_counts.py)."""
    count_key = filtered_counts.count_key(filters)
    page = db.fetch_table("ratings_page", {**filters, "start": start, "length": length,
                                           "count_key": count_key},
                          identifiers=sort, role="replica")
    filtered_counts.remember(count_key, page.first_row())
    return page


def visible_rating_details(locale_ids, *, rating_id=None, ticket_id=None):
    """A rating's details by its id or its ticket's, None when there is none. A rating outside
    `locale_ids` (None: every locale) does not exist for the caller: 404."""
    row = db.fetch_one("rating_details", {"rating_id": rating_id, "ticket_id": ticket_id},
                       role="replica")
    if row is None:
        return None
    locale_id = row.pop("locale_id")
    if locale_ids is not None and locale_id not in locale_ids:
        raise NotFound(RATING_NOT_FOUND)
    return row
