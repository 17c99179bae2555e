"""deploy/nginx.conf in front of gunicorn: exports pass through as they are produced.

Runs the Debian nginx package (.ci/run installs it) with the sample site config, only its
listen port, upstream address and log paths swapped for the test's. Without nginx the
tests are skipped on a laptop, and fail under CI (CI is set), where nginx must be there.
"""

import os
import re
import shutil
import subprocess
import zlib
from contextlib import contextmanager

import http.client
import orjson
import psycopg2
import pytest

from csat.exports.copy_rows import BATCH_ROWS
from tests.conftest import ROOT, bearer, make_token
from tests.servers import free_port, gunicorn, open_stream, sessions, wait_for

SAMPLE_CONFIG = ROOT / "deploy" / "nginx.conf"
HEADERS = bearer(make_token(admin_id=1, permissions=["menu-csat"]))


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


# Through nginx an export must outgrow nginx's upstream socket buffer (loopback autotuning lets
# it reach 32 MB), or it can end before a test observes it mid-stream.
BIG_DB_EXTRA_RATINGS = 150_000
@pytest.fixture(scope="module")
def nginx(big_db, tmp_path_factory):
    """nginx (deploy/nginx.conf) in front of one gunicorn worker; yields its address."""
    prefix = tmp_path_factory.mktemp("nginx")
    with gunicorn(big_db, prefix / "gunicorn.log") as upstream, nginx_in_front(upstream, prefix) as address:
        yield address


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


def export_in_progress(database_url):
    """An export's connection is not back in its pool yet: its transaction is open, also
    an aborted one (a cancelled COPY before its rollback), which test_a_stream_cut_... would
    otherwise find and terminate as well."""
    return any(state not in (None, "idle") and "csat_export" in query
               for state, query in sessions(database_url))


def test_the_first_batch_arrives_while_the_export_is_still_running(nginx, big_db, big_db_rows):
    conn = open_stream(nginx, "/csat?report=true", HEADERS)
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert response.getheader("Content-Type") == "application/x-ndjson"

    first = orjson.loads(response.readline())
    assert len(first) == BATCH_ROWS
    assert export_in_progress(big_db)  # the cursor is still open: nginx did not wait for the end
    # While the client reads nothing, nginx holds no more than its small buffers, so the
    # export stays blocked; a buffering proxy would have drained it into a temp file.
    assert not wait_for(lambda: not export_in_progress(big_db), timeout=3)

    rows = len(first) + sum(len(orjson.loads(line)) for line in response.read().splitlines())
    conn.close()
    assert rows == big_db_rows
    assert wait_for(lambda: not export_in_progress(big_db), timeout=2)


# Each body's first bytes reach the client while its export still runs: nginx passes chunks
# on as they come. Whether the export then waits for a client that stops reading is not
# asserted: nginx's socket from gunicorn autotunes up to tcp_rmem's 32 MB on loopback, which
# can take in a whole test-sized export (memory stays flat either way: the benchmark measures
# the worker's RSS during a 1,000,000-row export).
@pytest.mark.parametrize("body, content_type", [
    ("format=csv", "text/csv; charset=utf-8"),
    ("format=csv&raw=true", "text/csv; charset=utf-8"),
    ("format=xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
])
def test_every_body_arrives_while_its_export_is_still_running(nginx, big_db, body, content_type):
    conn = open_stream(nginx, f"/csat?report=true&{body}", HEADERS)
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type") == content_type
    assert response.getheader("Transfer-Encoding") == "chunked"

    assert response.read1(65536)
    # (between its two statements an export is briefly idle on a query without the mark)
    assert wait_for(lambda: export_in_progress(big_db), timeout=2)

    while response.read1(65536):
        pass
    conn.close()
    assert wait_for(lambda: not export_in_progress(big_db), timeout=2)


@pytest.mark.parametrize("body, line_end, start", [
    ("format=csv", b"\r\n", b"\xef\xbb\xbfrating_id,rating,comment,"),
    ("format=json", b"\n", b'[{"rating_id":'),
])
def test_compressed_exports_still_arrive_batch_by_batch(nginx, big_db, body, line_end, start):
    conn = open_stream(nginx, f"/csat?report=true&{body}", {**HEADERS, "Accept-Encoding": "gzip"})
    response = conn.getresponse()
    assert response.getheader("Content-Encoding") == "gzip"

    decompressor, text = zlib.decompressobj(16 + zlib.MAX_WBITS), b""
    while text.count(line_end) < 2:
        piece = response.read1(65536) if hasattr(response, "read1") else response.read(65536)
        assert piece, "the stream ended before a row arrived"
        text += decompressor.decompress(piece)
    assert text.startswith(start)
    # No export_in_progress check here: compressed, the whole export can fit in the socket
    # buffers and end legitimately before we look; the uncompressed test above covers that.
    conn.close()
    assert wait_for(lambda: not export_in_progress(big_db), timeout=3)


def test_a_stream_cut_upstream_is_cut_for_the_client_too(nginx, big_db):
    conn = open_stream(nginx, "/csat?report=true", HEADERS)
    response = conn.getresponse()
    assert len(orjson.loads(response.readline())) == BATCH_ROWS
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
        response.read()
    conn.close()


def test_request_ids_pass_through(nginx):
    conn = open_stream(nginx, "/healthz", {"X-Request-Id": "edge-42"})
    assert conn.getresponse().getheader("X-Request-Id") == "edge-42"
    conn.close()

    conn = open_stream(nginx, "/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", conn.getresponse().getheader("X-Request-Id"))
    conn.close()
