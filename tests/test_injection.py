"""Hostile values in every query parameter, header, path segment and body field.

SQL metacharacters, psql and psycopg2 placeholder syntax, array-literal breakers, LIKE
wildcards, unicode (look-alike digits, direction overrides, invalid UTF-8), NUL bytes,
10,000-element comma lists and 1 MB values. Every parameter of every endpoint gets every
value, and for each parameter:
- no response is a 500 (or any 5xx): a value is either refused with a Boom, or accepted;
- what is refused is refused with its status (decided here, documented in README):
  400 for a query value, header or body field that breaks the schema (a 1 MB value
  included: in-process it is validated like any other, while over HTTP gunicorn answers
  414 for a request line over 4 KB before the app, and nginx before gunicorn);
  404 for a path segment that is not an id (there is no such route);
  413 for a body over MAX_BODY_BYTES; 422 for a body that is not JSON;
- what is accepted is matched literally: a free-text filter (`q`, `carrier`) finds only
  what contains or equals the very text sent, never "everything" (checked against SQL);
- the database is unchanged afterwards: a checksum of every table, before and after.

Writes aim at a rating that does not exist, so a value the schema accepts gets a 404 and
writes nothing either; test_a_hostile_comment_is_stored_verbatim then writes one for real.
Everything runs on a database of this module's own.
"""

import json
import re
from urllib.parse import quote

import pytest

from app import create_app
from schemas.ratings import ListArgs
from schemas.summary import SummaryArgs
from tests.servers import assert_boom, bearer, make_settings, make_token, sql_rows

MISSING_RATING = 2**62
VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

HOSTILE = {
    "quote": "'",
    "tautology": "' OR '1'='1",
    "numeric tautology": "1 OR 1=1",
    "stacked DROP": "1; DROP TABLE ratings; --",
    "line comment": "1--",
    "union": "1 UNION SELECT id, name FROM administrators--",
    "sleep": "1); SELECT pg_sleep(30); --",
    "dollar quoting": "$$; DELETE FROM ratings; $$",
    "backslash": "\\",
    "double quote": '"',
    "array literal breaker": "1},{2",
    "array element breaker": 'fedex","dhl',
    "psql quoted variable": ":'sort_column'",
    "psql identifier": ":sort_column",
    "pyformat placeholder": "%(rating_id)s",
    "positional placeholder": "%s",
    "LIKE wildcard %": "%",
    "LIKE wildcard _": "_",
    "cast": "1::text",
    "E-string": "E'\\x27'",
    "newline": "1\n2",
    "NUL": "a\x00b",
    "only NUL": "\x00",
    "accents": "Ação é ñ Müller",
    "right-to-left override": "\u202efedex",
    "zero-width space": "1\u200b",
    "fullwidth digits": "\uff11\uff12",
    "arabic-indic digit": "\u0661",
    "emoji": "\U0001f44d\U0001f3fd",
    "combining accent": "e\u0301",
    "negative": "-1",
    "decimal": "1.5",
    "exponent": "1e3",
    "NaN": "NaN",
    "Infinity": "Infinity",
    "30 digits": "9" * 30,
    "10,000-element list": ",".join(str(i) for i in range(1, 10_001)),
    "10,000 empty items": "," * 10_000,
    "1 MB of digits": "1" * 1_000_000,
    "1 MB of text": "x" * 1_000_000,
}

# Bytes no str can carry, sent raw in the query string.
RAW_QUERY_VALUES = {
    "invalid UTF-8": b"%FF%FE",
    "UTF-8 surrogate": b"%ED%A0%80",
    "overlong UTF-8 dot": b"%C0%AE",
}

LIST_PARAMETERS = sorted(field.data_key or name for name, field in ListArgs().fields.items())
SUMMARY_PARAMETERS = sorted(set(field.data_key or name for name, field in SummaryArgs().fields.items())
                            - set(LIST_PARAMETERS))
