"""The service under `gunicorn -c gunicorn.conf.py 'app:create_app()'`, as production runs it.

Two workers share one metrics view (multiprocess mode), every line on stdout is one JSON
object, the Dockerfile's HEALTHCHECK command works, and SIGTERM lets a running export end
properly before the process exits.
"""

import http.client
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.servers import (GUNICORN, ROOT, TEST_SECRET, bearer, counter, free_port, gunicorn, json_log,
                           make_token, open_stream, request, wait_until_serving)

pytestmark = pytest.mark.slow  # gunicorn

ENDPOINT = "/csat/agents/list"


@pytest.fixture(scope="module")
def two_workers(shared_db, tmp_path_factory):
    """Two gunicorn workers on the shared database; yields (address, log path, metrics dir)."""
    directory = tmp_path_factory.mktemp("gunicorn")
    log_path = directory / "stdout.log"
    metrics_dir = directory / "prometheus"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"stale counters of a previous run")
    with gunicorn(shared_db, log_path, GUNICORN_WORKERS=2, GUNICORN_THREADS=4,
                  PROMETHEUS_MULTIPROC_DIR=metrics_dir) as address:
        yield address, log_path, metrics_dir


def serve_from_both_workers(address, log_path, headers):
    """Send requests in concurrent bursts until both workers have answered some."""
    sent = 0
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(25):
            statuses = list(pool.map(lambda _: request(address, ENDPOINT, headers)[0], range(16)))
            assert statuses == [200] * 16
            sent += 16
            pids = {line["pid"] for line in json_log(log_path)
                    if line.get("logger") == "csat.access" and line.get("endpoint") == ENDPOINT}
            if len(pids) == 2:
                return sent
    pytest.fail("one worker answered every request")


def test_metrics_sum_requests_across_two_workers(two_workers):
    address, log_path, metrics_dir = two_workers
    assert not (metrics_dir / "counter_999999.db").exists()  # a previous run's counters are gone
    labels = dict(method="GET", endpoint=ENDPOINT, status="200")
    assert counter(address, "csat_http_requests_total", **labels) == 0

    sent = serve_from_both_workers(address, log_path, bearer(make_token()))

    # Whichever worker answers the scrape, it reports both workers' requests.
    scrape_ids = [f"scrape-{n}" for n in range(6)]
    for request_id in scrape_ids:
        status, _, body = request(address, "/metrics", {"X-Request-Id": request_id})
        values = [s.value for f in text_string_to_metric_families(body.decode()) for s in f.samples
                  if s.name == "csat_http_requests_total" and s.labels == labels]
        assert values == [sent]
    assert counter(address, "csat_http_request_duration_seconds_count", **labels) == sent
    assert counter(address, "csat_db_pool_max_connections", role="primary") == 2 * 5  # threads + 1


def test_metrics_count_the_rows_of_exports_across_workers(two_workers, shared_db):
    address = two_workers[0]
    headers = bearer(make_token(permissions=["menu-csat"]))
    status, _, body = request(address, "/csat?report=true&score=1,2", headers)
    assert status == 200
    rows = sum(len(json.loads(line)) for line in body.splitlines())
    before = {body: counter(address, "csat_export_rows_total", format=name, outcome="complete")
              for body, name in (("format=csv", "csv"), ("format=xlsx", "xlsx"))}

    for body in before:
        status, _, _ = request(address, f"/csat?report=true&score=1,2&{body}", headers)
        assert status == 200

    for body, name in (("format=csv", "csv"), ("format=xlsx", "xlsx")):
        assert counter(address, "csat_export_rows_total", format=name, outcome="complete") \
            - before[body] == rows
        assert counter(address, "csat_export_duration_seconds_count", format=name,
                       outcome="complete") >= 1


