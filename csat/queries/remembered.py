"""Answers remembered in PostgreSQL for every worker and container, brought up to date there.

A count of a list filter (recordsFiltered) and the cells of a summary are remembered with the
rating_filter_version they were read at (filtered_count_cache and summary_cell_cache,
migration 0030). The page and summary queries bring a remembered answer up to date with the
signed changes logged since (rating_changes), or compute it when none is remembered, and say
which they did; this module stores what they computed or updated, on the primary, so the next
request of any worker starts from there. Storing is best effort: an answer that could not be
stored is still exact, the next request only redoes the work.

The log is pruned here too, now and then (on an app's first store, then at most every
PRUNE_EVERY_SECONDS), of changes older than RETENTION_SECONDS; answers remembered before them
are dropped with them and computed again when next asked.
"""

import logging
import threading
import time

import psycopg2
from flask import current_app

from csat import db, metrics
from csat.errors import ServiceUnavailable

log = logging.getLogger(__name__)

RETENTION_SECONDS = 86400
PRUNE_EVERY_SECONDS = 600

_prune_lock = threading.Lock()


def record(kind, how, remember_query, params):
    """Count how an answer was had; store it when it was computed or updated."""
    metrics.answer_had(kind, how)
    if how in ("computed", "counted", "updated"):
        _quietly(remember_query, params)
        _prune_now_and_then()


def _prune_now_and_then():
    now = time.monotonic()
    with _prune_lock:
        if now < current_app.extensions.get("csat_next_prune", 0.0):
            return
        current_app.extensions["csat_next_prune"] = now + PRUNE_EVERY_SECONDS
    _quietly("rating_changes_prune", {"retention_seconds": RETENTION_SECONDS})


def _quietly(query, params):
    try:
        db.fetch_one(query, params, role="primary")
    except (psycopg2.Error, ServiceUnavailable) as exc:
        log.warning("%s: not stored (%s)", query, str(exc).strip())
