"""GET /csat: filters, counts, sorting and paging, row shape, validation and locale limits.

Expected rows come from plain SQL over the tables (not from csat_filtered_ratings), so the
service's filter function is checked against an independent formulation of each filter.
"""

import re
from datetime import datetime, timezone

import psycopg2
import psycopg2.extras
import pytest

from app import create_app
from schemas.ratings import RatingPage, RatingRow
from tests.servers import assert_boom, bearer, make_settings, make_token

ROW_FIELDS = list(RatingRow().fields)
SORTS = {"reference": "reference_id", "rating": "score", "companyId": "company_id",
         "ratingDate": "created_at", "source": "source"}

# Every rating joined to what the expected-row queries filter on.
TRUTH_SQL = """
    SELECT r.id FROM ratings r
    LEFT JOIN tickets t ON t.id = r.ticket_id
    LEFT JOIN carriers ca ON ca.id = r.carrier_id
    LEFT JOIN rating_follow_ups f ON f.rating_id = r.id
    WHERE {where}
"""


def query(url, statement, params=None):
    conn = psycopg2.connect(url, options="-c TimeZone=UTC")
    try:
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def facts(shared_db):
    """Filter values that select a real, non-trivial part of the seeded data."""
    one = lambda sql: query(shared_db, sql)  # noqa: E731
    busiest = [row["company_id"] for row in one(
        "SELECT company_id FROM ratings GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 2")]
    agents = [row["assigned_admin_id"] for row in one(
        "SELECT t.assigned_admin_id FROM ratings r JOIN tickets t ON t.id = r.ticket_id "
        "WHERE t.assigned_admin_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 2")]
    carriers = one("SELECT ca.name, ca.description FROM ratings r JOIN carriers ca ON ca.id = r.carrier_id "
                   "WHERE lower(ca.description) <> ca.name GROUP BY 1, 2 ORDER BY count(*) DESC, 1 LIMIT 2")
    comment = one("SELECT comment FROM ratings WHERE comment <> '' ORDER BY id LIMIT 1")[0]["comment"]
    word = max(re.findall(r"[^\W\d_]{5,}", comment), key=len)
    return {
        "companies": busiest,
        "agents": agents,
        # One carrier named by its display name in upper case, one by its slug in upper case.
        "carrier_query": f"{carriers[0]['description'].upper()},{carriers[1]['name'].upper()}",
        "carrier_names": [carriers[0]["name"], carriers[1]["name"]],
        "word": word,
        "total": one("SELECT count(*) AS n FROM ratings")[0]["n"],
    }


