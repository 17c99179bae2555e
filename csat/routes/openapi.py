"""GET /csat/openapi.json: the OpenAPI 3 document, built from the routes and their schemas."""

from flask import Blueprint, current_app, jsonify

from csat.openapi import document_of

bp = Blueprint("openapi", __name__, url_prefix="/csat")


@bp.get("/openapi.json")
def openapi_document():
    """The OpenAPI 3 document of this service (no token)."""
    return jsonify(document_of(current_app))
