"""Resource limits: what one request may ask of the service, and where each limit bites.

Covered elsewhere, not repeated here: the `length` cap (1000, and -1 or more pointing to
report=true: tests/test_ratings_list.py), request lines and headers (8 KB, Boom 414/431 over
HTTP: tests/test_request_size.py), the export concurrency cap per admin, across
workers, and its release when a client leaves (tests/test_export.py), a query over
statement_timeout being a 503 (tests/test_database_faults.py, also through HTTP).

Here: every comma list's item cap (500), the free-text caps, the body cap (413, by bytes,
with or without Content-Length), and statement_timeout on every pooled connection and on
an export's statements.
"""

import io
from urllib.parse import urlsplit

import psycopg2
import pytest

from app import create_app
from csat.config import Settings
from schemas.ratings import MAX_LIST_ITEMS, MAX_SEARCH_LENGTH, ListArgs
from tests.servers import TEST_SECRET, assert_boom, bearer, make_settings, make_token, run_sql

HEADERS = bearer(make_token(expires_in=3600))

# One valid item per comma list: the cap counts items as sent, duplicates included.
LIST_ITEMS = {"companyId": "1", "source": "ticket", "sourcePlatform": "platform", "score": "5",
              "agents": "1", "carrier": "fedex", "resolution": "over_3d"}


def test_every_comma_list_is_covered():
    comma_lists = {field.data_key for field in ListArgs().fields.values() if hasattr(field, "item")}
    assert comma_lists == set(LIST_ITEMS)


@pytest.mark.parametrize("path", ["/csat", "/csat/summary", "/csat/themes"])
@pytest.mark.parametrize("name", LIST_ITEMS)
def test_a_comma_list_is_capped_at_its_item_limit(client, path, name):
    at_cap = ",".join([LIST_ITEMS[name]] * MAX_LIST_ITEMS)
    assert client.get(path, query_string={name: at_cap}, headers=HEADERS).status_code == 200

    over = client.get(path, query_string={name: at_cap + "," + LIST_ITEMS[name]}, headers=HEADERS)
    body = assert_boom(over, 400, f'"{name}" must have at most {MAX_LIST_ITEMS} items')
    assert body["validation"] == {"source": "query", "keys": [name]}


@pytest.mark.parametrize("name, limit", [("q", MAX_SEARCH_LENGTH), ("carrier", 100)])
def test_free_text_is_capped_after_trimming(client, name, limit):
    at_cap = "  " + "z" * limit + "  "
    assert client.get("/csat", query_string={name: at_cap}, headers=HEADERS).status_code == 200
    body = assert_boom(client.get("/csat", query_string={name: "z" * (limit + 1)}, headers=HEADERS), 400)
    assert body["validation"]["keys"] == [name]


def _body_of_size(size):
    """A follow-up body of exactly `size` bytes, for a rating that does not exist."""
    head, tail = '{"ratingId": 4611686018427387904, "comments": "', '"}'
    return (head + "x" * (size - len(head) - len(tail)) + tail).encode()


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_the_body_cap_counts_bytes(client, method):
    cap = Settings.max_body_bytes
    at_cap = client.open("/csat/comments", method=method, data=_body_of_size(cap),
                         content_type="application/json", headers=HEADERS)
    # Read in full and validated: the comment is too long, which is a 400, not a 413.
    assert_boom(at_cap, 400)
    over = client.open("/csat/comments", method=method, data=_body_of_size(cap + 1),
                       content_type="application/json", headers=HEADERS)
    assert_boom(over, 413, "The request body is too large")


def _chunked(client, body):
    """A body without Content-Length, as gunicorn hands over a chunked one."""
    return client.post("/csat/comments", headers={**HEADERS, "Content-Type": "application/json",
                                                  "Transfer-Encoding": "chunked"},
                       environ_overrides={"wsgi.input_terminated": True, "wsgi.input": io.BytesIO(body)})


@pytest.mark.parametrize("body", [
    _body_of_size(Settings.max_body_bytes * 4),
    # Found by this battery: werkzeug cut a chunked body at the cap without a word, so
    # valid JSON followed by padding was read as the JSON alone and accepted.
    b'{"ratingId": 4611686018427387904, "comments": "x"}' + b" " * Settings.max_body_bytes,
], ids=["too long", "valid JSON, then padding past the cap"])
def test_a_chunked_body_over_the_cap_is_413(client, body):
    assert_boom(_chunked(client, body), 413, "The request body is too large")


def test_a_chunked_body_at_the_cap_is_read(client):
    body = b'{"ratingId": 4611686018427387904, "comments": "x"}'
    body += b" " * (Settings.max_body_bytes - len(body))
    assert_boom(_chunked(client, body), 404, "Rating not found")


@pytest.mark.parametrize("role", ["primary", "replica"])
def test_pooled_connections_carry_no_session_settings(app, client, shared_db, role):
    """Through PgBouncer a server session serves other clients between our transactions, so
    the service's settings live in each transaction (csat/db.py), never in the session."""
    assert client.get("/csat?length=5", headers=bearer(make_token())).status_code == 200
    plain = psycopg2.connect(shared_db)
    pool = app.extensions["csat_db"].pool(role)
    held = [pool.getconn() for _ in range(3)]
    try:
        for conn in [plain, *held]:
            with conn.cursor() as cursor:
                cursor.execute(SESSION_SETTINGS)
                if conn is plain:
                    server_defaults = cursor.fetchone()
                else:
                    assert cursor.fetchone() == server_defaults
    finally:
        plain.close()
        for conn in held:
            pool.putconn(conn)


def test_every_query_runs_with_the_service_settings_whatever_the_database_defaults(client, fresh_db):
    """The database's own defaults differ from the service's (no statement timeout, another
    time zone, JIT on): pages read the same, and a stuck statement is still cancelled."""
    name = urlsplit(fresh_db).path.lstrip("/")
    for setting in ("statement_timeout = 0", "TimeZone = 'Pacific/Kiritimati'", "jit = on",
                    "idle_in_transaction_session_timeout = 0"):
        run_sql(fresh_db, f'ALTER DATABASE "{name}" SET {setting}')
    app = create_app(make_settings(fresh_db, statement_timeout_ms=300))
    other = app.test_client()
    try:
        for path in ("/csat?length=50&startDate=2000-01-01", "/csat/summary?startDate=2000-01-01"):
            assert other.get(path, headers=bearer(make_token())).get_json() == \
                client.get(path, headers=bearer(make_token())).get_json()
        locker = psycopg2.connect(fresh_db)
        try:
            with locker.cursor() as cursor:
                cursor.execute("LOCK TABLE ratings IN ACCESS EXCLUSIVE MODE")
            assert_boom(other.get("/csat?length=5", headers=bearer(make_token())), 503,
                        "The database is unavailable, try again shortly")
        finally:
            locker.rollback()
            locker.close()
    finally:
        app.extensions["csat_db"].close()


SESSION_SETTINGS = ("SELECT current_setting('statement_timeout'), current_setting('TimeZone'), "
                    "current_setting('jit'), current_setting('idle_in_transaction_session_timeout')")


def test_exports_have_a_statement_timeout_by_default(monkeypatch):
    """Found by this battery: each FETCH of an export ran without any statement_timeout.
    (That the setting reaches the export's transaction: tests/test_export.py, an export
    timing out before its first byte.)"""
    monkeypatch.delenv("EXPORT_STATEMENT_TIMEOUT_MS", raising=False)
    settings = Settings.from_env(jwt_secret_key=TEST_SECRET, environment="test")
    assert settings.export_statement_timeout_ms == Settings.export_statement_timeout_ms == 60000
