"""GET /csat?report=true: the streamed export (csat/exports/engine.py).

In-process tests (Flask's test client, shared seeded database) pin the content: an export
is the list's pages laid end to end, in JSON and CSV, and keeps the list's validation.
Tests over real sockets (gunicorn subprocesses, a werkzeug server in a thread) pin what
only a socket shows: chunked batches, a client walking away, a stream cut after the first
byte, the per-admin cap across workers, and a stream outliving the worker timeout.
"""

import csv
import http.client
import io
import re
import threading

import openpyxl
import orjson
import psycopg2
import pytest
from werkzeug.serving import make_server

from app import create_app
from csat.exports.copy_rows import BATCH_ROWS
from schemas.ratings import RatingRow
from tests.servers import (SEED_RATINGS, HeldExport, assert_boom, bearer, drop, gunicorn,
                           make_settings, make_token, open_stream, sessions, wait_for)

COLUMNS = list(RatingRow().fields)
MENU = ("menu-csat",)
# big_db's extra ratings: enough that even the deflated XLSX export (~90 bytes a row) is far
# larger than the loopback sockets' buffers (4 MB), so a client can leave mid-body.
BIG_DB_EXTRA_RATINGS = 80_000


def headers(admin_id=1):
    return bearer(make_token(admin_id=admin_id, permissions=MENU))


def get(client, url, admin_id=1):
    """The whole response, read and closed (a test client response holds its export open
    until closed, as a WSGI server's would)."""
    response = client.get(url, headers=headers(admin_id))
    response.get_data()
    response.close()
    return response


def list_rows(client, query):
    """Every row of the list for this query, page after page."""
    rows, start = [], 0
    while True:
        response = get(client, f"/csat?{query}&start={start}&length=1000")
        assert response.status_code == 200, response.get_json()
        page = response.get_json()["data"]
        rows += page
        if len(page) < 1000:
            return rows
        start += 1000


def json_batches(body):
    """The export body as its batches; every line must be one JSON array."""
    assert body.endswith(b"\n")
    return [orjson.loads(line) for line in body[:-1].split(b"\n")]


def csv_text(value):
    return "" if value is None else str(value)


QUERIES = [
    "",
    "sortBy=rating&sortType=ASC",
    "sortBy=companyId&sortType=desc&source=ticket,carrier",
    "sortBy=source&sortType=asc&score=1,2&startDate=2025-06-01&endDate=2026-06-30",
    "sortBy=reference&sortType=DESC&localeId=1&hasComment=true",
    "sortBy=ratingDate&sortType=ASC&carrier=fedex,DHL,ups&sourcePlatform=whatsapp",
]


@pytest.mark.parametrize("query", QUERIES)
def test_json_export_is_the_list_pages_end_to_end(client, query):
    expected = list_rows(client, query)
    response = get(client, f"/csat?report=true&{query}")

    assert response.status_code == 200
    batches = json_batches(response.data)
    assert all(len(batch) == BATCH_ROWS for batch in batches[:-1])
    assert 0 < len(batches[-1]) <= BATCH_ROWS
    exported = [row for batch in batches for row in batch]
    assert [list(row) for row in exported[:1]] == [COLUMNS]
    assert exported == expected
    assert len(expected) > 0


@pytest.mark.parametrize("query", QUERIES[:4])
@pytest.mark.parametrize("body", ["format=csv&raw=true", "format=csv"])
def test_csv_export_is_the_list_pages_end_to_end(client, query, body):
    expected = list_rows(client, query)  # (the seeded texts hold nothing formula-like)
    response = get(client, f"/csat?report=true&{body}&{query}")

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))
    assert rows[0] == COLUMNS
    assert rows[1:] == [[csv_text(row[column]) for column in COLUMNS] for row in expected]


def xlsx_text(value):
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if hasattr(value, "strftime") else value


