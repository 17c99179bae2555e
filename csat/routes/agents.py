"""GET /csat/agents/list: the agents the CSAT table can filter by."""

from flask import Blueprint, request

from csat.auth import MENU_CSAT, require_permission, visible_locale_ids
from csat.queries.agents import active_agents
from schemas.agents import AgentsOut

bp = Blueprint("agents", __name__, url_prefix="/csat")

_agents_out = AgentsOut()


@bp.get("/agents/list")
@require_permission(MENU_CSAT)
def agents_list():
    """Active administrators sorted by name, limited to the caller's locales."""
    return _agents_out.dump({"list": active_agents(visible_locale_ids(request.args.get("localeId")))})
