"""The fixed request shapes, and the SQL each one runs, taken from the service itself.

Shape parameters (which companies, which carrier, the 90 days) come from the data, chosen
deterministically, so every run on the same seed asks the same questions.

"The very same SQL": each shape's request is first sent once in-process through Flask's
test client while `csat.db.run` is wrapped to record (query file, parameters,
identifiers). Those are replayed with the app's own loader
(`csat.db.load(name).sql(identifiers)` + `.params(...)`) on a connection opened with the
pool's own session options, so the SQL side is exactly what the handler ran, built from the
same parsed arguments. The per-request auth lookups (admin_get, locales_list) are left out
of the SQL side: they are part of what the HTTP layer adds.

A `fresh` shape is measured as the first request after a change: the benchmark moves
rating_filter_version (what any new rating does, migration 0021) before each of its requests,
so the service cannot answer from what it remembers (summaries, csat/queries/summary.py) and computes.
"""

from dataclasses import dataclass, field
from urllib.parse import urlencode

from csat import db

AUTH_QUERIES = {"admin_get", "locales_list"}
SORT_KEYS = ("reference", "rating", "companyId", "ratingDate", "source")


@dataclass
class Target:
    p50_ms: float | None = None
    p95_ms: float | None = None
    ratio: float | None = None  # HTTP median / SQL median
    added_ms: float | None = None  # HTTP median - SQL median: what the service adds to its SQL


@dataclass
class Shape:
    name: str
    group: str  # list, summary, details, agents
    paths: list
    target: Target
    note: str = ""
    fresh: bool = False  # move rating_filter_version before each request (see the docstring)
    queries: dict = field(default_factory=dict)  # path -> [(name, params, identifiers)]
    problem: str = ""  # why queries is None: "missing" (404) or the failing status


def data_facts(conn):
    """The values the shapes filter by, read from the data (deterministic for a seed)."""
    with conn.cursor() as cursor:
        cursor.execute("SELECT id FROM administrators WHERE active ORDER BY id LIMIT 1")
        admin_id = cursor.fetchone()[0]
        cursor.execute("SELECT company_id FROM ratings GROUP BY company_id "
                       "ORDER BY count(*) DESC, company_id LIMIT 2")
        companies = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT (max(created_at) AT TIME ZONE 'UTC')::date FROM ratings")
        last_day = cursor.fetchone()[0]
        cursor.execute("SELECT c.name FROM ratings r JOIN carriers c ON c.id = r.carrier_id "
                       "GROUP BY c.name ORDER BY count(*) DESC, c.name LIMIT 1")
        carrier = cursor.fetchone()[0]
        cursor.execute("SELECT assigned_admin_id FROM tickets WHERE assigned_admin_id IS NOT NULL "
                       "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 2")
        agents = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT count(*), max(id) FROM ratings")
        ratings, max_id = cursor.fetchone()
        # Ten ratings spread over the table, and ten rated tickets likewise.
        cursor.execute("SELECT id FROM ratings WHERE id %% (%s / 10 + 1) = 7 ORDER BY id LIMIT 10",
                       (max_id,))
        rating_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT ticket_id FROM ratings WHERE ticket_id IS NOT NULL "
                       "AND id %% (%s / 10 + 1) = 11 ORDER BY id LIMIT 10", (max_id,))
        ticket_ids = [row[0] for row in cursor.fetchall()]
    from datetime import timedelta

    return {
        "admin_id": admin_id, "companies": companies, "carrier": carrier, "agents": agents,
        "end_date": last_day.isoformat(), "start_date": (last_day - timedelta(days=89)).isoformat(),
        "ratings": ratings, "rating_ids": rating_ids, "ticket_ids": ticket_ids,
    }


def _list(query=None):
    return "/csat" + ("?" + urlencode(query) if query else "")