@pytest.mark.parametrize("query", QUERIES[:3])
def test_xlsx_export_is_the_list_pages_end_to_end(client, query):
    expected = list_rows(client, query)
    response = get(client, f"/csat?report=true&format=xlsx&{query}")

    assert response.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
                .active.iter_rows(values_only=True))
    assert list(rows[0]) == COLUMNS
    assert [dict(zip(COLUMNS, map(xlsx_text, row))) for row in rows[1:]] == expected


def test_the_whole_seeded_table_exports_in_batches_of_1000(client):
    response = get(client, "/csat?report=true")

    assert [len(batch) for batch in json_batches(response.data)] == [1000, 1000, 1000]


def test_json_export_headers(client):
    response = get(client, "/csat?report=true&startDate=2026-01-01")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/x-ndjson"
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="csat-ratings_2026-01-01_all.jsonl"'
    assert response.headers["X-Accel-Buffering"] == "no"
    assert response.headers["Cache-Control"] == "no-store"


def test_csv_export_headers(client):
    response = get(client, "/csat?report=true&format=CSV&startDate=2026-01-01&endDate=2026-03-31")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="csat-ratings_2026-01-01_2026-03-31.csv"'
    assert response.headers["X-Accel-Buffering"] == "no"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.data.startswith(b"\xef\xbb\xbfrating_id,rating,comment,")


def test_an_export_matching_nothing_is_one_empty_array_or_just_the_header(client):
    json_response = get(client, "/csat?report=true&carrier=no-such-carrier")
    csv_response = get(client, "/csat?report=true&format=csv&raw=true&carrier=no-such-carrier")
    excel_response = get(client, "/csat?report=true&format=csv&carrier=no-such-carrier")

    assert (json_response.status_code, json_response.data) == (200, b"[]\n")
    assert (csv_response.status_code, csv_response.data) == (200, (",".join(COLUMNS) + "\r\n").encode())
    assert (excel_response.status_code, excel_response.data) == \
        (200, ("\ufeff" + ",".join(COLUMNS) + "\r\n").encode())


AWKWARD_COMMENTS = [
    "Rápido, pero caro",
    'El repartidor dijo "mañana" y no vino',
    "Primera línea\nsegunda línea",
    "Windows line\r\nends, and a trailing quote\"",
    "Ótimo serviço — ação, coração, São Paulo ñ ü 日本 😀",
    '"",,"',
    "=1+1",
    "",
]


def test_csv_round_trips_commas_quotes_newlines_and_accents(fresh_db, fresh_client):
    conn = psycopg2.connect(fresh_db)
    with conn, conn.cursor() as cursor:
        cursor.executemany(
            """
            INSERT INTO ratings (score, comment, source, source_platform, reference_id,
                                 company_id, locale_id, created_at)
            SELECT 3, %s, 'shop', 'platform', 900000 + %s, id, locale_id,
                   timestamptz '2030-01-01 12:00Z' + %s * interval '1 minute'
            FROM companies ORDER BY id LIMIT 1
            """,
            [(comment, i, i) for i, comment in enumerate(AWKWARD_COMMENTS)],
        )
    conn.close()
    query = "report=true&startDate=2030-01-01&sortBy=ratingDate&sortType=ASC"

    csv_body = get(fresh_client, f"/csat?{query}&format=csv&raw=true").data
    json_body = get(fresh_client, f"/csat?{query}").data

    rows = list(csv.DictReader(io.StringIO(csv_body.decode("utf-8"), newline="")))
    assert [row["comment"] for row in rows] == AWKWARD_COMMENTS
    assert [row["comment"] for row in json_batches(json_body)[0]] == AWKWARD_COMMENTS
    assert csv_body.count(b"\r\n") == len(AWKWARD_COMMENTS) + 2  # rows + header + one in a comment
    # NULL is an empty field, an empty text is "": the CSV keeps them apart (the last row's
    # comment is '', its ticket fields are NULL).
    last_row = csv_body.rsplit(b"\r\n", 2)[-2]
    assert re.fullmatch(rb'\d+,3,"",platform,2030-01-01T12:07:00Z,shop,900007,\d+,.*', last_row)
    assert b',,,,' in last_row and b'""' not in last_row.split(b",", 3)[3]


