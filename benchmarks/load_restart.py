"""Load with a PostgreSQL restart: nothing acknowledged may be lost.

    .venv/bin/python benchmarks/load_restart.py [--connections 64] [--seconds 60]
        [--ratings 50000] [--restart-at 30] [--output benchmarks/results/load_restart.json]

1. Starts a PRIVATE PostgreSQL (pgserver, in a temporary directory; never the shared one),
   migrates it and seeds `--ratings` ratings.
2. Starts the service as production does: `gunicorn -c gunicorn.conf.py 'app:create_app()'`
   (GUNICORN_WORKERS / GUNICORN_THREADS from the environment, default 2 x 8).
3. `--connections` client threads, each on its own keep-alive HTTP connection, send a
   request mix for `--seconds`: list pages with filters and sorts, details, the ticket
   card, agents, follow-up histories, the summary, small exports, and writes: POST
   /csat/comments on ratings without a follow-up (each rating at most once) and PUT on
   ratings with one (each text unique).
4. At `--restart-at` seconds PostgreSQL is restarted (`pg_ctl restart -m fast`) under load.
5. Afterwards, straight from the database: every POST answered 200 has its follow-up
   (created by the token's admin, with the very text sent), and every PUT answered 200 has
   its text either current or in the history. Anything missing is "lost".

Prints and writes (JSON) requests, requests/s, statuses per operation, errors by status,
the errors within 10 s of the restart, latency percentiles, and the lost writes. Exit
status 1 when a write acknowledged with 200 is lost or a response was a 500.
"""

import argparse
import http.client
import itertools
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT)]

import jwt  # noqa: E402
import psycopg2  # noqa: E402

from csat.migrations import apply_pending  # noqa: E402
from csat.seed import seed_demo_data  # noqa: E402

GUNICORN = Path(sys.executable).parent / "gunicorn"
ADMIN_ID = 1
PERMISSIONS = ["menu-csat", "company-request-view", "csat-add-comments", "csat-update-comments"]

# (operation, weight): reads dominate, as in an admin's session; one write in ten.
MIX = [("list_first_page", 20), ("list_filtered", 10), ("list_sorted", 6), ("list_deep_page", 3),
       ("details", 12), ("ticket_card", 6), ("agents", 5), ("history", 6), ("summary", 2),
       ("export_small", 1), ("post_follow_up", 6), ("put_follow_up", 5)]


def parse_options(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--ratings", type=int, default=50_000)
    parser.add_argument("--restart-at", type=float, default=None, help="default: half of --seconds")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "load_restart.json")
    return parser.parse_args(argv)


class PrivatePostgres:
    """pgserver in a temporary directory, with a restart the way the fault drills do it."""

    def __init__(self):
        import pgserver

        self.directory = Path(tempfile.mkdtemp(prefix="csat-load-pg-"))
        self.server = pgserver.get_server(self.directory, cleanup_mode="stop")
        self.url = self.server.get_uri()

    def restart(self):
        from pgserver._commands import pg_ctl

        pg_ctl(["-w", "restart", "-m", "fast"], pgdata=self.server.pgdata, user=self.server.system_user)

    def close(self):
        self.server.cleanup()
        shutil.rmtree(self.directory, ignore_errors=True)


def prepare_database(url, ratings):
    conn = psycopg2.connect(url)
    try:
        apply_pending(conn, log=lambda message: None)
        seed_demo_data(conn, ratings=ratings, random_seed=42)
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("ANALYZE")
            cursor.execute("SELECT id, ticket_id, EXISTS (SELECT 1 FROM rating_follow_ups f "
                           "WHERE f.rating_id = r.id) FROM ratings r ORDER BY id")
            rows = cursor.fetchall()
            cursor.execute("SELECT id FROM companies ORDER BY id LIMIT 20")
            companies = [row[0] for row in cursor.fetchall()]
            cursor.execute("SELECT name FROM carriers ORDER BY id LIMIT 10")
            carriers = [row[0] for row in cursor.fetchall()]
    finally:
        conn.close()
    return {
        "ratings": [row[0] for row in rows],
        "tickets": [row[1] for row in rows if row[1] is not None],
        "without_follow_up": [row[0] for row in rows if not row[2]],
        "with_follow_up": [row[0] for row in rows if row[2]],
        "companies": companies,
        "carriers": carriers,
    }


