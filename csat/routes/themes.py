"""GET /csat/themes: the words detractors and promoters use most, more than customers at large.

The filters, their validation and the locale rules are the list's (csat/parsing/
rating_filters.py), read with ThemesArgs. The default range and how bodies are remembered:
csat/queries/themes.py.
"""

from flask import Blueprint, current_app

from csat.auth import MENU_CSAT, require_permission
from csat.parsing.rating_filters import parse_filter_args
from csat.queries.themes import themes_body
from schemas.themes import ThemesArgs

bp = Blueprint("themes", __name__, url_prefix="/csat")

_themes_args = ThemesArgs()


@bp.get("/themes")
@require_permission(MENU_CSAT)
def themes():
    """Detractors' and promoters' most frequent comment terms with their lift, for the list's filters."""
    _, filters = parse_filter_args(_themes_args)
    return themes_body(filters, current_app.config["CSAT"].time_zone)