def test_every_stdout_line_is_one_json_object_and_each_request_is_logged_once(two_workers):
    address, log_path, _ = two_workers
    request_id = f"once-{uuid.uuid4().hex}"
    status, headers, _ = request(address, ENDPOINT, {**bearer(make_token(admin_id=1)),
                                                     "X-Request-Id": request_id})
    assert status == 200 and headers["X-Request-Id"] == request_id
    status, headers, _ = request(address, "/csat/nope", {"X-Request-Id": request_id + "-404"})
    assert status == 404 and headers["X-Request-Id"] == request_id + "-404"

    lines = json_log(log_path)  # raises on a line that is not JSON
    assert all(isinstance(line, dict) and {"time", "level", "logger", "message"} <= set(line)
               for line in lines)
    [access] = [line for line in lines if line.get("request_id") == request_id]
    assert access["logger"] == "csat.access"
    assert {k: access[k] for k in ("admin_id", "method", "path", "status")} == {
        "admin_id": 1, "method": "GET", "path": ENDPOINT, "status": 200}
    assert access["duration_ms"] >= 0
    [not_found] = [line for line in lines if line.get("request_id") == request_id + "-404"]
    assert not_found["status"] == 404
    booted = [line for line in lines if line["logger"] == "gunicorn.error"
              and line["message"].startswith("Booting worker")]
    assert len(booted) >= 2


def test_the_dockerfile_healthcheck_command_passes_and_fails(two_workers):
    address, _, _ = two_workers
    dockerfile = (ROOT / "Dockerfile").read_text()
    command = json.loads(dockerfile[dockerfile.index('CMD ["python"'):].split("\n", 1)[0][4:])
    command[0] = sys.executable  # the image's `python`
    environment = dict(os.environ, BIND=f"0.0.0.0:{address.rsplit(':', 1)[1]}")
    assert subprocess.run(command, env=environment, timeout=30).returncode == 0
    environment["BIND"] = f"0.0.0.0:{free_port()}"
    assert subprocess.run(command, env=environment, capture_output=True, timeout=30).returncode != 0


# --- graceful shutdown during an export -------------------------------------------------

@pytest.fixture
def start_gunicorn(tmp_path):
    """start_gunicorn(database_url, **env) -> (process, address, log path); stopped at the end."""
    started = []

    def start(database_url, **env):
        address = f"127.0.0.1:{free_port()}"
        log_path = tmp_path / f"gunicorn-{len(started)}.log"
        environment = dict(os.environ, BIND=address, DATABASE_URL=database_url,
                           JWT_SECRET_KEY=TEST_SECRET, CSAT_ENV="test", GUNICORN_WORKERS="1",
                           GUNICORN_THREADS="4")
        environment.update({name: str(value) for name, value in env.items()})
        for name in ("DATABASE_READ_URL", "PROMETHEUS_MULTIPROC_DIR"):
            environment.pop(name, None)
        with open(log_path, "wb") as log:
            process = subprocess.Popen([str(GUNICORN), "-c", "gunicorn.conf.py", "app:create_app()"],
                                       cwd=ROOT, env=environment, stdout=log,
                                       stderr=subprocess.STDOUT)
        started.append(process)
        wait_until_serving(address, process, log_path)
        return process, address, log_path

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def read_export(response):
    """(rows read, whether the chunked body ended cleanly with its final chunk)."""
    rows = 0
    try:
        while line := response.readline():
            rows += len(json.loads(line))
    except http.client.IncompleteRead:
        return rows, False
    return rows, True


def test_sigterm_lets_a_running_export_finish(big_db, big_db_rows, start_gunicorn):
    graceful = 30
    process, address, log_path = start_gunicorn(big_db, GUNICORN_GRACEFUL_TIMEOUT=graceful)
    total = big_db_rows
    conn = open_stream(address, "/csat?report=true", {**bearer(make_token()),
                                                      "X-Request-Id": "export-under-sigterm"})
    response = conn.getresponse()
    assert response.status == 200
    assert response.headers["X-Request-Id"] == "export-under-sigterm"
    first_rows = len(json.loads(response.readline()))
    assert first_rows == 1000

    process.send_signal(signal.SIGTERM)
    time.sleep(1)  # let the worker begin its shutdown while the export waits on this client
    rows, clean_end = read_export(response)
    conn.close()
    process.wait(timeout=graceful + 15)

    assert clean_end and first_rows + rows == total
    assert process.returncode == 0
    lines = json_log(log_path)
    messages = [(line["logger"], line["message"]) for line in lines]
    term = messages.index(("gunicorn.error", "Handling signal: term"))
    [export] = [i for i, line in enumerate(lines) if line["logger"] == "csat.exports"]
    assert export > term, "the export had ended before SIGTERM arrived"
    assert lines[export]["outcome"] == "complete"
    assert lines[export]["rows_streamed"] == total
    assert lines[export]["request_id"] == "export-under-sigterm"