def listing(client, headers, **params):
    response = client.get("/csat", query_string=params, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def every_row(client, headers, length=1000, **params):
    """Page through the whole result; returns (rows, recordsFiltered of each page)."""
    rows, filtered_counts, start = [], [], 0
    while True:
        body = listing(client, headers, start=start, length=length, **params)
        rows += body["data"]
        filtered_counts.append(body["recordsFiltered"])
        start += length
        if start >= body["recordsFiltered"]:
            return rows, filtered_counts


# name: (query parameters, SQL condition of the expected rows); values from `facts`.
FILTERS = {
    "companyId": (lambda f: {"companyId": f"{f['companies'][0]},,{f['companies'][1]}"},
                  "r.company_id = ANY (%(companies)s)"),
    "source": (lambda f: {"source": "Carrier,SHOP"}, "r.source IN ('carrier', 'shop')"),
    "sourcePlatform": (lambda f: {"sourcePlatform": "WhatsApp"}, "r.source_platform = 'whatsapp'"),
    "rating": (lambda f: {"rating": "1"}, "r.score = 1"),
    "score": (lambda f: {"score": "1,2,2"}, "r.score IN (1, 2)"),
    "startDate": (lambda f: {"startDate": "2026-05-01"},
                  "(r.created_at AT TIME ZONE 'UTC')::date >= '2026-05-01'"),
    "endDate": (lambda f: {"endDate": "2025-01-31"},
                "(r.created_at AT TIME ZONE 'UTC')::date <= '2025-01-31'"),
    "oneDay": (lambda f: {"startDate": "2026-03-02", "endDate": "2026-03-02"},
               "(r.created_at AT TIME ZONE 'UTC')::date = '2026-03-02'"),
    "range": (lambda f: {"startDate": "2025-06-01", "endDate": "2025-12-31"},
              "(r.created_at AT TIME ZONE 'UTC')::date BETWEEN '2025-06-01' AND '2025-12-31'"),
    "agents": (lambda f: {"agents": ",".join(map(str, f["agents"]))},
               "t.assigned_admin_id = ANY (%(agents)s)"),
    "carrier": (lambda f: {"carrier": f["carrier_query"]}, "ca.name = ANY (%(carrier_names)s)"),
    "hasComment=true": (lambda f: {"hasComment": "true"}, "coalesce(r.comment, '') <> ''"),
    "hasComment=false": (lambda f: {"hasComment": "false"}, "coalesce(r.comment, '') = ''"),
    "followUp=done": (lambda f: {"followUp": "done"}, "f.rating_id IS NOT NULL"),
    "followUp=pending": (lambda f: {"followUp": "PENDING"}, "f.rating_id IS NULL AND r.score <= 2"),
    "q": (lambda f: {"q": f"  {f['word'].upper()} "}, "r.comment ILIKE '%%' || %(word)s || '%%'"),
    "localeId": (lambda f: {"localeId": "2"}, "r.locale_id = 2"),
}
COMBINATIONS = [
    ("companyId", "score"),
    ("source", "range", "sourcePlatform"),
    ("agents", "range"),
    ("carrier", "score", "hasComment=true"),
    ("localeId", "rating", "followUp=pending"),
    ("q", "startDate"),
    ("agents", "carrier"),
]


def _case(names, facts):
    params, conditions = {}, []
    for name in names:
        build, condition = FILTERS[name]
        params.update(build(facts))
        conditions.append(condition)
    return params, " AND ".join(conditions)


@pytest.mark.parametrize("names", [(name,) for name in FILTERS] + COMBINATIONS, ids="+".join)
def test_filters_return_exactly_the_matching_rows(client, auth_headers, shared_db, facts, names):
    params, condition = _case(names, facts)
    expected = {row["id"] for row in query(shared_db, TRUTH_SQL.format(where=condition), facts)}
    rows, filtered_counts = every_row(client, auth_headers(), length=700, **params)
    ids = [row["rating_id"] for row in rows]
    assert len(ids) == len(set(ids))
    assert set(ids) == expected
    assert set(filtered_counts) == {len(expected)}
    assert 0 < len(expected) < facts["total"] or names == ("localeId",)


@pytest.mark.parametrize("sort_by", SORTS)
@pytest.mark.parametrize("sort_type", ["ASC", "desc"])
def test_paging_every_sort_lists_each_rating_once_in_order(client, auth_headers, shared_db,
                                                           sort_by, sort_type):
    column = SORTS[sort_by]
    truth = query(shared_db, f"SELECT id, {column} AS key FROM ratings")
    expected = [row["id"] for row in sorted(truth, key=lambda row: (row["key"], row["id"]),
                                            reverse=sort_type.upper() == "DESC")]
    rows, _ = every_row(client, auth_headers(), sortBy=sort_by.upper(), sortType=sort_type)
    assert [row["rating_id"] for row in rows] == expected


@pytest.mark.parametrize("sort_by", SORTS)
@pytest.mark.parametrize("sort_type", ["ASC", "DESC"])
def test_small_pages_break_ties_by_rating_id(client, auth_headers, shared_db, facts,
                                             sort_by, sort_type):
    """Pages of 37 over a few hundred rows: many page boundaries fall inside runs of ties."""
    column = SORTS[sort_by]
    truth = query(shared_db, f"SELECT id, {column} AS key FROM ratings WHERE locale_id = 3")
    expected = [row["id"] for row in sorted(truth, key=lambda row: (row["key"], row["id"]),
                                            reverse=sort_type == "DESC")]
    rows, _ = every_row(client, auth_headers(), length=37, localeId=3,
                        sortBy=sort_by, sortType=sort_type)
    assert [row["rating_id"] for row in rows] == expected


def test_defaults_newest_first_with_both_counts(client, auth_headers, shared_db, facts):
    body = listing(client, auth_headers())
    newest = query(shared_db, "SELECT id FROM ratings ORDER BY created_at DESC, id DESC LIMIT 100")
    assert [row["rating_id"] for row in body["data"]] == [row["id"] for row in newest]
    assert body["draw"] == 0
    assert body["recordsTotal"] == body["recordsFiltered"] == facts["total"]
    assert list(body) == ["data", "draw", "recordsTotal", "recordsFiltered"]
    assert RatingPage().validate(body) == {}


@pytest.mark.parametrize("draw, expected", [("7", 7), ("0", 0), (None, 0), ("123456", 123456)])
def test_draw_is_echoed_as_an_integer(client, auth_headers, draw, expected):
    params = {"length": 1} if draw is None else {"length": 1, "draw": draw}
    body = listing(client, auth_headers(), **params)
    assert body["draw"] == expected and type(body["draw"]) is int


def test_unknown_and_blank_parameters_are_ignored(client, auth_headers, facts):
    body = listing(client, auth_headers(), length=5, **{
        "columns[0][data]": "rating_id", "order[0][dir]": "asc", "search[value]": "", "_": "1712345",
        "companyId": "", "rating": " ", "startDate": ""})
    assert len(body["data"]) == 5
    assert body["recordsFiltered"] == facts["total"]


@pytest.mark.parametrize("params", [{"companyId": "999999999"}, {"start": "5000"}],
                         ids=["no-match", "past-the-end"])
def test_an_empty_page_still_has_both_counts(client, auth_headers, facts, params):
    body = listing(client, auth_headers(), draw=2, **params)
    assert body["data"] == []
    assert body["recordsTotal"] == facts["total"]
    assert body["recordsFiltered"] == (0 if "companyId" in params else facts["total"])


# --- row shape ------------------------------------------------------------------------------

def _row_of(client, headers, source, **params):
    return listing(client, headers, length=1, source=source, **params)["data"][0]


@pytest.mark.parametrize("source", ["ticket", "carrier", "shop"])
def test_a_row_has_the_original_keys_in_order_and_json_types(client, auth_headers, shared_db, source):
    row = _row_of(client, auth_headers(), source)
    assert list(row) == ROW_FIELDS
    assert RatingRow().validate(row) == {}
    for key in ("rating_id", "rating", "reference_id", "company_id"):
        assert type(row[key]) is int
    for key in ("source_platform", "rating_date", "source", "company_name", "country", "country_img"):
        assert type(row[key]) is str
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", row["rating_date"])
    assert row["country_img"] == f"https://assets.example.com/flags/{row['country'].lower()}.svg"
    truth = query(shared_db, "SELECT r.created_at, ca.name FROM ratings r "
                             "LEFT JOIN carriers ca ON ca.id = r.carrier_id WHERE r.id = %s",
                  (row["rating_id"],))[0]
    assert row["rating_date"] == truth["created_at"].astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert row["carrier"] == truth["name"]
    assert row["logo"] == (None if truth["name"] is None
                           else f"https://assets.example.com/carriers/{truth['name']}.svg")
    ticket_fields = [row[key] for key in ("ticket_type", "ticket_type_description",
                                          "ticketsStatusDescription", "ticketsStatusColor")]
    if source == "ticket":
        assert all(type(value) is str for value in ticket_fields)
        assert row["reference_id"] == query(shared_db, "SELECT ticket_id FROM ratings WHERE id = %s",
                                            (row["rating_id"],))[0]["ticket_id"]
    else:
        assert ticket_fields == [None] * 4


def test_a_followed_up_row_carries_its_follow_up(client, auth_headers, shared_db):
    row = _row_of(client, auth_headers(), "ticket", followUp="done")
    follow_up = query(shared_db, "SELECT comments, created_by FROM rating_follow_ups WHERE rating_id = %s",
                      (row["rating_id"],))[0]
    assert (row["follow_up_comments"], row["follow_up_created_by"]) == (
        follow_up["comments"], follow_up["created_by"])
    assert type(row["follow_up_created_by"]) is int
    assert RatingRow().validate(row) == {}


# --- invalid input --------------------------------------------------------------------------

TOO_MANY = ",".join(str(i) for i in range(1, 502))
INVALID = [
    ({"start": "-1"}, ["start"]),
    ({"start": "abc"}, ["start"]),
    ({"length": "0"}, ["length"]),
    ({"length": "ten"}, ["length"]),
    ({"draw": "x"}, ["draw"]),
    ({"sortBy": "company_name"}, ["sortBy"]),
    ({"sortType": "up"}, ["sortType"]),
    ({"companyId": "abc"}, ["companyId"]),
    ({"companyId": "1,0"}, ["companyId"]),
    ({"companyId": "1,-2"}, ["companyId"]),
    ({"companyId": TOO_MANY}, ["companyId"]),
    ({"source": "ticket,email"}, ["source"]),
    ({"sourcePlatform": "sms"}, ["sourcePlatform"]),
    ({"rating": "6"}, ["rating"]),
    ({"rating": "0"}, ["rating"]),
    ({"rating": "1,2"}, ["rating"]),
    ({"score": "1,9"}, ["score"]),
    ({"score": "x"}, ["score"]),
    ({"startDate": "2026-13-01"}, ["startDate"]),
    ({"startDate": "20260101"}, ["startDate"]),
    ({"endDate": "yesterday"}, ["endDate"]),
    ({"endDate": "2026-02-30"}, ["endDate"]),
    ({"agents": "7,x"}, ["agents"]),
    ({"agents": TOO_MANY}, ["agents"]),
    ({"carrier": "x" * 101}, ["carrier"]),
    ({"hasComment": "maybe"}, ["hasComment"]),
    ({"followUp": "later"}, ["followUp"]),
    ({"q": "x" * 201}, ["q"]),
    ({"report": "maybe"}, ["report"]),
    ({"format": "xml"}, ["format"]),
    ({"rating": "9", "score": "x", "start": "-5"}, ["rating", "score", "start"]),
]


@pytest.mark.parametrize("params, keys", INVALID, ids=lambda v: ",".join(v) if isinstance(v, list) else None)
def test_invalid_query_values_are_400_naming_the_parameters(client, auth_headers, params, keys):
    response = client.get("/csat", query_string=params, headers=auth_headers())
    body = assert_boom(response, 400)
    assert body["validation"] == {"source": "query", "keys": keys}
    assert body["message"].startswith(f'"{keys[0]}" ')


@pytest.mark.parametrize("length", ["-1", "1001", "100000"])
def test_length_over_the_cap_points_to_report_mode(client, auth_headers, length):
    response = client.get("/csat", query_string={"length": length}, headers=auth_headers())
    body = assert_boom(response, 400,
                       '"length" must be between 1 and 1000; use report=true to export every row')
    assert body["validation"] == {"source": "query", "keys": ["length"]}


def test_length_at_the_cap_is_accepted(client, auth_headers):
    assert len(listing(client, auth_headers(), length=1000)["data"]) == 1000


def test_start_date_after_end_date_is_422(client, auth_headers):
    response = client.get("/csat", query_string={"startDate": "2026-03-02", "endDate": "2026-03-01"},
                          headers=auth_headers())
    body = assert_boom(response, 422, '"startDate" must not be after "endDate"')
    assert "validation" not in body


# --- permissions and locales ----------------------------------------------------------------

@pytest.mark.parametrize("permissions", [["company-request-view"], ["csat-add-comments"], []])
def test_the_list_requires_menu_csat(client, auth_headers, permissions):
    assert_boom(client.get("/csat", headers=auth_headers(permissions=permissions)), 403)


def test_the_list_requires_a_token(client):
    assert_boom(client.get("/csat"), 401)


def _locale_total(shared_db, locales):
    return query(shared_db, "SELECT count(*) AS n FROM ratings WHERE locale_id = ANY (%s)",
                 (list(locales),))[0]["n"]


def _locales_of(shared_db, rows):
    ids = [row["rating_id"] for row in rows]
    return {row["locale_id"] for row in query(
        shared_db, "SELECT DISTINCT c.locale_id FROM ratings r JOIN companies c ON c.id = r.company_id "
                   "WHERE r.id = ANY (%s)", (ids,))}


@pytest.mark.parametrize("how", ["query", "header"])
def test_locale_id_limits_rows_and_both_counts(client, auth_headers, shared_db, how):
    headers = auth_headers()
    if how == "query":
        body = listing(client, headers, localeId="2", length=1000)
    else:
        body = listing(client, {**headers, "X-Locale-Id": "2"}, length=1000)
    expected = _locale_total(shared_db, [2])
    assert body["recordsTotal"] == body["recordsFiltered"] == expected == len(body["data"])
    assert _locales_of(shared_db, body["data"]) == {2}


def test_locale_claim_limits_without_locale_id(client, auth_headers, shared_db):
    rows, _ = every_row(client, auth_headers(locales=[1, 3]))
    body = listing(client, auth_headers(locales=[1, 3]), length=1)
    assert body["recordsTotal"] == body["recordsFiltered"] == len(rows) == _locale_total(shared_db, [1, 3])
    assert _locales_of(shared_db, rows) == {1, 3}


def test_locale_id_inside_the_claim_is_allowed(client, auth_headers, shared_db):
    body = listing(client, auth_headers(locales=[1, 3]), localeId="3", length=1)
    assert body["recordsTotal"] == _locale_total(shared_db, [3])


@pytest.mark.parametrize("where", ["query", "header"])
def test_locale_id_outside_the_claim_is_403(client, auth_headers, where):
    headers = auth_headers(locales=[1])
    if where == "query":
        response = client.get("/csat?localeId=2", headers=headers)
    else:
        response = client.get("/csat", headers={**headers, "X-Locale-Id": "2"})
    assert_boom(response, 403)


@pytest.mark.parametrize("value, source", [("999", "query"), ("abc", "query"), ("999", "headers")])
def test_unknown_locale_id_is_400(client, auth_headers, value, source):
    headers = auth_headers()
    if source == "query":
        response = client.get("/csat", query_string={"localeId": value}, headers=headers)
    else:
        response = client.get("/csat", headers={**headers, "X-Locale-Id": value})
    body = assert_boom(response, 400)
    assert body["validation"] == {"source": source, "keys": ["localeId"]}


# --- the business time zone -----------------------------------------------------------------

def test_dates_are_whole_days_in_the_configured_time_zone(fresh_db):
    """23:30 in Mexico City on 9 March is 05:30 UTC on 10 March: it belongs to the 9th."""
    conn = psycopg2.connect(fresh_db)
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute("""
                INSERT INTO ratings (score, source, source_platform, reference_id, company_id,
                                     locale_id, created_at)
                SELECT 3, 'shop', 'platform', 424242, c.id, c.locale_id, %s
                FROM companies c WHERE c.id = (SELECT max(id) FROM companies)
                RETURNING id, company_id""",
                (datetime(2026, 3, 10, 5, 30, tzinfo=timezone.utc),))
            rating_id, company_id = cursor.fetchone()
            cursor.execute("""
                DELETE FROM rating_follow_ups WHERE rating_id IN (
                    SELECT id FROM ratings WHERE company_id = %s AND id <> %s);
                DELETE FROM ratings WHERE company_id = %s AND id <> %s""",
                           (company_id, rating_id, company_id, rating_id))
    finally:
        conn.close()
    app = create_app(make_settings(fresh_db, time_zone="America/Mexico_City"))
    try:
        client = app.test_client()
        headers = bearer(make_token())

        def ids(start, end):
            body = listing(client, headers, companyId=company_id, startDate=start, endDate=end)
            return [row["rating_id"] for row in body["data"]]

        assert ids("2026-03-09", "2026-03-09") == [rating_id]
        assert ids("2026-03-10", "2026-03-10") == []
        assert ids("2026-03-01", "2026-03-09") == [rating_id]
        assert ids("2026-03-10", "2026-03-31") == []
    finally:
        app.extensions["csat_db"].close()