# Every list parameter on the list; the export and the summary parse the same arguments
# (rating_filters.parse_list_args), so they get their own parameters plus one of each kind.
EACH_KIND = ["q", "carrier", "companyId", "startDate", "sortBy", "localeId"]
QUERY_TARGETS = (
    [("GET /csat", "/csat", name) for name in LIST_PARAMETERS + ["localeId"]]
    + [("GET /csat?report=true", "/csat?report=true&format=csv", name) for name in EACH_KIND]
    + [("GET /csat/summary", "/csat/summary", name)
       for name in SUMMARY_PARAMETERS + [kind for kind in EACH_KIND if kind != "sortBy"]]
    + [("GET /csat/agents/list", "/csat/agents/list", "localeId")]
)
# Free-text filters: an accepted value must match literally, checked against SQL below.
TEXT_FILTERS = {"q", "carrier"}

PATHS = ["/csat/{}", "/csat/ticket/{}", "/csat/{}/follow-ups"]


# Bookkeeping rather than data: a counter that stamps cached counts (migration 0021), whose
# own test below says when it may move, and the answers that reads remember for every
# worker (migration 0030): reads write those by design.
CACHE_STAMPS = ("rating_filter_version", "filtered_count_cache", "summary_cell_cache")


def checksums(url, *, stamps=False):
    """table -> [row count, sum of every row's text hash] for every table we own."""
    tables = [row[0] for row in sql_rows(url, """
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'm') ORDER BY 1""")
        if stamps or row[0] not in CACHE_STAMPS]
    assert "ratings" in tables and "rating_follow_ups" in tables
    # One statement, so one snapshot; a sum of row hashes needs no sort.
    return dict(zip(tables, sql_rows(url, "SELECT " + ", ".join(
        f'(SELECT ARRAY[count(*), coalesce(sum(hashtext(t::text)), 0)] FROM "{table}" t)'
        for table in tables))[0]))


@pytest.fixture(scope="module")
def target(databases, template_db):
    url = databases.url(databases.create("inject", template=template_db))
    app = create_app(make_settings(url))
    yield app.test_client(), url
    app.extensions["csat_db"].close()


HEADERS = bearer(make_token(expires_in=3600))


def _query_string(name, value):
    """name=value percent-encoded (RAW_QUERY_VALUES are percent-encoded already)."""
    encoded = value.decode() if isinstance(value, bytes) else quote(value.encode("utf-8"), safe="")
    return f"{quote(name)}={encoded}"


def _outcome(response):
    """A problem with a response, or None when it is an acceptable one."""
    status = response.status_code
    if status >= 500:
        return f"{status}: {response.get_data(as_text=True)[:200]}"
    if status != 200:
        body = response.get_json(silent=True) or {}
        if body.get("statusCode") != status or not body.get("message"):
            return f"{status} without a Boom body"
    return None


def _literal_matches(url, name, value):
    """How many ratings a literal text filter must find (what an injection would inflate)."""
    text = value.strip()
    if name == "q":
        return sql_rows(url, "SELECT count(*) FROM ratings WHERE strpos(lower(comment), lower(%s)) > 0",
                     (text,))[0][0]
    items = [item.strip().lower() for item in value.split(",") if item.strip()]
    if not items:  # a list of empty items is no filter at all
        return sql_rows(url, "SELECT count(*) FROM ratings")[0][0]
    return sql_rows(url, """SELECT count(*) FROM ratings r JOIN carriers c ON c.id = r.carrier_id
                         WHERE lower(c.name) = ANY (%s) OR lower(c.description) = ANY (%s)""",
                 (items, items))[0][0]


