"""GET /metrics: Prometheus' text format, without a token (scrape it privately)."""

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST

from csat.metrics import exposition

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics():
    """Every worker's metrics in Prometheus' text format (no token: scrape it privately)."""
    return Response(exposition(), content_type=CONTENT_TYPE_LATEST)
