"""Every helper the tests share: settings and tokens, SQL, Boom assertions, and real servers.

Fixtures live in conftest.py and import from here; test modules import helpers from here
only, never from conftest.py or from another test module.

Real servers: gunicorn (and nginx in front of it), private PostgreSQL clusters (a primary and
its streaming standby) and PgBouncer, as subprocesses. A streamed export only shows its
behaviour over a real socket: chunked framing, what a client disconnect does, an aborted
stream, worker timeouts. These helpers start the service exactly as production does
(`gunicorn -c gunicorn.conf.py 'app:create_app()'`) on a free port, and read chunked
responses at the socket level with http.client.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import jwt
import pgserver
import psycopg2
import pytest
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.http import HTTP_STATUS_CODES

from csat import db
from csat.config import Settings
from csat.migrations import apply_pending


# --- settings, tokens, SQL and Boom answers -----------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


TEST_SECRET = "test-secret-0123456789abcdef0123456789abcdef"


SEED_RATINGS = 3000


SEED = 7


ALL_PERMISSIONS = ("menu-csat", "company-request-view", "csat-add-comments", "csat-update-comments")


def with_database(url, name):
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def run_sql(url, statement, params=None):
    """Run one statement on `url` in its own committed transaction; its rows, if any."""
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall() if cursor.description else None
    finally:
        conn.close()


def execute_autocommit(url, statement, params=None):
    """Run one statement outside a transaction (CREATE DATABASE, VACUUM, a standby's replay
    controls ...); its rows, if any."""
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall() if cursor.description else None
    finally:
        conn.close()


def make_settings(database_url, **overrides):
    values = dict(
        database_url=database_url,
        environment="test",
        jwt_secret_key=TEST_SECRET,
        pool_timeout_seconds=1.0,
    )
    values.update(overrides)
    settings = Settings(**values)
    settings.validate()
    return settings


def sign(claims, key=TEST_SECRET, algorithm="HS256", headers=None):
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


def make_token(admin_id=1, permissions=ALL_PERMISSIONS, locales=None, expires_in=600, **claims):
    now = int(time.time())
    body = {"sub": admin_id, "permissions": list(permissions), "iat": now, "exp": now + expires_in}
    if locales is not None:
        body["locales"] = list(locales)
    body.update(claims)
    return sign({k: v for k, v in body.items() if v is not None})


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def assert_boom(response, status, message=None):
    """The response is a Boom error with this status (and message, when given)."""
    body = response.get_json()
    assert response.status_code == status, body
    assert body["statusCode"] == status
    assert body["error"] == {413: "Request Entity Too Large", 414: "URI Too Long",
                             422: "Unprocessable Entity"}.get(
        status, HTTP_STATUS_CODES[status])
    assert isinstance(body["message"], str) and body["message"]
    if message is not None:
        assert body["message"] == message
    return body


def psql_binary():
    """psql from PATH, else the embedded server's own client."""
    found = shutil.which("psql")
    if found:
        return found
    return str(Path(pgserver.__file__).parent / "pginstall" / "bin" / "psql")


