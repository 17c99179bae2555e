"""Who may do what, as one table: every endpoint x permission set x locale claim -> status.

Function level: each endpoint accepts exactly the permissions of the contract (the
original's table; `GET /csat/ticket/{id}` also `company-request-view`; new endpoints
`menu-csat`), no token is a 401, a token without one of them a 403, and the operating
endpoints and the API's documentation (the OpenAPI document, /csat/docs and its files) need
no token at all.
Object level: a rating, its ticket or its follow-up history outside the token's `locales`
claim is a 404, for reads and writes alike (it does not exist for that caller); a list,
export, summary, themes or agents request for a `localeId` outside the claim is a 403.

The rules below compute the expected status of a cell; the table itself is the product of
ENDPOINTS, PERMISSION_SETS and LOCALE_CLAIMS. Writes run on a database of this module's
own, each cell on a rating of its own, and a refused write must leave its rating as it was.
"""

import itertools
from dataclasses import dataclass

import pytest

from app import create_app
from csat.routes.api_docs import ASSETS_VERSION
from tests.servers import ALL_PERMISSIONS, assert_boom, bearer, make_settings, make_token, sql_rows

MENU, VIEW, ADD, UPDATE = ALL_PERMISSIONS


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # {rating}, {ticket} and {locale} are filled from the data
    accepts: frozenset | None  # None: no token needed
    scope: str = "none"  # "object": 404 outside the claim; "locale": 403 for a localeId outside it
    body: str | None = None  # "create" or "update": which rating pool a write draws from


ENDPOINTS = {
    "list": Endpoint("GET", "/csat", frozenset({MENU})),
    "list of a locale": Endpoint("GET", "/csat?localeId={locale}", frozenset({MENU}), "locale"),
    "export of a locale": Endpoint("GET", "/csat?report=true&localeId={locale}", frozenset({MENU}), "locale"),
    "summary of a locale": Endpoint("GET", "/csat/summary?localeId={locale}", frozenset({MENU}), "locale"),
    "themes of a locale": Endpoint("GET", "/csat/themes?localeId={locale}", frozenset({MENU}), "locale"),
    "agents": Endpoint("GET", "/csat/agents/list", frozenset({MENU})),
    "agents of a locale": Endpoint("GET", "/csat/agents/list?localeId={locale}", frozenset({MENU}), "locale"),
    "rating details": Endpoint("GET", "/csat/{rating}", frozenset({MENU}), "object"),
    "ticket's rating": Endpoint("GET", "/csat/ticket/{ticket}", frozenset({MENU, VIEW}), "object"),
    "follow-up history": Endpoint("GET", "/csat/{rating}/follow-ups", frozenset({MENU}), "object"),
    "create follow-up": Endpoint("POST", "/csat/comments", frozenset({ADD}), "object", body="create"),
    "update follow-up": Endpoint("PUT", "/csat/comments", frozenset({UPDATE}), "object", body="update"),
    "healthz": Endpoint("GET", "/healthz", None),
    "readyz": Endpoint("GET", "/readyz", None),
    "metrics": Endpoint("GET", "/metrics", None),
    "openapi": Endpoint("GET", "/csat/openapi.json", None),
    "API docs page": Endpoint("GET", "/csat/docs", None),
    "API docs file": Endpoint("GET", f"/csat/docs/{ASSETS_VERSION}/swagger-ui-bundle.js", None),
}

PERMISSION_SETS = {
    "no token": None,
    "no permissions": (),
    MENU: (MENU,),
    VIEW: (VIEW,),
    ADD: (ADD,),
    UPDATE: (UPDATE,),
    "all": ALL_PERMISSIONS,
}

# The rating's locale ("own") or another one; None: the token has no locales claim.
LOCALE_CLAIMS = {"no claim": None, "the rating's locale": "own", "another locale": "other"}


def expected_status(endpoint, permissions, claim):
    if endpoint.accepts is None:
        return 200
    if permissions is None:
        return 401
    if not endpoint.accepts.intersection(permissions):
        return 403
    if claim == "other":
        return {"object": 404, "locale": 403}.get(endpoint.scope, 200)
    return 200


