"""The pool against a PostgreSQL of the test's own: restarts, exhaustion, slow queries.

These drills stop and start a server, so they never touch the shared one: each module
starts a private embedded PostgreSQL (pgserver) and points an app at it.
"""

import shutil
import tempfile
import threading
from pathlib import Path

import psycopg2
import pytest

from app import create_app
from csat import db
from csat.migrations import apply_pending
from tests.conftest import assert_boom, bearer, make_settings, make_token


@pytest.fixture(scope="module")
def private_server():
    import pgserver
    from pgserver._commands import pg_ctl

    data_dir = Path(tempfile.mkdtemp(prefix="csat-pg-"))
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    url = server.get_uri()
    conn = psycopg2.connect(url)
    try:
        apply_pending(conn, log=lambda message: None)
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("INSERT INTO administrators (id, name, active) VALUES (1, 'Admin User', true)")
    finally:
        conn.close()

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


def test_statement_timeout_is_503(private_app):
    """A query that outlives statement_timeout is cancelled by PostgreSQL and answered 503."""
    with private_app.app_context():
        with pytest.raises(psycopg2.errors.QueryCanceled) as caught:
            with db.connection() as conn, conn.cursor() as cursor:
                cursor.execute("SELECT pg_sleep(2)")
        assert db.is_unavailable(caught.value)
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