@pytest.mark.parametrize("label, path, name", QUERY_TARGETS, ids=[f"{t[0]} {t[2]}" for t in QUERY_TARGETS])
def test_hostile_query_values(target, label, path, name):
    client, url = target
    before = checksums(url)
    problems = {}
    base, _, fixed = path.partition("?")
    values = {**HOSTILE, **RAW_QUERY_VALUES}
    for payload, value in values.items():
        query = (fixed + "&" if fixed else "") + _query_string(name, value)
        response = client.get(f"{base}?{query}", headers=HEADERS)
        problem = _outcome(response)
        if problem is None and response.status_code not in (200, 400):
            problem = f"status {response.status_code}"
        if problem is None and response.status_code == 400:
            keys = response.get_json()["validation"]["keys"]
            if name not in keys and name.lower() not in [key.lower() for key in keys]:
                problem = f"400 naming {keys}, not {name}"
        if (problem is None and response.status_code == 200 and name in TEXT_FILTERS
                and label == "GET /csat" and isinstance(value, str)):
            found = response.get_json()["recordsFiltered"]
            if found != _literal_matches(url, name, value):
                problem = f"found {found} ratings, literally {_literal_matches(url, name, value)}"
        response.close()
        if problem:
            problems[payload] = problem
    assert problems == {}
    assert checksums(url) == before


@pytest.mark.parametrize("header", ["X-Locale-Id", "X-Request-Id"])
def test_hostile_headers(target, header):
    client, url = target
    before = checksums(url)
    problems = {}
    for payload, value in HOSTILE.items():
        if "\n" in value or "\x00" in value:
            continue  # not representable in an HTTP header: no server passes it on
        # A client's UTF-8 bytes reach a WSGI app as latin-1 text.
        response = client.get("/csat", headers={**HEADERS, header: value.encode().decode("latin-1")})
        problem = _outcome(response)
        if problem is None and header == "X-Request-Id" and not VALID_REQUEST_ID.match(
                response.headers["X-Request-Id"]):
            problem = f"echoed an ill-formed id {response.headers['X-Request-Id'][:40]!r}"
        if problem is None and header == "X-Locale-Id" and response.status_code != 400:
            problem = f"status {response.status_code}, a locale id it is not"
        if problem:
            problems[payload] = problem
    assert problems == {}
    assert checksums(url) == before


@pytest.mark.parametrize("template", PATHS)
def test_hostile_path_segments(target, template):
    client, url = target
    before = checksums(url)
    problems = {}
    for payload, value in HOSTILE.items():
        if len(value) > 100_000:
            value = value[:100_000]  # a path segment this long is still no route
        response = client.get(template.format(quote(value.encode("utf-8"), safe="")), headers=HEADERS)
        problem = _outcome(response)
        # Digits in any script are digits to the route (int("١") == 1): those are real ids.
        if problem is None and response.status_code not in (404, 200):
            problem = f"status {response.status_code}"
        if problem is None and response.status_code == 200 and not value.strip().isdigit():
            problem = "200 for a segment that is not an id"
        if problem:
            problems[payload] = problem
    assert problems == {}
    assert checksums(url) == before


def _hostile_bodies():
    """(label, raw body, expected statuses) for one field at a time."""
    cases = []
    for payload, value in HOSTILE.items():
        cases.append((f"ratingId {payload}", json.dumps({"ratingId": value, "comments": "x"}), {400, 413}))
        # A comment is free text: what the schema takes gets the unknown rating's 404.
        cases.append((f"comments {payload}", json.dumps({"ratingId": MISSING_RATING, "comments": value}),
                      {400, 404, 413}))
    for label, raw in {
        "ratingId beyond 64 bits (raw JSON)": '{"ratingId": 1' + "0" * 30 + ', "comments": "x"}',
        "ratingId 1e400": '{"ratingId": 1e400, "comments": "x"}',
        "ratingId NaN": '{"ratingId": NaN, "comments": "x"}',
        "ratingId a list of 10,000": json.dumps({"ratingId": list(range(10_000)), "comments": "x"}),
        "comments a 10,000-deep array": '{"ratingId": 1, "comments": ' + "[" * 10_000 + "]" * 10_000 + "}",
        "comments a lone surrogate": '{"ratingId": 1, "comments": "\\ud800"}',
        "comments invalid UTF-8": b'{"ratingId": 1, "comments": "\xff\xfe"}',
        "unknown field with SQL": json.dumps({"ratingId": 1, "comments": "x", "admin_id": "1; DROP TABLE x"}),
        "duplicate keys": '{"ratingId": 1, "ratingId": "1 OR 1=1", "comments": "x"}',
        "10,000 fields": json.dumps({f"f{i}": i for i in range(10_000)}),
        "1 MB body": json.dumps({"ratingId": 1, "comments": "x" * 1_000_000}),
    }.items():
        cases.append((label, raw, {400, 413, 422}))
    return cases


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_hostile_bodies(target, method):
    client, url = target
    before = checksums(url)
    problems = {}
    for label, raw, expected in _hostile_bodies():
        response = client.open("/csat/comments", method=method, data=raw, content_type="application/json",
                               headers=HEADERS)
        problem = _outcome(response) or (
            None if response.status_code in expected else f"status {response.status_code}")
        if problem:
            problems[label] = problem
    assert problems == {}
    assert checksums(url) == before