CELLS = [
    (endpoint_name, permission_name, claim_name)
    for endpoint_name, permission_name, claim_name in itertools.product(ENDPOINTS, PERMISSION_SETS, LOCALE_CLAIMS)
    # Without a token there is no claim: one cell per endpoint says it.
    if PERMISSION_SETS[permission_name] is not None or claim_name == "no claim"
]


@pytest.fixture(scope="module")
def matrix(databases, template_db):
    """An app on this module's own database, and the data the cells point at."""
    url = databases.url(databases.create("authz", template=template_db))
    (own, other), = sql_rows(url, """
        SELECT (array_agg(locale_id ORDER BY n DESC))[1], (array_agg(locale_id ORDER BY n DESC))[2]
        FROM (SELECT locale_id, count(*) AS n FROM ratings GROUP BY locale_id) per_locale""")
    (rating, ticket), = sql_rows(url, """
        SELECT r.id, r.ticket_id FROM ratings r JOIN rating_follow_ups f ON f.rating_id = r.id
        WHERE r.locale_id = %s AND r.ticket_id IS NOT NULL ORDER BY r.id LIMIT 1""", (own,))
    pools = {
        kind: [row[0] for row in sql_rows(url, f"""
            SELECT r.id FROM ratings r WHERE r.locale_id = %s AND r.id <> %s
              AND {'' if kind == 'update' else 'NOT'} EXISTS (
                  SELECT 1 FROM rating_follow_ups f WHERE f.rating_id = r.id)
            ORDER BY r.id""", (own, rating))]
        for kind in ("create", "update")
    }
    app = create_app(make_settings(url))
    yield {"app": app, "url": url, "locales": {"own": own, "other": other}, "rating": rating,
           "ticket": ticket, "pools": pools}
    app.extensions["csat_db"].close()


def _follow_up(url, rating):
    return sql_rows(url, "SELECT comments, created_by, updated_by, updated_at FROM rating_follow_ups "
                      "WHERE rating_id = %s", (rating,))


def test_the_table_covers_every_route(matrix):
    """A new route must get a row here (and so a decision about who may call it)."""
    app = matrix["app"]
    adapter = app.url_map.bind("localhost")
    routes = {(method, rule.endpoint) for rule in app.url_map.iter_rules() if rule.endpoint != "static"
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    covered = {(e.method, adapter.match(e.path.split("?")[0].format(rating=1, ticket=1), method=e.method)[0])
               for e in ENDPOINTS.values()}
    assert covered == routes


@pytest.mark.parametrize("endpoint_name, permission_name, claim_name", CELLS,
                         ids=[" | ".join(cell) for cell in CELLS])
def test_authorization_cell(matrix, endpoint_name, permission_name, claim_name):
    endpoint = ENDPOINTS[endpoint_name]
    permissions = PERMISSION_SETS[permission_name]
    claim = LOCALE_CLAIMS[claim_name]
    expected = expected_status(endpoint, permissions, claim)

    headers = {}
    if permissions is not None:
        locales = None if claim is None else [matrix["locales"][claim]]
        headers = bearer(make_token(permissions=permissions, locales=locales))
    rating = matrix["rating"]
    body = None
    if endpoint.body is not None:
        # Each write cell has its own rating, so cells cannot see each other's writes.
        own_cells = [cell for cell in CELLS if cell[0] == endpoint_name]
        rating = matrix["pools"][endpoint.body][own_cells.index((endpoint_name, permission_name, claim_name))]
        body = {"ratingId": rating, "comments": f"matrix: {permission_name} / {claim_name}"}
    path = endpoint.path.format(rating=rating, ticket=matrix["ticket"], locale=matrix["locales"]["own"])
    before = _follow_up(matrix["url"], rating)

    response = matrix["app"].test_client().open(path, method=endpoint.method, headers=headers, json=body)
    try:
        if expected == 200:
            assert response.status_code == 200, response.get_data(as_text=True)[:500]
        else:
            assert_boom(response, expected)
    finally:
        response.close()  # an export gives its connection and slot back

    if endpoint.body is not None:
        after = _follow_up(matrix["url"], rating)
        if expected == 200:
            assert after != before and after[0][0] == body["comments"]
        else:
            assert after == before
