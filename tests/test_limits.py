"""Resource limits: what one request may ask of the service, and where each limit bites.

Covered elsewhere, not repeated here: the `length` cap (1000, and -1 or more pointing to
report=true: tests/test_ratings_list.py), the export concurrency cap per admin, across
workers, and its release when a client leaves (tests/test_export.py), a query over
statement_timeout being a 503 (tests/test_database_faults.py, also through HTTP).

Here: every comma list's item cap (500), the free-text caps, the body cap (413, by bytes,
with or without Content-Length), the request-line cap of gunicorn (414 over HTTP), and
statement_timeout on every pooled connection and on an export's statements.
"""

import io

import pytest

from csat.config import Settings
from schemas.ratings import MAX_LIST_ITEMS, MAX_SEARCH_LENGTH, ListArgs
from tests.conftest import TEST_SECRET, assert_boom, bearer, make_token
from tests.servers import gunicorn, request

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
def test_every_pooled_connection_has_statement_timeout(app, role):
    pool = app.extensions["csat_db"].pool(role)
    held = [pool.getconn() for _ in range(3)]
    try:
        for conn in held:
            with conn.cursor() as cursor:
                cursor.execute("SELECT current_setting('statement_timeout'), "
                               "current_setting('idle_in_transaction_session_timeout')")
                assert cursor.fetchone() == ("5s", "1min")
    finally:
        for conn in held:
            pool.putconn(conn)


def test_exports_have_a_statement_timeout_by_default(monkeypatch):
    """Found by this battery: each FETCH of an export ran without any statement_timeout.
    (That the setting reaches the export's transaction: tests/test_export.py, an export
    timing out before its first byte.)"""
    monkeypatch.delenv("EXPORT_STATEMENT_TIMEOUT_MS", raising=False)
    settings = Settings.from_env(jwt_secret_key=TEST_SECRET, environment="test")
    assert settings.export_statement_timeout_ms == Settings.export_statement_timeout_ms == 60000


def test_a_request_line_over_the_limit_is_414_over_http(shared_db, tmp_path):
    """gunicorn refuses a request line over 4094 bytes before the app (nginx: over 8 KB)."""
    with gunicorn(shared_db, tmp_path / "gunicorn.log") as address:
        status, _, _ = request(address, "/csat?q=" + "x" * 5000, bearer(make_token()))
        assert status == 414
        status, _, body = request(address, "/csat?q=" + "x" * 3000, bearer(make_token()))
        assert status == 400 and b'"q"' in body