# --- gunicorn, as production runs it ----------------------------------------------------------

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
        process = subprocess.Popen([str(GUNICORN), "-c", "gunicorn.conf.py", "app:create_app()"],
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


# --- private PostgreSQL servers and PgBouncer (Debian packages) ----------------------------

def migrate_with_admin(url):
    """Migrate an empty database and add the active admin 1 that make_token's tokens name."""
    conn = psycopg2.connect(url)
    try:
        apply_pending(conn, log=lambda message: None)
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("INSERT INTO administrators (id, name, active) VALUES (1, 'Admin User', true)")
    finally:
        conn.close()


def require_tool(path, what, install):
    """path, or fail under CI (where .ci/run installs it) / skip on a laptop without it."""
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{what} is not installed; .ci/run installs {install}")
        pytest.skip(f"{what} is not installed (apt-get install {install})")
    return path


def chromium_binary():
    """Debian's chromium (or another Chromium build), for the browser tests."""
    return require_tool(shutil.which("chromium") or shutil.which("chromium-browser")
                        or shutil.which("google-chrome"), "chromium", "chromium")


def soffice_binary():
    """LibreOffice's soffice, for the tests that open exports the way a spreadsheet user does."""
    return require_tool(shutil.which("soffice") or shutil.which("libreoffice"), "LibreOffice",
                        "libreoffice-calc-nogui")


def postgres_bin_dir():
    """The newest /usr/lib/postgresql/<major>/bin (Debian's server packages), else None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0)
    return require_tool(found[-1].parent if found else None, "PostgreSQL's server programs",
                        "postgresql")


def pgbouncer_binary():
    found = shutil.which("pgbouncer") or next(
        (path for path in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(path, os.X_OK)), None)
    return require_tool(found, "pgbouncer", "pgbouncer")


def _as_server_user():
    """PostgreSQL and PgBouncer refuse to run as root: as root, run them as `postgres`."""
    return {"user": "postgres"} if os.geteuid() == 0 else {}


def private_dir(prefix):
    """A new temporary directory the server user owns."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")
    return path


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own on a free TCP port (trust auth, 127.0.0.1)."""

    SETTINGS = {
        "listen_addresses": "'127.0.0.1'",
        "fsync": "off",  # test data: nothing to keep after a crash
        "full_page_writes": "off",
        "synchronous_commit": "off",
        "shared_buffers": "'32MB'",
        "max_connections": "60",
        "wal_level": "replica",
        "max_wal_senders": "4",
        "hot_standby": "on",
    }

    def __init__(self, data_dir, port, bin_dir):
        self.data_dir = Path(data_dir)
        self.port = port
        self.bin_dir = bin_dir

    @property
    def url(self):
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def database_url(self, name):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    @classmethod
    def create(cls, base_dir, bin_dir=None):
        bin_dir = bin_dir or postgres_bin_dir()
        server = cls(Path(base_dir) / "data", free_port(), bin_dir)
        server._run("initdb", "-D", str(server.data_dir), "-U", "postgres", "--auth=trust",
                    "-E", "UTF8", "--locale=C", "--no-sync")
        server.configure(port=server.port, **cls.SETTINGS)
        return server

    def configure(self, **settings):
        """Appends settings to postgresql.auto.conf (read at the next start)."""
        with open(self.data_dir / "postgresql.auto.conf", "a", encoding="utf-8") as conf:
            for name, value in settings.items():
                conf.write(f"{name} = {value}\n")

    def start(self):
        self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.data_dir / "server.log"),
                  "-w", "-t", "60", "start")

    def stop(self, mode="fast"):
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self, mode="fast"):
        self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.data_dir / "server.log"),
                  "-m", mode, "-w", "-t", "60", "restart")

    def standby(self, base_dir, **settings):
        """A streaming standby of this (running) server: pg_basebackup -R into base_dir."""
        standby = PrivatePostgres(Path(base_dir) / "data", free_port(), self.bin_dir)
        self._run("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                  "-D", str(standby.data_dir), "-R", "-X", "stream", "--checkpoint=fast", "--no-sync")
        standby.configure(port=standby.port, **settings)
        return standby

    def log_text(self):
        try:
            return (self.data_dir / "server.log").read_text(errors="replace")
        except OSError:
            return ""

    def _run(self, program, *args):
        result = subprocess.run([str(self.bin_dir / program), *args], capture_output=True, text=True,
                                timeout=120, **_as_server_user())
        if result.returncode != 0:
            raise RuntimeError(f"{program} failed ({result.returncode}): {result.stderr}\n{self.log_text()}")
        return result.stdout


PGBOUNCER_USER = "csat_app"
PGBOUNCER_PASSWORD = "pgbouncer-test-password"

PGBOUNCER_INI = """\
[databases]
; every database name maps to the same name on the server, logged in as the server's user
* = host={host} port={port} user={user}{password}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen_port}
unix_socket_dir =
pool_mode = transaction
auth_type = scram-sha-256
auth_file = {directory}/userlist.txt
logfile = {directory}/pgbouncer.log
pidfile = {directory}/pgbouncer.pid
max_client_conn = 200
default_pool_size = 30
"""


@contextmanager
def pgbouncer(server_url, **settings):
    """A PgBouncer in transaction pooling mode in front of server_url's server, otherwise
    stock settings unless `settings` (pgbouncer.ini names) say more; yields a function turning
    a database URL into the same database's URL through PgBouncer."""
    binary = pgbouncer_binary()
    server = urlsplit(server_url)
    directory = private_dir("csat-pgbouncer-")
    listen_port = free_port()
    socket_dir = parse_qs(server.query).get("host", [None])[0]  # pgserver's unix socket
    (directory / "pgbouncer.ini").write_text(PGBOUNCER_INI.format(
        host=server.hostname or socket_dir or "127.0.0.1", port=server.port or 5432,
        user=server.username or "postgres",
        password=f" password={server.password}" if server.password else "",
        listen_port=listen_port, directory=directory)
        + "".join(f"{name} = {value}\n" for name, value in settings.items()))
    (directory / "userlist.txt").write_text(f'"{PGBOUNCER_USER}" "{PGBOUNCER_PASSWORD}"\n')
    if os.geteuid() == 0:
        for path in directory.iterdir():
            shutil.chown(path, "postgres", "postgres")
    process = subprocess.Popen([binary, str(directory / "pgbouncer.ini")], stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT, **_as_server_user())

    def through_pgbouncer(database_url):
        name = urlsplit(database_url).path.lstrip("/")
        return f"postgresql://{PGBOUNCER_USER}:{PGBOUNCER_PASSWORD}@127.0.0.1:{listen_port}/{name}"

    try:
        _wait_for_port(listen_port, process, directory / "pgbouncer.log")
        yield through_pgbouncer
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(directory, ignore_errors=True)


