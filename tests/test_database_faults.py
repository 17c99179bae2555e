"""The pool against a PostgreSQL of the test's own: restarts, exhaustion, slow queries.

These drills stop and start a server, so they never touch the shared one: each module
starts a private embedded PostgreSQL (pgserver) and points an app at it.
"""

import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import orjson
import pgserver
import psycopg2
import pytest
from pgserver._commands import pg_ctl

from app import create_app
from csat import db
from csat.migrations import apply_pending
from csat.seed import seed_demo_data
from tests.servers import (SEED, SEED_RATINGS, assert_boom, bearer, execute_autocommit, gunicorn,
                           make_settings, make_token, migrate_with_admin, request, with_database)

pytestmark = pytest.mark.slow  # a private PostgreSQL stopped and restarted


@pytest.fixture(scope="module")
def private_server():
    data_dir = Path(tempfile.mkdtemp(prefix="csat-pg-"))
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    url = server.get_uri()
    migrate_with_admin(url)

    def run_pg_ctl(*args):
        if args[0] == "start":  # pgserver knows the socket options the server needs
            server.ensure_postgres_running()
        else:
            pg_ctl(["-w", *args], pgdata=server.pgdata, user=server.system_user)

    yield url, run_pg_ctl
    server.cleanup()
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def private_app(private_server):
    app = create_app(make_settings(private_server[0], pool_max_size=4, pool_timeout_seconds=0.5,
                                   statement_timeout_ms=500))
    yield app
    app.extensions["csat_db"].close()


HEADERS = bearer(make_token(permissions=["menu-csat"]))


def _warm_pool(app, connections):
    """Open several pooled connections so a restart leaves several dead ones behind."""
    pool = db_pool(app)
    with app.app_context():
        held = [pool.getconn() for _ in range(connections)]
        for conn in held:
            pool.putconn(conn)
    assert pool.stats()["idle"] == connections


def db_pool(app):
    return app.extensions["csat_db"].pool()


def test_restart_costs_at_most_one_request(private_server, private_app):
    client = private_app.test_client()
    _warm_pool(private_app, 4)
    assert client.get("/csat/agents/list", headers=HEADERS).status_code == 200

    private_server[1]("restart", "-m", "fast")

    statuses = [client.get("/csat/agents/list", headers=HEADERS).status_code for _ in range(10)]
    failures = [s for s in statuses if s != 200]
    assert len(failures) <= 1 and set(failures) <= {503}, statuses
    assert statuses[-1] == 200


def test_database_stopped_is_503_then_recovers(private_server, private_app):
    client = private_app.test_client()
    assert client.get("/readyz").status_code == 200
    private_server[1]("stop", "-m", "fast")
    try:
        response = client.get("/readyz")
        assert_boom(response, 503, "The database is unavailable, try again shortly")
        assert response.headers["Retry-After"] == "5"
        assert_boom(client.get("/csat/agents/list", headers=HEADERS), 503)
    finally:
        private_server[1]("start")
    assert client.get("/readyz").status_code == 200
    assert client.get("/csat/agents/list", headers=HEADERS).status_code == 200


def test_pool_exhaustion_is_503_then_recovers(private_app):
    pool = db_pool(private_app)
    with private_app.app_context():
        held = [pool.getconn() for _ in range(pool.max_size)]
    try:
        response = private_app.test_client().get("/readyz")
        body = assert_boom(response, 503, "The service is busy, try again shortly")
        assert body["statusCode"] == 503 and response.headers["Retry-After"] == "5"
    finally:
        for conn in held:
            pool.putconn(conn)
    assert private_app.test_client().get("/readyz").status_code == 200
    assert pool.stats()["in_use"] == 0


def test_statement_timeout_is_503(private_server, private_app):
    """A query that outlives DB_STATEMENT_TIMEOUT_MS is cancelled by PostgreSQL and answered
    503, though the server itself sets no statement_timeout."""
    with _table_locked(private_server[0], "administrators"):
        started = time.monotonic()
        response = private_app.test_client().get("/csat/agents/list", headers=HEADERS)
        waited = time.monotonic() - started
    assert_boom(response, 503, "The database is unavailable, try again shortly")
    assert 0.5 <= waited < 3
    assert db_pool(private_app).stats()["in_use"] == 0


def test_a_dead_connection_is_never_lent_twice(private_server, private_app):
    """After a backend is killed, its connection is discarded, not put back in the pool."""
    pool = db_pool(private_app)
    with private_app.app_context():
        conn = pool.getconn()
        backend = conn.get_backend_pid()
        pool.putconn(conn)
        killer = psycopg2.connect(private_server[0])
        killer.autocommit = True
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", (backend,))
        killer.close()
        row = db.fetch_one("database_ping")
        assert row == {"ok": True}
        assert backend not in _backend_pids(pool)


