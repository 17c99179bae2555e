"""Liveness and readiness probes, without a token and outside /csat."""

from flask import Blueprint, jsonify

from csat.queries.health import database_states

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process answers; says nothing about the database."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """The primary answers (503 Boom otherwise); the body says which databases are reachable.

    A replica that is down or lagging leaves the service ready: its reads go to the primary.
    """
    return jsonify(status="ready", databases=database_states())