def test_an_export_outliving_the_graceful_timeout_ends_truncated(big_db, big_db_rows, start_gunicorn):
    graceful = 2
    process, address, log_path = start_gunicorn(big_db, GUNICORN_GRACEFUL_TIMEOUT=graceful)
    total = big_db_rows
    conn = open_stream(address, "/csat?report=true", bearer(make_token()))
    response = conn.getresponse()
    assert response.status == 200
    first_rows = len(json.loads(response.readline()))

    process.send_signal(signal.SIGTERM)
    process.wait(timeout=graceful + 15)  # this client reads nothing meanwhile: the worker is killed
    rows, clean_end = read_export(response)
    conn.close()

    assert not clean_end, "a cut-off export must not look complete"
    assert first_rows + rows < total


# --- a thread that answered waits a moment for its client's next request -----------------

NEXT_REQUEST_ON_THE_SAME_THREAD = "sent more within the linger: read on the same thread"


def get_healthz(connection):
    connection.request("GET", "/healthz")
    response = connection.getresponse()
    response.read()
    assert response.status == 200


def keep_alive_connection(address, timeout=5):
    host, port = address.split(":")
    return http.client.HTTPConnection(host, int(port), timeout=timeout)


@pytest.mark.parametrize("linger_ms, on_the_same_thread", [(5000, True), (0, False)])
def test_a_thread_serves_its_clients_next_requests_itself(shared_db, start_gunicorn, linger_ms,
                                                          on_the_same_thread):
    """With a linger, the thread that answered reads the client's next request itself, unless
    another connection's work was queued at that moment (the start-up probe closing its own,
    say): most follow-ups, never none. Without one, every request goes through the poller."""
    _, address, log_path = start_gunicorn(shared_db, LOG_LEVEL="DEBUG",
                                          GUNICORN_KEEPALIVE_LINGER_MS=linger_ms)
    before = len(json_log(log_path))
    connection = keep_alive_connection(address)
    for _ in range(5):
        get_healthz(connection)
    client = str(connection.sock.getsockname())  # as gunicorn names it in the debug line
    lines = json_log(log_path)[before:]  # read while the connection is open: closing it wakes a wait
    connection.close()

    assert len([line for line in lines if line.get("path") == "/healthz"]) == 5
    follow_ups_read_by_the_same_thread = sum(
        1 for line in lines if line["message"] == f"{client} {NEXT_REQUEST_ON_THE_SAME_THREAD}")
    if on_the_same_thread:
        assert 2 <= follow_ups_read_by_the_same_thread <= 4
    else:
        assert follow_ups_read_by_the_same_thread == 0


def test_a_waiting_thread_never_keeps_another_client_waiting(shared_db, start_gunicorn):
    """Of two threads at most one waits on its connection; the other serves everyone else.
    Each client below keeps its connection open, so a thread waiting on it would wait 30 s,
    past the clients' 5 s timeout."""
    _, address, _ = start_gunicorn(shared_db, GUNICORN_THREADS=2,
                                   GUNICORN_KEEPALIVE_LINGER_MS=30000)
    waited_on = keep_alive_connection(address)
    get_healthz(waited_on)
    others = [keep_alive_connection(address) for _ in range(3)]
    for other in others:
        get_healthz(other)
    get_healthz(waited_on)  # its thread was waiting for it
    for connection in [waited_on, *others]:
        connection.close()


def test_sigterm_ends_a_threads_wait_at_once(shared_db, start_gunicorn):
    """A thread waiting on an idle connection must not hold up a stopping worker: here the
    wait (60 s) and the graceful timeout (60 s) both outlast the 20 s the stop may take."""
    process, address, log_path = start_gunicorn(shared_db, GUNICORN_KEEPALIVE_LINGER_MS=60000,
                                                GUNICORN_GRACEFUL_TIMEOUT=60)
    idle = keep_alive_connection(address)
    get_healthz(idle)

    process.send_signal(signal.SIGTERM)
    process.wait(timeout=20)
    idle.close()

    assert process.returncode == 0