@pytest.mark.parametrize("query, status, keys", [
    ("score=9", 400, ["score"]),
    ("format=xml", 400, ["format"]),
    ("sortBy=name", 400, ["sortBy"]),
    ("startDate=2026-02-30", 400, ["startDate"]),
    ("startDate=2026-03-01&endDate=2026-02-01", 422, None),
])
def test_report_mode_keeps_the_list_validation(client, query, status, keys):
    body = assert_boom(get(client, f"/csat?report=true&{query}"), status)

    assert body.get("validation", {}).get("keys") == keys


@pytest.mark.parametrize("paging", ["length=-1", "length=-1&start=0&draw=3", "start=-5&length=5000"])
def test_report_mode_ignores_the_paging_arguments(client, paging):
    response = get(client, f"/csat?report=true&{paging}")

    assert response.status_code == 200
    assert [len(batch) for batch in json_batches(response.data)] == [1000, 1000, 1000]


def test_a_list_page_still_refuses_length_minus_one(client):
    body = assert_boom(get(client, "/csat?length=-1"), 400)

    assert body["validation"]["keys"] == ["length"]


def test_report_mode_needs_the_list_permission(client):
    response = client.get("/csat?report=true",
                          headers=bearer(make_token(permissions=["company-request-view"])))

    assert_boom(response, 403)


def test_a_replica_out_of_reach_before_the_first_byte_exports_from_the_primary(shared_db):
    app = create_app(make_settings(shared_db, database_read_url="postgresql://postgres@127.0.0.1:1/none"))

    response = get(app.test_client(), "/csat?report=true")

    assert response.status_code == 200
    assert sum(len(orjson.loads(line)) for line in response.data.splitlines()) == SEED_RATINGS
    app.extensions["csat_db"].close()


def test_an_export_timing_out_before_the_first_byte_is_503(fresh_db):
    app = create_app(make_settings(fresh_db, export_statement_timeout_ms=300))
    blocker = psycopg2.connect(fresh_db)
    try:
        with blocker.cursor() as cursor:
            cursor.execute("LOCK TABLE ratings IN ACCESS EXCLUSIVE MODE")
        response = get(app.test_client(), "/csat?report=true")
    finally:
        blocker.rollback()
        blocker.close()

    assert_boom(response, 503)
    assert app.extensions["csat_db"].pool("replica").stats()["in_use"] == 0
    app.extensions["csat_db"].close()


SESSION_STATE = ("SELECT current_setting('transaction_read_only'), "
                 "current_setting('statement_timeout'), current_setting('jit'), "
                 "(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                 " AND pid = pg_backend_pid())")


def session_state(conn):
    with conn.cursor() as cursor:
        cursor.execute(SESSION_STATE)
        return cursor.fetchone()


BODIES = ["format=json", "format=csv", "format=csv&raw=true", "format=xlsx"]


@pytest.mark.parametrize("body", BODIES)
def test_the_connection_goes_back_to_the_pool_as_it_came(app, client, body):
    pool = app.extensions["csat_db"].pool("replica")
    new = pool.connect()
    service_defaults = session_state(new)
    new.close()
    get(client, f"/csat?report=true&{body}").close()

    assert pool.stats()["in_use"] == 0
    conn = pool.getconn()
    try:
        assert conn.autocommit and conn.readonly is None and conn.isolation_level is None
        assert session_state(conn) == service_defaults  # no session settings (PgBouncer-safe)
        assert service_defaults[0] == "off"
    finally:
        pool.putconn(conn)