def start_gunicorn(database_url, secret, log_path):
    port = _free_port()
    environment = dict(os.environ, BIND=f"127.0.0.1:{port}", DATABASE_URL=database_url,
                       JWT_SECRET_KEY=secret, CSAT_ENV="production", LOG_LEVEL="WARNING")
    environment.pop("DATABASE_READ_URL", None)
    with open(log_path, "wb") as log:
        process = subprocess.Popen([str(GUNICORN), "-c", "gunicorn.conf.py", "app:create_app()"], cwd=ROOT,
                                   env=environment, stdout=log, stderr=subprocess.STDOUT)
    address = ("127.0.0.1", port)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {Path(log_path).read_text()[-2000:]}")
        try:
            conn = http.client.HTTPConnection(*address, timeout=2)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                conn.close()
                return process, address
        except OSError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not become ready")


def _free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Workload:
    """Draws requests from MIX; hands out each never-followed-up rating to one POST only."""

    def __init__(self, data, token):
        self.data = data
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self._fresh = iter(random.Random(1).sample(data["without_follow_up"], len(data["without_follow_up"])))
        self._lock = threading.Lock()
        self._serial = itertools.count(1)
        names, weights = zip(*MIX)
        self._names, self._weights = names, weights

    def next_request(self, rng):
        """(operation, method, path, body dict or None)."""
        operation = rng.choices(self._names, self._weights)[0]
        data = self.data
        if operation == "list_first_page":
            return operation, "GET", "/csat?draw=1", None
        if operation == "list_filtered":
            companies = ",".join(str(c) for c in rng.sample(data["companies"], 2))
            return operation, "GET", f"/csat?companyId={companies}&score=1,2&startDate=2025-01-01", None
        if operation == "list_sorted":
            sort = rng.choice(["rating", "companyId", "reference", "source"])
            return operation, "GET", f"/csat?sortBy={sort}&sortType=ASC&carrier={rng.choice(data['carriers'])}", None
        if operation == "list_deep_page":
            return operation, "GET", f"/csat?start={rng.randrange(0, 5000)}&length=100", None
        if operation == "details":
            return operation, "GET", f"/csat/{rng.choice(data['ratings'])}", None
        if operation == "ticket_card":
            return operation, "GET", f"/csat/ticket/{rng.choice(data['tickets'])}", None
        if operation == "agents":
            return operation, "GET", "/csat/agents/list", None
        if operation == "history":
            return operation, "GET", f"/csat/{rng.choice(data['with_follow_up'])}/follow-ups", None
        if operation == "summary":
            return operation, "GET", "/csat/summary?startDate=2026-01-01&endDate=2026-03-31", None
        if operation == "export_small":
            return operation, "GET", f"/csat?report=true&companyId={rng.choice(data['companies'])}", None
        text = f"load test {next(self._serial)}: {secrets.token_hex(4)}"
        if operation == "post_follow_up":
            with self._lock:
                rating = next(self._fresh, None)
            if rating is None:  # every fresh rating has had its POST: update instead
                operation = "put_follow_up"
            else:
                return operation, "POST", "/csat/comments", {"ratingId": rating, "comments": text}
        return operation, "PUT", "/csat/comments", {"ratingId": rng.choice(data["with_follow_up"]),
                                                     "comments": text}


def client_thread(number, address, workload, stop_at, results):
    rng = random.Random(number)
    conn = None
    while time.monotonic() < stop_at:
        operation, method, path, body = workload.next_request(rng)
        started = time.monotonic()
        try:
            if conn is None:
                conn = http.client.HTTPConnection(*address, timeout=30)
            conn.request(method, path, body=json.dumps(body) if body else None, headers=workload.headers)
            response = conn.getresponse()
            response.read()
            status = response.status
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as exc:
            status = f"client error: {type(exc).__name__}"
            if conn is not None:
                conn.close()
            conn = None
        results.append((started, time.monotonic() - started, operation, status, body))
    if conn is not None:
        conn.close()


