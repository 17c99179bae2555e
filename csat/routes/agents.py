"""GET /csat/agents/list: the agents the CSAT table can filter by."""

from flask import Blueprint, request

from csat import db
from csat.auth import MENU_CSAT, require_permission, visible_locale_ids
from schemas.agents import AgentsOut

bp = Blueprint("agents", __name__, url_prefix="/csat")

_agents_out = AgentsOut()


@bp.get("/agents/list")
@require_permission(MENU_CSAT)
def agents_list():
    """Active administrators sorted by name, limited to the caller's locales."""
    locale_ids = visible_locale_ids(request.args.get("localeId"))
    rows = db.fetch_all("agents_list", {"locale_ids": locale_ids}, role="replica")
    return _agents_out.dump({"list": rows})
