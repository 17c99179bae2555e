"""The agents the ratings table can filter by."""

from csat import db


def active_agents(locale_ids):
    """Active administrators by name; with locale_ids, only those assigned to tickets there."""
    return db.fetch_all("agents_list", {"locale_ids": locale_ids}, role="replica")
