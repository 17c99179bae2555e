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
    """The database answers (503 Boom otherwise)."""
    db.fetch_one("database_ping")
    return jsonify(status="ready")