@pytest.mark.parametrize("bodies", [BODIES[:2], BODIES[2:]], ids=["json+csv", "raw+xlsx"])
@pytest.mark.parametrize("third_body", BODIES)
def test_a_third_concurrent_export_by_one_admin_is_429(app, client, bodies, third_body):
    pool = app.extensions["csat_db"].pool("replica")
    first, second = (HeldExport(app, f"/csat?report=true&{body}", headers()) for body in bodies)
    assert (first.status_code, second.status_code) == (200, 200)  # both hold the first chunk

    third = get(client, f"/csat?report=true&{third_body}")
    body = assert_boom(third, 429, "At most 2 exports may run at once per admin; wait for one to finish")
    assert third.headers["Retry-After"] == "5"
    assert body == {"statusCode": 429, "error": "Too Many Requests", "message": body["message"]}
    another_admin = get(client, "/csat?report=true", admin_id=2)
    assert another_admin.status_code == 200 and len(json_batches(another_admin.data)) == 3

    first.close()
    again = get(client, "/csat?report=true")
    assert again.status_code == 200 and len(json_batches(again.data)) == 3
    second.close()
    assert pool.stats()["in_use"] == 0


@pytest.mark.parametrize("body", BODIES)
def test_an_export_closed_before_its_first_chunk_still_frees_its_slot(app, client, body):
    for _ in range(3):  # three in a row: each close() gave the slot and connection back
        client.get(f"/csat?report=true&{body}", headers=headers(), buffered=False).close()

    assert app.extensions["csat_db"].pool("replica").stats()["in_use"] == 0


# --- over real sockets -------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(big_db, tmp_path_factory):
    """gunicorn, two gthread workers, a 2 s worker timeout; yields (address, log path)."""
    log_path = tmp_path_factory.mktemp("gunicorn") / "stdout.log"
    with gunicorn(big_db, log_path, GUNICORN_WORKERS=2, GUNICORN_TIMEOUT=2) as address:
        yield address, log_path


def export_in_progress(database_url):
    return [query for state, query in sessions(database_url)
            if state in ("active", "idle in transaction") and "csat_export" in query]


def all_idle(database_url):
    states = [state for state, _ in sessions(database_url)]
    return bool(states) and all(state == "idle" for state in states)


@pytest.mark.slow
def test_over_http_the_export_is_chunked_one_array_per_line(server, big_db_rows):
    conn = open_stream(server[0], "/csat?report=true", headers())
    response = conn.getresponse()
    lines = response.read().split(b"\n")
    conn.close()

    assert response.status == 200
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert lines[-1] == b""
    sizes = [len(orjson.loads(line)) for line in lines[:-1]]
    assert sum(sizes) == big_db_rows
    assert set(sizes[:-1]) == {BATCH_ROWS}


@pytest.mark.slow
def test_a_client_that_leaves_after_one_batch_frees_the_connection(server, big_db):
    conn = open_stream(server[0], "/csat?report=true", headers())
    response = conn.getresponse()
    assert len(orjson.loads(response.readline())) == BATCH_ROWS
    assert export_in_progress(big_db)

    drop(conn, response)

    assert wait_for(lambda: all_idle(big_db), timeout=2), sessions(big_db)
    assert not [state for state, _ in sessions(big_db) if state.startswith("idle in transaction")]
    assert wait_for(lambda: '"export disconnected' in server[1].read_text(), timeout=2)


def leave_and_check_freed(server, big_db, conn, response):
    """The client leaves mid-export: within 2 s its connection is idle again (not idle in a
    transaction) and the export logged as disconnected."""
    disconnects = server[1].read_text().count('"export disconnected')

    drop(conn, response)

    assert wait_for(lambda: all_idle(big_db), timeout=2), sessions(big_db)
    assert not [state for state, _ in sessions(big_db) if state.startswith("idle in transaction")]
    assert wait_for(lambda: server[1].read_text().count('"export disconnected') > disconnects,
                    timeout=2)


@pytest.mark.slow
def test_a_csv_client_that_leaves_during_the_copy_frees_the_connection(server, big_db):
    conn = open_stream(server[0], "/csat?report=true&format=csv", headers())
    response = conn.getresponse()
    for _ in range(BATCH_ROWS + 500):  # into the second COPY, which the helper thread reads
        assert response.readline().endswith(b"\r\n")

    leave_and_check_freed(server, big_db, conn, response)


