"""The service through PgBouncer in transaction pooling mode, stock settings otherwise.

A private pgbouncer (Debian package; .ci/run installs it) listens on a free port in front of
the test server, with a generated ini: pool_mode = transaction, SCRAM auth for the service's
user, no ignore_startup_parameters. Every app here has its DATABASE_URL pointing at it. Without
pgbouncer the tests skip on a laptop and fail under CI.

What transaction pooling takes away: startup options (refused outright), session settings
(a server session serves other clients between our transactions) and anything else a session
keeps. What the service needs instead is asserted through pgbouncer: pages equal the direct
ones, exports stream from one transaction, the export slots hold, writes race correctly, a
statement past DB_STATEMENT_TIMEOUT_MS is cancelled, and a PostgreSQL restart costs at most
one request.
"""

import threading
import time

import psycopg2
import pytest
from werkzeug.serving import make_server

from app import create_app
from tests.servers import (RACERS, HeldExport, PrivatePostgres, active_admins, assert_boom, bearer,
                           blocker, follow_up, history, make_settings, make_token,
                           migrate_with_admin, pgbouncer, private_dir, race, rating_id, sql_rows,
                           wait_for)

pytestmark = pytest.mark.slow  # PgBouncer and private PostgreSQL clusters

HEADERS = bearer(make_token())


@pytest.fixture(scope="module")
def through_pgbouncer(server_url):
    """database URL -> the same database's URL through this module's pgbouncer."""
    with pgbouncer(server_url) as through:
        yield through


@pytest.fixture(scope="module")
def bounced_db(databases, template_db):
    """A seeded database of this module's (read only), reached directly."""
    return databases.url(databases.create("pgbouncer", template=template_db))


def bounced_app(url, **settings):
    app = create_app(make_settings(url, **settings))
    app.config["TESTING"] = True
    return app


@pytest.fixture(scope="module")
def app_via_pgbouncer(bounced_db, through_pgbouncer):
    app = bounced_app(through_pgbouncer(bounced_db), pool_max_size=6)
    yield app
    app.extensions["csat_db"].close()


def test_startup_options_are_what_pgbouncer_refuses(bounced_db, through_pgbouncer):
    """The failure this module guards against: the old pool's startup options."""
    with pytest.raises(psycopg2.OperationalError, match="unsupported startup parameter: options"):
        psycopg2.connect(through_pgbouncer(bounced_db), options="-c statement_timeout=5000")


@pytest.mark.parametrize("path", [
    "/csat?length=25&sortBy=rating&sortDir=asc",
    "/csat?length=10&source=ticket&followUp=pending",
    "/csat/{rating_id}",
    "/csat/summary?startDate=2020-01-01&endDate=2030-12-31&compare=previous",
    "/csat/summary",
    "/csat/agents/list",
    "/readyz",
])
def test_reads_through_pgbouncer_equal_the_direct_ones(app_via_pgbouncer, client, bounced_db, path):
    path = path.format(rating_id=rating_id(bounced_db, followed_up=True))
    response = app_via_pgbouncer.test_client().get(path, headers=HEADERS)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == client.get(path, headers=HEADERS).get_json()


@pytest.mark.parametrize("export_format", ["json", "csv"])
def test_exports_through_pgbouncer_equal_the_direct_ones(app_via_pgbouncer, client, export_format):
    """Three batches: the first statement, then the cursor (JSON) or COPY (CSV) in the same
    transaction, on the same server session."""
    path = f"/csat?report=true&format={export_format}"
    response = app_via_pgbouncer.test_client().get(path, headers=HEADERS)
    assert response.status_code == 200
    # Read to the end before the next request: a streamed body keeps its request context
    # pushed on this thread until it ends (stream_with_context).
    through_pgbouncer = response.data
    direct = client.get(path, headers=HEADERS).data
    assert through_pgbouncer == direct and through_pgbouncer.count(b"\n") >= 3


def test_the_export_slots_hold_through_pgbouncer(app_via_pgbouncer):
    """Slots are transaction-level advisory locks: each export's transaction keeps its server
    session from BEGIN to ROLLBACK, so two open exports hold two slots and a third is 429."""
    client = app_via_pgbouncer.test_client()
    # Each held export on a thread of its own, as under a real server (tests/servers.py).
    first = HeldExport(app_via_pgbouncer, "/csat?report=true", HEADERS)
    second = HeldExport(app_via_pgbouncer, "/csat?report=true&format=csv", HEADERS)
    try:
        assert (first.status_code, second.status_code) == (200, 200)
        third = client.get("/csat?report=true", headers=HEADERS)
        assert_boom(third, 429, "At most 2 exports may run at once per admin; wait for one to finish")
        assert third.headers["Retry-After"] == "5"
        other_admin = client.get("/csat?report=true", headers=bearer(make_token(admin_id=2)))
        assert other_admin.status_code == 200 and other_admin.data.startswith(b"[")
    finally:
        first.close()
        second.close()
    again = client.get("/csat?report=true", headers=HEADERS)
    assert again.status_code == 200 and again.data.startswith(b"[")


@pytest.fixture
def live_server_via_pgbouncer(fresh_db, through_pgbouncer):
    """(host, port) of a threaded server whose app reaches fresh_db through pgbouncer."""
    app = bounced_app(through_pgbouncer(fresh_db), pool_max_size=RACERS + 5,
                      pool_timeout_seconds=30.0, statement_timeout_ms=60000)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[:2]
    server.shutdown()
    thread.join()
    app.extensions["csat_db"].close()


