"""Real servers for streaming tests: gunicorn (and nginx, in test_nginx.py) as subprocesses.

A streamed export only shows its behaviour over a real socket: chunked framing, what a
client disconnect does, an aborted stream, worker timeouts. These helpers start the
service exactly as production does (`gunicorn -c gunicorn.conf.py app:app`) on a free
port, and read chunked responses at the socket level with http.client.
"""

import http.client
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg2

from tests.conftest import ROOT, TEST_SECRET

GUNICORN = Path(sys.executable).parent / "gunicorn"

# Enough ratings that an export (~650 bytes a row as JSON) is far larger than every socket
# buffer between server and client: a client that stops reading really stalls the export.
EXTRA_RATINGS = 40_000
CLIENT_RECEIVE_BUFFER = 64 * 1024


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def add_ratings(database_url, count=EXTRA_RATINGS):
    """Copies of the seeded carrier and shop ratings (no ticket: ticket_id is unique)."""
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO ratings (score, comment, source, source_platform, reference_id,
                                     company_id, locale_id, user_id, carrier_id, created_at)
                SELECT r.score, r.comment, r.source, r.source_platform, r.reference_id,
                       r.company_id, r.locale_id, r.user_id, r.carrier_id,
                       r.created_at - n * interval '1 second'
                FROM (SELECT * FROM ratings WHERE ticket_id IS NULL ORDER BY id) r,
                     generate_series(1, %(copies)s) n
                LIMIT %(count)s
                """,
                {"copies": count // 100 + 1, "count": count},
            )
            cursor.execute("ANALYZE")
    finally:
        conn.close()


def rating_count(database_url):
    conn = psycopg2.connect(database_url)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM ratings")
            return cursor.fetchone()[0]
    finally:
        conn.close()


@contextmanager
def gunicorn(database_url, log_path, **env):
    """A gunicorn serving the app on a free port; yields its "127.0.0.1:port"."""
    bind = f"127.0.0.1:{free_port()}"
    environment = dict(
        os.environ,
        BIND=bind,
        DATABASE_URL=database_url,
        JWT_SECRET_KEY=TEST_SECRET,
        CSAT_ENV="test",
        GUNICORN_WORKERS="1",
        GUNICORN_THREADS="4",
        GUNICORN_GRACEFUL_TIMEOUT="3",
        LOG_LEVEL="INFO",
    )
    environment.pop("DATABASE_READ_URL", None)
    environment.update({name: str(value) for name, value in env.items()})
    with open(log_path, "wb") as log:
        process = subprocess.Popen([str(GUNICORN), "-c", "gunicorn.conf.py", "app:app"],
                                   cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_serving(bind, process, log_path)
        yield bind
    finally:
        process.send_signal(signal.SIGINT)  # quick shutdown: open test streams are not waited for
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_serving(address, process, log_path, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{Path(log_path).read_text()}")
        try:
            status, _, _ = request(address, "/healthz")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server at {address} did not come up:\n{Path(log_path).read_text()}")


def request(address, path, headers=None):
    """A plain GET: (status, headers, body)."""
    conn = open_stream(address, path, headers)
    try:
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def open_stream(address, path, headers=None):
    """An HTTP/1.1 connection with the request sent; call getresponse() to read."""
    host, port = address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    # A small, fixed receive buffer: loopback autotuning grows it to 32 MB, enough to swallow
    # a whole test export, which would then end before a test could observe it mid-stream.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, CLIENT_RECEIVE_BUFFER)
    sock.settimeout(60)
    sock.connect((host, int(port)))
    conn.sock = sock
    conn.request("GET", path, headers=headers or {})
    conn.raw_sock = conn.sock  # http.client forgets it once a response says it will close
    return conn


def drop(conn, response):
    """Close a client connection at once, unread data and all, as a browser tab does."""
    sock = conn.raw_sock
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    response.close()
    conn.close()
    sock.close()


def sessions(database_url):
    """(state, query) of the service's sessions on that database, as pg_stat_activity sees them."""
    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT state, query FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = 'csat-service'")
            return cursor.fetchall()
    finally:
        conn.close()


def wait_for(condition, timeout, interval=0.05):
    """Poll until condition() is true; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