@pytest.mark.slow
@pytest.mark.parametrize("body", BODIES)
def test_a_client_that_leaves_mid_body_frees_the_connection(server, big_db, body):
    conn = open_stream(server[0], f"/csat?report=true&{body}", headers())
    response = conn.getresponse()
    assert response.status == 200
    received = 0
    while received < 256 * 1024:  # well past the first 1000 rows: the read-ahead is running
        piece = response.read1(65536)
        assert piece, "the export ended before the client left"
        received += len(piece)
    assert wait_for(lambda: export_in_progress(big_db), timeout=2)

    leave_and_check_freed(server, big_db, conn, response)


@pytest.mark.slow
@pytest.mark.parametrize("body", BODIES)
def test_a_failure_after_the_first_byte_truncates_the_stream(server, big_db, body):
    conn = open_stream(server[0], f"/csat?report=true&{body}", headers())
    response = conn.getresponse()
    assert response.read1(65536)
    assert wait_for(lambda: export_in_progress(big_db), timeout=2)
    admin = psycopg2.connect(big_db)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND query LIKE '%%csat_export%%' "
                       "AND application_name = 'csat-service' AND backend_type = 'client backend' "
                       "AND state <> 'idle'")  # not a pooled connection an earlier export left
        assert cursor.fetchall() == [(True,)]
    admin.close()

    with pytest.raises(http.client.IncompleteRead):
        response.read()  # no terminating zero-length chunk: the client knows it is cut short
    conn.close()
    assert wait_for(lambda: '"export failed' in server[1].read_text(), timeout=2)


@pytest.mark.slow
def test_the_cap_holds_across_workers_and_frees_a_slot_when_a_client_leaves(server, big_db):
    held = []
    for _ in range(2):
        conn = open_stream(server[0], "/csat?report=true", headers())
        response = conn.getresponse()
        assert response.status == 200 and response.readline().startswith(b"[{")
        held.append((conn, response))

    third = open_stream(server[0], "/csat?report=true", headers())
    third_response = third.getresponse()
    assert (third_response.status, orjson.loads(third_response.read())["statusCode"]) == (429, 429)
    third.close()
    other = open_stream(server[0], "/csat?report=true", headers(admin_id=2))
    other_response = other.getresponse()
    assert other_response.status == 200 and other_response.readline().startswith(b"[{")
    drop(other, other_response)

    drop(*held.pop())

    def new_export_starts():
        conn = open_stream(server[0], "/csat?report=true&carrier=no-such-carrier", headers())
        response = conn.getresponse()
        status, body = response.status, response.read()
        conn.close()
        return status == 200 and body == b"[]\n"

    assert wait_for(new_export_starts, timeout=2)
    drop(*held.pop())


@pytest.mark.slow
def test_a_stream_longer_than_the_worker_timeout_completes(server, big_db_rows):
    conn = open_stream(server[0], "/csat?report=true", headers())
    response = conn.getresponse()
    rows, deadline = 0, threading.Event()
    timer = threading.Timer(5, deadline.set)  # the worker timeout is 2 s
    timer.start()
    while line := response.readline():
        rows += len(orjson.loads(line))
        if not deadline.is_set():
            deadline.wait(0.15)
    conn.close()

    assert deadline.is_set()
    assert rows == big_db_rows


def test_in_process_the_pool_is_full_again_after_a_client_leaves(big_db):
    app = create_app(make_settings(big_db))
    pool = app.extensions["csat_db"].pool("replica")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        conn = open_stream(f"127.0.0.1:{server.server_port}", "/csat?report=true", headers())
        response = conn.getresponse()
        assert len(orjson.loads(response.readline())) == BATCH_ROWS
        assert pool.stats()["in_use"] == 1

        drop(conn, response)

        assert wait_for(lambda: pool.stats()["in_use"] == 0, timeout=2), pool.stats()
        assert not [s for s, _ in sessions(big_db) if s.startswith("idle in transaction")]
    finally:
        server.shutdown()
        thread.join()
        app.extensions["csat_db"].close()
