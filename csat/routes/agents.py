"""GET /csat/agents/list: the agents the CSAT table can filter by.

sql/agents_list.sql returns exactly AgentsOut's fields (schemas/agents.py, which documents
the response), so the rows are sent as they come, like the list page's.
"""

from flask import Blueprint, request

from csat.auth import MENU_CSAT, require_permission, visible_locale_ids
from csat.queries.agents import active_agents

bp = Blueprint("agents", __name__, url_prefix="/csat")


@bp.get("/agents/list")
@require_permission(MENU_CSAT)
def agents_list():
    """Active administrators sorted by name, limited to the caller's locales."""
    return {"list": active_agents(visible_locale_ids(request.args.get("localeId")))}
