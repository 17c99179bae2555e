"""deploy/nginx.conf in front of gunicorn: exports pass through as they are produced.

Runs the Debian nginx package (.ci/run installs it) with the sample site config, only its
listen port, upstream address and log paths swapped for the test's. Without nginx the
tests are skipped on a laptop, and fail under CI (CI is set), where nginx must be there.
"""

import re
import zlib

import http.client
import orjson
import psycopg2
import pytest

from csat.exports.copy_rows import BATCH_ROWS
from tests.servers import bearer, gunicorn, make_token, nginx_in_front, open_stream, sessions, wait_for

pytestmark = pytest.mark.slow  # nginx in front of gunicorn

HEADERS = bearer(make_token(admin_id=1, permissions=["menu-csat"]))


# Through nginx an export must outgrow nginx's upstream socket buffer (loopback autotuning lets
# it reach 32 MB), or it can end before a test observes it mid-stream.
BIG_DB_EXTRA_RATINGS = 150_000
@pytest.fixture(scope="module")
def nginx(big_db, tmp_path_factory):
    """nginx (deploy/nginx.conf) in front of one gunicorn worker; yields its address."""
    prefix = tmp_path_factory.mktemp("nginx")
    with gunicorn(big_db, prefix / "gunicorn.log") as upstream, nginx_in_front(upstream, prefix) as address:
        yield address


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