@pytest.mark.parametrize("payload", ["tautology", "stacked DROP", "dollar quoting", "psql quoted variable",
                                     "pyformat placeholder", "backslash", "right-to-left override", "emoji"])
def test_a_hostile_comment_is_stored_verbatim(fresh_client, fresh_db, payload):
    """The write path passes text as a parameter: stored exactly, nothing else touched."""
    before = checksums(fresh_db)
    (rating,), = sql_rows(fresh_db, """SELECT min(id) FROM ratings r WHERE NOT EXISTS (
                                        SELECT 1 FROM rating_follow_ups f WHERE f.rating_id = r.id)""")
    response = fresh_client.post("/csat/comments", json={"ratingId": rating, "comments": HOSTILE[payload]},
                                 headers=HEADERS)
    assert response.status_code == 200, response.get_json()
    assert sql_rows(fresh_db, "SELECT comments FROM rating_follow_ups WHERE rating_id = %s", (rating,)) == [
        (HOSTILE[payload].strip(),)]
    after = checksums(fresh_db)
    # The follow-up, and its rating's two images in the change log (migration 0030).
    assert {table for table in before if before[table] != after[table]} == {"rating_follow_ups", "rating_changes"}
    assert after["rating_follow_ups"][0] == before["rating_follow_ups"][0] + 1
    assert after["rating_changes"][0] == before["rating_changes"][0] + 2


@pytest.mark.parametrize("method, rating", [("POST", "unknown"), ("PUT", "unknown"),
                                            ("POST", "followed up"), ("PUT", "not followed up")])
def test_a_write_that_changes_nothing_leaves_every_table_alone(fresh_client, fresh_db, method, rating):
    """A 404 or 409 write changes no row, so no table changes, cache stamps included.

    Found by this battery: the statement-level trigger of migration 0021 bumps
    rating_filter_version for an INSERT that inserted nothing (a 404 or 409 POST), which
    throws away every cached count and queues every writer on the counter's one row.
    """
    ids = {"unknown": MISSING_RATING}
    ids["followed up"], ids["not followed up"] = sql_rows(fresh_db, """
        SELECT min(r.id) FILTER (WHERE f.rating_id IS NOT NULL), min(r.id) FILTER (WHERE f.rating_id IS NULL)
        FROM ratings r LEFT JOIN rating_follow_ups f ON f.rating_id = r.id""")[0]
    before = checksums(fresh_db, stamps=True)
    response = fresh_client.open("/csat/comments", method=method, headers=HEADERS,
                                 json={"ratingId": ids[rating], "comments": "no change"})
    assert_boom(response, 404 if rating == "unknown" else 409)
    assert checksums(fresh_db, stamps=True) == before


def test_nul_is_refused_where_postgresql_cannot_store_it(target):
    """Found by this battery: a NUL in `q` or `carrier` reached psycopg2 and answered 500."""
    client, _ = target
    for name in ("q", "carrier"):
        body = assert_boom(client.get("/csat", query_string={name: "a\x00b"}, headers=HEADERS), 400)
        assert body["validation"] == {"source": "query", "keys": [name]}
