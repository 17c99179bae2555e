"""Liveness and readiness probes, without a token and outside /csat."""

from flask import Blueprint, jsonify

from csat import db

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
    db.fetch_one("database_ping")
    databases = {"primary": {"reachable": True}}
    replica = db.replica_state_now()
    if replica is not None:
        databases["replica"] = replica.as_json()
    return jsonify(status="ready", databases=databases)