def _wait_for_port(port, process, log_path, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}:\n{_read(log_path)}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}:\n{_read(log_path)}")


def _read(path):
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


class HeldExport:
    """An export started, its first chunk read, and held open until close(), all in a thread of
    its own: a streamed body keeps its request context pushed between chunks
    (stream_with_context), so, as under a real server, each runs on its own thread."""

    def __init__(self, app, path, headers):
        self._started, self._release, self.status_code = threading.Event(), threading.Event(), None
        self._thread = threading.Thread(target=self._hold, args=(app, path, headers), daemon=True)
        self._thread.start()
        assert self._started.wait(30)

    def _hold(self, app, path, headers):
        response = app.test_client().get(path, headers=headers, buffered=False)
        self.status_code = response.status_code
        next(iter(response.response))
        self._started.set()
        self._release.wait(30)
        response.close()

    def close(self):
        self._release.set()
        self._thread.join(30)


def scrape(client):
    """Every sample of the app's /metrics, keyed by (name, sorted labels); through a test client."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def sample(samples, name, **labels):
    """One sample's value from scrape(), 0 when the series has none yet."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# --- logs and metrics of a running server -----------------------------------------------

def log_lines(path):
    return [line for line in Path(path).read_text().splitlines() if line.strip()]


def json_log(path):
    return [json.loads(line) for line in log_lines(path)]


def counter(address, name, **labels):
    status, _, body = request(address, "/metrics")
    assert status == 200
    wanted = sorted(labels.items())
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == name and sorted(sample.labels.items()) == wanted:
                return sample.value
    return 0.0


# --- nginx in front (deploy/nginx.conf) ---------------------------------------------------

SAMPLE_CONFIG = ROOT / "deploy" / "nginx.conf"


def nginx_binary():
    found = shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(path, os.X_OK)), None)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is not installed; .ci/run installs the Debian package")
        pytest.skip("nginx is not installed (apt-get install nginx)")
    return found


def site_config(upstream, port, log_dir):
    """The sample site with the test's port, upstream and log directory, nothing else changed."""
    text = SAMPLE_CONFIG.read_text()
    replacements = [
        (r"server 127\.0\.0\.1:8000;", f"server {upstream};"),
        (r"listen 80;", f"listen 127.0.0.1:{port};"),
        (r"/var/log/nginx/", f"{log_dir}/"),
    ]
    for pattern, replacement in replacements:
        text, count = re.subn(pattern, replacement, text)
        assert count >= 1, f"deploy/nginx.conf no longer contains {pattern!r}"
    return text


MAIN_CONFIG = """
daemon off;
worker_processes 1;
{user}
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 128; }}
http {{
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/csat.conf;
}}
"""