def _backend_pids(pool):
    pids = set()
    held = []
    try:
        while pool.stats()["idle"]:
            conn = pool.getconn()
            held.append(conn)
            pids.add(conn.get_backend_pid())
    finally:
        for conn in held:
            pool.putconn(conn)
    return pids


def test_pool_serves_many_threads(private_app):
    errors = []

    def worker():
        client = private_app.test_client()
        for _ in range(10):
            status = client.get("/csat/agents/list", headers=HEADERS).status_code
            if status != 200:
                errors.append(status)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


# --- drills on a seeded database of the private server ------------------------------------

@pytest.fixture(scope="module")
def drill_db(private_server):
    """A seeded database on the private server: 3,000 ratings, so an export has 3 batches."""
    execute_autocommit(private_server[0], "CREATE DATABASE drill")
    url = with_database(private_server[0], "drill")
    conn = psycopg2.connect(url)
    try:
        apply_pending(conn, log=lambda message: None)
        seed_demo_data(conn, ratings=SEED_RATINGS, random_seed=SEED)
    finally:
        conn.close()
    return url


def _kill(url, where):
    """pg_terminate_backend on the service's sessions matching `where`; how many died."""
    admin = psycopg2.connect(url)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND application_name = 'csat-service' "
                           f"AND {where}")
            return [pid for pid, killed in cursor.fetchall() if killed]
    finally:
        admin.close()


def test_a_connection_killed_mid_export_is_discarded_and_the_pool_recovers(drill_db):
    """The stream is cut (the body raises, so the server aborts it); the dead connection
    never goes back to the pool, and the next export and page are whole."""
    app = create_app(make_settings(drill_db, pool_max_size=2, pool_timeout_seconds=0.5))
    pool = app.extensions["csat_db"].pool("replica")
    client = app.test_client()
    try:
        response = client.get("/csat?report=true", headers=HEADERS, buffered=False)
        chunks = iter(response.response)
        assert len(orjson.loads(next(chunks))) == 1000
        (killed,) = _kill(drill_db, "query LIKE '%%csat_export%%'")

        with pytest.raises(psycopg2.OperationalError):
            for _ in chunks:
                pass
        response.close()

        assert pool.stats()["in_use"] == 0
        assert killed not in _backend_pids(pool)
        again = client.get("/csat?report=true", headers=HEADERS)
        assert again.status_code == 200
        assert sum(len(orjson.loads(line)) for line in again.data.splitlines()) == 3000
        assert client.get("/csat?length=10", headers=HEADERS).status_code == 200
        assert pool.stats()["in_use"] == 0
    finally:
        app.extensions["csat_db"].close()


@contextmanager
def _table_locked(url, table):
    """Another session holds an ACCESS EXCLUSIVE lock on `table` until the block ends."""
    locker = psycopg2.connect(url)
    try:
        with locker.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        yield
    finally:
        locker.rollback()
        locker.close()


def test_a_query_stuck_on_a_lock_is_a_503_over_http_not_a_hung_worker(drill_db, tmp_path):
    """A statement that cannot finish is cancelled by statement_timeout and answered 503
    Boom with Retry-After, through gunicorn; meanwhile the worker keeps serving."""
    with gunicorn(drill_db, tmp_path / "gunicorn.log", DB_STATEMENT_TIMEOUT_MS=300,
                  GUNICORN_THREADS=2) as address:
        assert request(address, "/csat?length=1", HEADERS)[0] == 200
        with _table_locked(drill_db, "ratings"):
            status, headers, body = request(address, "/csat?length=1", HEADERS)
            assert (status, orjson.loads(body)) == (503, {
                "statusCode": 503, "error": "Service Unavailable",
                "message": "The database is unavailable, try again shortly"})
            assert headers["Retry-After"] == "5"
            assert request(address, "/healthz")[0] == 200  # the worker is not stuck
            assert request(address, "/csat/agents/list", HEADERS)[0] == 200  # nor the pool
        assert request(address, "/csat?length=1", HEADERS)[0] == 200


def test_a_write_waiting_on_a_row_lock_is_503_never_409(drill_db):
    """PUT waits for the follow-up's row lock held elsewhere: a timeout, not a conflict."""
    app = create_app(make_settings(drill_db, statement_timeout_ms=300))
    locker = psycopg2.connect(drill_db)
    try:
        with locker.cursor() as cursor:
            cursor.execute("SELECT rating_id FROM rating_follow_ups ORDER BY rating_id LIMIT 1 FOR UPDATE")
            (rating,) = cursor.fetchone()
        response = app.test_client().put("/csat/comments", json={"ratingId": rating, "comments": "late"},
                                         headers=bearer(make_token()))
        assert_boom(response, 503, "The database is unavailable, try again shortly")
        locker.rollback()
        response = app.test_client().put("/csat/comments", json={"ratingId": rating, "comments": "now"},
                                         headers=bearer(make_token()))
        assert response.status_code == 200, response.get_json()
    finally:
        locker.close()
        app.extensions["csat_db"].close()