def verify_writes(url, results):
    """Acknowledged (200) writes that the database does not have."""
    posted = {body["ratingId"]: body["comments"] for _, _, op, status, body in results
              if op == "post_follow_up" and status == 200}
    put = [(body["ratingId"], body["comments"]) for _, _, op, status, body in results
           if op == "put_follow_up" and status == 200]
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT rating_id, comments, created_by FROM rating_follow_ups")
            current = {rating: (comments, created_by) for rating, comments, created_by in cursor.fetchall()}
            cursor.execute("SELECT rating_id, comments FROM rating_follow_up_history")
            texts = defaultdict(set)
            for rating, comments in cursor.fetchall():
                texts[rating].add(comments)
    finally:
        conn.close()
    for rating, (comments, _) in current.items():
        texts[rating].add(comments)
    lost_posts = [rating for rating, text in posted.items()
                  if rating not in current or current[rating][1] != ADMIN_ID or text not in texts[rating]]
    lost_puts = [(rating, text) for rating, text in put if text not in texts[rating]]
    return {"posts_acknowledged": len(posted), "puts_acknowledged": len(put),
            "lost_posts": lost_posts, "lost_puts": [list(item) for item in lost_puts]}


def percentile(values, fraction):
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000, 1) if ordered else None


def summarize(results, began, restart_at, restart_seconds, seconds, connections, verification):
    statuses = Counter(str(status) for _, _, _, status, _ in results)
    by_operation = defaultdict(Counter)
    for _, _, operation, status, _ in results:
        by_operation[operation][str(status)] += 1
    errors = {status: count for status, count in statuses.items() if status not in ("200", "404", "409")}
    near_restart = Counter(str(status) for started, _, _, status, _ in results
                           if abs(started - began - restart_at) <= 10 and str(status) not in ("200", "404", "409"))
    latencies = [duration for _, duration, _, _, _ in results]
    return {
        "connections": connections,
        "seconds": seconds,
        "requests": len(results),
        "requests_per_second": round(len(results) / seconds, 1),
        "restart_at_seconds": restart_at,
        "restart_took_seconds": round(restart_seconds, 2),
        "statuses": dict(statuses),
        "errors_by_status": errors,
        "errors_within_10s_of_restart": dict(near_restart),
        "statuses_by_operation": {op: dict(counts) for op, counts in sorted(by_operation.items())},
        "latency_ms": {"p50": percentile(latencies, 0.5), "p95": percentile(latencies, 0.95),
                       "p99": percentile(latencies, 0.99), "max": percentile(latencies, 1.0)},
        "writes": verification,
        "nothing_acknowledged_lost": not verification["lost_posts"] and not verification["lost_puts"],
    }


def main(argv=None):
    options = parse_options(argv)
    restart_at = options.restart_at if options.restart_at is not None else options.seconds / 2
    postgres = PrivatePostgres()
    process = None
    log_path = Path(tempfile.mkstemp(prefix="csat-load-gunicorn-", suffix=".log")[1])
    try:
        print(f"seeding {options.ratings:,} ratings into a private PostgreSQL ...", flush=True)
        data = prepare_database(postgres.url, options.ratings)
        secret = secrets.token_hex(32)
        token = jwt.encode({"sub": str(ADMIN_ID), "permissions": PERMISSIONS, "iat": int(time.time()),
                            "exp": int(time.time()) + 3600}, secret, algorithm="HS256")
        process, address = start_gunicorn(postgres.url, secret, log_path)
        workload = Workload(data, token)
        results = []  # list.append is atomic: the threads share it
        began = time.monotonic()
        stop_at = began + options.seconds
        threads = [threading.Thread(target=client_thread, args=(n, address, workload, stop_at, results))
                   for n in range(options.connections)]
        print(f"{options.connections} connections for {options.seconds:.0f} s; "
              f"restarting PostgreSQL at {restart_at:.0f} s ...", flush=True)
        for thread in threads:
            thread.start()
        time.sleep(max(0.0, began + restart_at - time.monotonic()))
        restart_started = time.monotonic()
        postgres.restart()
        restart_seconds = time.monotonic() - restart_started
        for thread in threads:
            thread.join()
        verification = verify_writes(postgres.url, results)
        summary = summarize(results, began, restart_at, restart_seconds, options.seconds,
                            options.connections, verification)
    finally:
        if process is not None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        postgres.close()
    summary["gunicorn_log_errors"] = sum(1 for line in log_path.read_text(errors="replace").splitlines()
                                         if '"level": "error"' in line or '"level":"error"' in line)
    log_path.unlink(missing_ok=True)
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({key: summary[key] for key in (
        "requests", "requests_per_second", "statuses", "errors_by_status", "errors_within_10s_of_restart",
        "latency_ms", "nothing_acknowledged_lost")}, indent=2))
    print(f"written: {options.output}")
    failed = not summary["nothing_acknowledged_lost"] or summary["statuses"].get("500", 0)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