def test_concurrent_posts_through_pgbouncer_one_wins(live_server_via_pgbouncer, fresh_db):
    """An uncommitted follow-up makes all racers wait at the primary key (each on a server
    session of its own), then disappears: exactly one 200, the rest 409."""
    rating = rating_id(fresh_db, followed_up=False)
    admins = active_admins(fresh_db, RACERS + 1)[1:]
    with blocker(fresh_db, "INSERT INTO rating_follow_ups (rating_id, comments, created_by) "
                           "VALUES (%s, 'uncommitted', 1)", (rating,)) as release:
        results = race(live_server_via_pgbouncer, "POST", rating, admins,
                       lambda admin: f"by {admin}", release=lambda: release(RACERS))
    statuses = sorted(status for status, _ in results.values())
    assert statuses == [200] + [409] * (RACERS - 1), results
    (winner,) = [admin for admin, (status, _) in results.items() if status == 200]
    assert follow_up(fresh_db, rating) == (f"by {winner}", winner, None)


def test_put_history_through_pgbouncer(fresh_db, through_pgbouncer):
    app = bounced_app(through_pgbouncer(fresh_db))
    client = app.test_client()
    rating = rating_id(fresh_db, followed_up=False)
    try:
        for method, text in (("POST", "first"), ("PUT", "second"), ("PUT", "third")):
            response = client.open("/csat/comments", method=method, headers=HEADERS,
                                   json={"ratingId": rating, "comments": text})
            assert response.status_code == 200, response.get_json()
        response = client.get(f"/csat/{rating}/follow-ups", headers=HEADERS)
        assert [(v["version"], v["comments"]) for v in response.get_json()["history"]] == [
            (3, "third"), (2, "second"), (1, "first")]
        assert len(history(fresh_db, rating)) == 2
    finally:
        app.extensions["csat_db"].close()


def test_a_statement_past_the_timeout_is_cancelled_through_pgbouncer(fresh_db, through_pgbouncer):
    """The server sets no statement_timeout and pgbouncer no query_timeout: only the
    service's per-transaction setting can cancel the stuck page query."""
    assert sql_rows(fresh_db, "SHOW statement_timeout") == [("0",)]
    app = bounced_app(through_pgbouncer(fresh_db), statement_timeout_ms=400)
    client = app.test_client()
    locker = psycopg2.connect(fresh_db)
    try:
        with locker.cursor() as cursor:
            cursor.execute("LOCK TABLE ratings IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        response = client.get("/csat?length=5", headers=HEADERS)
        waited = time.monotonic() - started
        assert_boom(response, 503, "The database is unavailable, try again shortly")
        assert 0.4 <= waited < 3
        locker.rollback()
        assert client.get("/csat?length=5", headers=HEADERS).status_code == 200
    finally:
        locker.close()
        app.extensions["csat_db"].close()


# --- the PostgreSQL-restart drill, on a private server behind a pgbouncer of its own -----------

@pytest.fixture(scope="module")
def private_server():
    server = PrivatePostgres.create(private_dir("csat-pg-"))
    server.start()
    migrate_with_admin(server.url)
    # docs/operations.md's two settings for a database that is down: a query waits at most
    # query_wait_timeout for a server (the stock 120 s would hang the request), and a failed
    # login is retried after server_login_retry (stock 15 s) once the server is back.
    with pgbouncer(server.url, query_wait_timeout=2, server_login_retry=1) as through:
        yield server, through(server.url)
    server.stop("immediate")


def test_a_postgresql_restart_through_pgbouncer_costs_at_most_one_request(private_server):
    server, url = private_server
    app = bounced_app(url, pool_max_size=4, pool_timeout_seconds=0.5, statement_timeout_ms=2000)
    client = app.test_client()
    pool = app.extensions["csat_db"].pool()
    try:
        with app.app_context():
            held = [pool.getconn() for _ in range(4)]
            for conn in held:
                pool.putconn(conn)
        assert client.get("/csat/agents/list", headers=HEADERS).status_code == 200

        server.restart("fast")

        statuses = [client.get("/csat/agents/list", headers=HEADERS).status_code for _ in range(10)]
        failures = [status for status in statuses if status != 200]
        assert len(failures) <= 1 and set(failures) <= {503}, statuses
        assert statuses[-1] == 200
        assert client.get("/readyz").status_code == 200
    finally:
        app.extensions["csat_db"].close()


def test_a_stopped_postgresql_behind_pgbouncer_is_503_then_recovers(private_server):
    server, url = private_server
    app = bounced_app(url, pool_max_size=4, pool_timeout_seconds=0.5)
    client = app.test_client()
    try:
        assert client.get("/readyz").status_code == 200
        server.stop("fast")
        try:
            started = time.monotonic()
            response = client.get("/readyz")
            assert_boom(response, 503, "The database is unavailable, try again shortly")
            assert time.monotonic() - started < 5  # query_wait_timeout, then PgBouncer refuses
            assert_boom(client.get("/csat/agents/list", headers=HEADERS), 503)
        finally:
            server.start()
        assert wait_for(lambda: client.get("/readyz").status_code == 200, timeout=15)
        assert client.get("/csat/agents/list", headers=HEADERS).status_code == 200
    finally:
        app.extensions["csat_db"].close()