def build_shapes(facts):
    # Issue 16: the service adds at most 1.5 ms to a list page's SQL (HTTP p50 - SQL p50); it
    # replaced issue 7's HTTP/SQL <= 1.5, which a faster query made harder to meet.
    list_target = Target(p50_ms=25, added_ms=1.5)
    shapes = [
        Shape("first_page", "list", [_list()], Target(p50_ms=10, p95_ms=20, added_ms=1.5),
              "GET /csat, no filters (100 rows, counts included)"),
        Shape("page_50", "list", [_list({"start": 4900, "length": 100})], list_target,
              "start=4900&length=100"),
        Shape("deep_page", "list", [_list({"start": 500000, "length": 100})],
              Target(p50_ms=100, added_ms=1.5), "start=500000&length=100"),
        Shape("companies_scores_90d", "list", [_list({
            "companyId": ",".join(map(str, facts["companies"])), "score": "1,2",
            "startDate": facts["start_date"], "endDate": facts["end_date"]})], list_target,
            f"companyId={','.join(map(str, facts['companies']))}&score=1,2&"
            f"{facts['start_date']}..{facts['end_date']}"),
        Shape("carrier_agents", "list", [_list({
            "carrier": facts["carrier"], "agents": ",".join(map(str, facts["agents"]))})],
            list_target, f"carrier={facts['carrier']}&agents={','.join(map(str, facts['agents']))}"),
    ]
    for key in SORT_KEYS:
        shapes.append(Shape(f"sort_{key}", "list", [_list({"sortBy": key, "sortType": "ASC"})],
                            Target(p50_ms=50, added_ms=1.5), f"sortBy={key}&sortType=ASC"))
    shapes += [
        Shape("resolution_over_3d", "list", [_list({"resolution": "over_3d"})], list_target,
              "resolution=over_3d (ticket ratings resolved in 72 h or more)"),
        Shape("datatables_sort", "list", [_list({
            "draw": 2, "start": 0, "length": 100, "order[0][column]": 1, "order[0][dir]": "asc",
            "columns[0][data]": "rating_id", "columns[1][data]": "reference_id",
            "search[value]": "", "search[regex]": "false"})], list_target,
            "DataTables' own order[0][column] on reference_id (= sortBy=reference&sortType=ASC)"),
        Shape("q_search", "list", [_list({"q": "reembolso"})], list_target,
              "q=reembolso (issue 6: < 200 ms)"),
        Shape("summary", "summary", ["/csat/summary"], Target(p50_ms=300),
              "all 1,000,000 ratings, computed (after a change)", fresh=True),
        Shape("summary_remembered", "summary", ["/csat/summary"], Target(),
              "the same, answered from the worker's memory (nothing changed)"),
        Shape("themes_90d", "summary", [f"/csat/themes?startDate={facts['start_date']}&"
                                        f"endDate={facts['end_date']}"], Target(p50_ms=1000),
              f"GET /csat/themes {facts['start_date']}..{facts['end_date']}, computed (after a change)",
              fresh=True),
        Shape("themes_90d_remembered", "summary", [f"/csat/themes?startDate={facts['start_date']}&"
                                                   f"endDate={facts['end_date']}"], Target(),
              "the same, answered from the worker's memory"),
        Shape("details_by_id", "details", [f"/csat/{i}" for i in facts["rating_ids"]], Target(),
              "10 ids in rotation"),
        Shape("details_by_ticket", "details",
              [f"/csat/ticket/{i}" for i in facts["ticket_ids"]], Target(),
              "10 tickets in rotation"),
        Shape("agents_list", "agents", ["/csat/agents/list"], Target(), "no locale limit"),
    ]
    return shapes


def move_version(conn):
    """What any change to the ratings does to rating_filter_version (autocommit conn)."""
    with conn.cursor() as cursor:
        cursor.execute("UPDATE rating_filter_version SET version = version + 1")


def record_queries(app, path, headers, before=None):
    """(status, [(query name, params, identifiers)]) of an in-process request, sent twice.

    The second request is recorded: it is the steady state gunicorn's workers measure too
    (e.g. a filter's count already known to the service, sql/ratings_page.sql). `before`, if
    given, runs before each request.
    """
    if before:
        before()
    app.test_client().get(path, headers=headers)
    if before:
        before()
    calls = []
    original = db.run

    def recording(name, params=None, **options):
        calls.append((name, params, options.get("identifiers")))
        return original(name, params, **options)

    db.run = recording
    try:
        response = app.test_client().get(path, headers=headers)
    finally:
        db.run = original
    return response.status_code, [call for call in calls if call[0] not in AUTH_QUERIES]


def prepared(calls):
    """[(sql text, psycopg2 params)] for recorded calls, through the app's own loader."""
    statements = []
    for name, params, identifiers in calls:
        query = db.load(name)
        statements.append((query.sql(identifiers), query.params(params or {})))
    return statements