@contextmanager
def nginx_in_front(upstream, prefix):
    """nginx running deploy/nginx.conf in front of `upstream`; yields its "127.0.0.1:port"."""
    binary = nginx_binary()
    port = free_port()
    (prefix / "csat.conf").write_text(site_config(upstream, port, prefix))
    # A root master would hand requests to "nobody", who cannot enter pytest's tmp dirs.
    user = "user root;" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(MAIN_CONFIG.format(prefix=prefix, user=user))
    process = subprocess.Popen([binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    address = f"127.0.0.1:{port}"
    try:
        if not wait_for(lambda: _answers(address) or process.poll() is not None, timeout=10) \
                or process.poll() is not None:
            pytest.fail(f"nginx did not start: {process.communicate(timeout=5)[0].decode()}")
        yield address
    finally:
        process.terminate()
        process.wait(timeout=10)


def _answers(address):
    try:
        conn = open_stream(address, "/healthz")
        status = conn.getresponse().status
        conn.close()
        return status == 200
    except OSError:
        return False


# --- follow-ups: what the service stored, and races over real HTTP -------------------------

COMMENTS_PATH = "/csat/comments"
COMMENT_PERMISSIONS = ("csat-add-comments", "csat-update-comments")
RACERS = 20


@contextmanager
def statements_run(monkeypatch):
    """The names of the query files db.run runs inside the block; db.run itself still runs
    them against the real database."""
    ran = []
    original = db.run

    def recording(name, params=None, **options):
        ran.append(name)
        return original(name, params, **options)

    monkeypatch.setattr(db, "run", recording)
    try:
        yield ran
    finally:
        monkeypatch.setattr(db, "run", original)


def sql_rows(url, statement, params=()):
    conn = psycopg2.connect(url, options="-c TimeZone=UTC")
    try:
        with conn.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall()
    finally:
        conn.close()


def rating_id(url, *, followed_up, outside_locale=None):
    """A rating with or without a follow-up (optionally in a locale other than outside_locale)."""
    rows = sql_rows(url, """
        SELECT r.id FROM ratings r
        WHERE EXISTS (SELECT 1 FROM rating_follow_ups f WHERE f.rating_id = r.id) = %s
          AND (%s::smallint IS NULL OR r.locale_id <> %s::smallint)
        ORDER BY r.id LIMIT 1""", (followed_up, outside_locale, outside_locale))
    return rows[0][0]


def active_admins(url, count):
    ids = [row[0] for row in sql_rows(
        url, "SELECT id FROM administrators WHERE active ORDER BY id LIMIT %s", (count,))]
    assert len(ids) == count
    return ids


def follow_up(url, rating):
    """(comments, created_by, updated_by) of the current follow-up, or None."""
    rows = sql_rows(url, "SELECT comments, created_by, updated_by FROM rating_follow_ups WHERE rating_id = %s",
                    (rating,))
    return rows[0] if rows else None


def history(url, rating):
    return sql_rows(url, """
        SELECT comments, written_by, written_at, replaced_by, replaced_at
        FROM rating_follow_up_history WHERE rating_id = %s ORDER BY id""", (rating,))


def send(address, method, body, token):
    conn = http.client.HTTPConnection(*address, timeout=120)
    try:
        conn.request(method, COMMENTS_PATH, body=json.dumps(body),
                     headers={"Content-Type": "application/json", **bearer(token)})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def race(address, method, rating, admins, text_of, release=None):
    """Every admin sends at once (a barrier); release() runs once they are all in flight."""
    tokens = {admin: make_token(admin_id=admin, permissions=COMMENT_PERMISSIONS) for admin in admins}
    barrier = threading.Barrier(len(admins))

    def one(admin):
        barrier.wait()
        return send(address, method, {"ratingId": rating, "comments": text_of(admin)}, tokens[admin])

    with ThreadPoolExecutor(max_workers=len(admins)) as pool:
        futures = {admin: pool.submit(one, admin) for admin in admins}
        if release is not None:
            release()
        return {admin: future.result() for admin, future in futures.items()}


@contextmanager
def blocker(url, statement, params):
    """An open transaction holding the locks `statement` takes; yields release(waiters).

    release waits until `waiters` requests queue behind those locks, then rolls back, so
    every racer reaches the contested row before any of them can get it.
    """
    conn = psycopg2.connect(url)

    def release(waiters):
        wait_for_lock_waiters(url, waiters)
        conn.rollback()

    try:
        with conn.cursor() as cursor:
            cursor.execute(statement, params)
        yield release
    finally:
        conn.rollback()
        conn.close()


def wait_for_lock_waiters(url, count):
    """Block until `count` service connections wait on a lock (a hang guard, not a timing test)."""
    deadline = time.monotonic() + 60
    while True:
        (waiting,), = sql_rows(url, """
            SELECT count(*) FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = 'csat-service'
              AND wait_event_type = 'Lock'""")
        if waiting >= count:
            return
        assert time.monotonic() < deadline, f"only {waiting} of {count} requests reached the lock"
        time.sleep(0.05)
