"""What one round trip costs on this machine when the processes in it have been asleep.

`.venv/bin/python benchmarks/wake_cost.py` prints a table and writes
benchmarks/results/wake_cost.json. No database rows are needed: it answers why the list
shapes' HTTP p50 - SQL p50 grows with the SQL's duration (benchmarks/README.md).

A client sends a request, waits for the whole answer, then sleeps for a gap before the next
one, as the benchmark's HTTP side sleeps while the shape's SQL side runs. Gaps: 1 ms (the
machine stays awake) and 25 ms (about a deep page's SQL: idle CPUs go to sleep). Servers:
- PostgreSQL answering `SELECT 1` (psycopg2): a round trip of the SQL side;
- a bare Python server: one thread, a blocking socket, a fixed 68 KB answer, no HTTP parsing;
- gunicorn's gthread worker serving a WSGI app with the same answer;
- gunicorn with the service's worker (csat/gunicorn_worker.py), its linger off and on;
- the same, linger on, serving a one-route Flask app with the same answer (no hooks, no
  database): what any Flask view costs before it does anything.
Each HTTP request is timed with the benchmark's own minimal client (service.Client); the last
server is timed with Python's http.client too, which the benchmark used before: the
difference is the client's own cost, not the server's.
"""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

import psycopg2  # noqa: E402
from flask import Flask, Response  # noqa: E402

import service  # noqa: E402

GAPS_MS = (1, 25)
BODY = b"x" * 68_000  # about a list page's JSON
RESULTS = HERE / "results" / "wake_cost.json"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SERVICE_WORKER = "csat.gunicorn_worker.BoomThreadWorker"


def app(environ, start_response):
    """The WSGI app gunicorn serves here: the fixed answer, nothing else."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))])
    return [BODY]


flask_app = Flask(__name__)


@flask_app.get("/")
def fixed_answer():
    return Response(BODY, mimetype="text/plain")


def serve_bare(port):
    """One thread answering every request of one connection at a time with the fixed answer."""
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        while True:
            connection, _ = listener.accept()
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with connection:
                while connection.recv(65536):
                    connection.sendall(answer)


@contextmanager
def server(command, port, env):
    process = subprocess.Popen(command, cwd=ROOT, env=dict(os.environ, **env),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{command[0]} did not start")
                time.sleep(0.1)
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


def gunicorn_command(port, worker_class, app_name="app"):
    return [str(service.GUNICORN), "--workers", "1", "--threads", "8", "--worker-class",
            worker_class, "--bind", f"127.0.0.1:{port}", "--pythonpath", str(HERE),
            f"wake_cost:{app_name}"]


def timed(round_trip, gap_ms, seconds):
    """Median ms of round_trip() with the gap slept between calls."""
    count = max(50, min(400, int(seconds * 1000 / (gap_ms + 1))))
    for _ in range(10):
        round_trip()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        round_trip()
        samples.append((time.perf_counter() - started) * 1000)
        time.sleep(gap_ms / 1000)
    return round(statistics.median(samples), 3)


def http_round_trip(port):
    client = service.Client("127.0.0.1", port, {})

    def round_trip():
        status, body = client.get("/")
        if status != 200 or len(body) != len(BODY):
            raise RuntimeError(f"unexpected answer: {status}, {len(body)} bytes")
    return round_trip


def http_client_round_trip(port):
    connection = http.client.HTTPConnection("127.0.0.1", port)

    def round_trip():
        connection.request("GET", "/")
        response = connection.getresponse()
        if response.status != 200 or len(response.read()) != len(BODY):
            raise RuntimeError(f"unexpected answer: {response.status}")
    return round_trip


def sql_round_trip(database_url):
    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    cursor = conn.cursor()

    def round_trip():
        cursor.execute("SELECT 1")
        cursor.fetchall()
    return round_trip


def measure(database_url, seconds):
    select_one = sql_round_trip(database_url)
    results = {"PostgreSQL, SELECT 1": {gap: timed(select_one, gap, seconds) for gap in GAPS_MS}}
    linger_off, linger_on = {"GUNICORN_KEEPALIVE_LINGER_MS": "0"}, {"GUNICORN_KEEPALIVE_LINGER_MS": "100"}
    servers = (
        ("bare Python socket server", lambda port: [sys.executable, __file__, "--serve-bare",
                                                    str(port)], {}),
        ("gunicorn gthread", lambda port: gunicorn_command(port, "gthread"), {}),
        ("gunicorn, the service's worker, linger off",
         lambda port: gunicorn_command(port, SERVICE_WORKER), linger_off),
        ("gunicorn, the service's worker, linger 100 ms",
         lambda port: gunicorn_command(port, SERVICE_WORKER), linger_on),
        ("the same, serving a one-route Flask app",
         lambda port: gunicorn_command(port, SERVICE_WORKER, "flask_app"), linger_on),
    )
    for name, command, env in servers:
        port = service.free_port()
        with server(command(port), port, env):
            results[name] = {gap: timed(http_round_trip(port), gap, seconds) for gap in GAPS_MS}
            if name == servers[-1][0]:
                results[name + ", timed with http.client"] = {
                    gap: timed(http_client_round_trip(port), gap, seconds) for gap in GAPS_MS}
    return results


def table(results):
    header = "| round trip | " + " | ".join(f"after {gap} ms asleep, p50 ms" for gap in GAPS_MS) + " |"
    lines = [header, "|---|" + "---:|" * len(GAPS_MS)]
    for name, by_gap in results.items():
        lines.append(f"| {name} | " + " | ".join(f"{by_gap[gap]:.3f}" for gap in GAPS_MS) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--seconds", type=float, default=6.0, help="per server and gap")
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.serve_bare:
        serve_bare(options.serve_bare)
        return
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    load = os.getloadavg()
    results = measure(options.database_url, options.seconds)
    print(table(results))
    RESULTS.write_text(json.dumps({"at": started, "load_average_at_start": load,
                                   "gaps_ms": GAPS_MS, "body_bytes": len(BODY),
                                   "p50_ms": results}, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
