"""The benchmark suite at 1,000,000 ratings: `make bench` (or `.venv/bin/python benchmarks/run.py`).

Stages (all by default; `--only list,export` runs a subset):
  seed         time `flask seed --ratings N` into a scratch database (dropped afterwards)
  list         the list shapes: HTTP median/p95 vs the very same SQL, with the ratio
  summary      GET /csat/summary (reported "missing" while the endpoint does not exist)
  details      details by id and by ticket
  agents       GET /csat/agents/list
  concurrency  wrk at 16 and 64 connections on a request mix; pgbench on the mix's SQL
  export       1,000,000 rows as JSON, Excel CSV, raw CSV and XLSX vs psql COPY: rows/s, TTFB, worker RSS growth
  growth       each shape as admins meet it while ratings arrive (benchmarks/growth.py), unasked
               filter combinations, and the cost of a 10,000-rating insert with the change log

A writer (benchmarks/ingest.py) inserts --ingest ratings a second (default 1; 0: none), posts a
follow-up every 10 s and reassigns a ticket every minute during every measured stage.

Results: benchmarks/results/latest.json and the table in benchmarks/README.md.
See benchmarks/README.md for the options and what each number means.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

import psycopg2  # noqa: E402

import export as export_bench  # noqa: E402
import growth  # noqa: E402
import ingest  # noqa: E402
import load  # noqa: E402
import report  # noqa: E402
import service  # noqa: E402
import shapes as shape_defs  # noqa: E402

EXPORT_REPEATS = 3
IDLE_WAIT_MS = 25  # the overhead measured again after this long waiting on the database
STAGES = ("seed", "list", "summary", "details", "agents", "concurrency", "export", "growth")
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/csat_bench"
RESULTS = HERE / "results" / "latest.json"
FLASK = Path(sys.executable).parent / "flask"

# The concurrency mix, one rotation of 18 requests: what an admin's session sends, roughly
# (the first page most often, some filters and sorts, a few details, the agents filter
# options, the summary panel once). The data does not change during a load run, so the
# summary is the remembered one (after the warm-up), and pgbench runs what the service runs
# for it: the version check.
MIX = ("first_page", "first_page", "first_page", "page_50", "companies_scores_90d",
       "carrier_agents", "sort_rating", "sort_companyId", "sort_reference", "q_search",
       "details_by_id", "details_by_id", "details_by_id", "details_by_id",
       "details_by_ticket", "details_by_ticket", "agents_list", "summary_remembered")


def main(argv=None):
    options = parse_options(argv)
    stages = set(options.only.split(",")) if options.only else set(STAGES)
    unknown = stages - set(STAGES)
    if unknown:
        sys.exit(f"unknown stage(s): {', '.join(sorted(unknown))}; known: {', '.join(STAGES)}")
    iterations = options.iterations or (15 if options.quick else 60)
    load_seconds = options.load_seconds or (10 if options.quick else 30)
    started = time.perf_counter()
    results = previous_results() if options.only else {}
    results.update(run_info(options, iterations))

    if options.recreate:
        results["seed"] = create_seeded(options.database_url, options.ratings)
    elif "seed" in stages:
        try:
            results["seed"] = time_seed(options.database_url, options.ratings)
        except subprocess.CalledProcessError as exc:  # the seed is someone's work in progress
            error = (exc.stderr or exc.stdout or "").strip().splitlines()[-1:] or ["?"]
            results["seed"] = {"ratings": options.ratings, "failed": error[0][:300]}
            say(f"seed failed: {error[0][:300]}")
    migrated = apply_migrations(options.database_url)
    results["run"]["migrations_applied_now"] = migrated

    secret = service.new_secret()
    app = make_app(options.database_url, secret)
    with app.app_context():
        conn = app.extensions["csat_db"].pool("replica").connect()
    # The settings the service sends with every statement (sql/transaction_settings.sql), for
    # the whole session here: without jit=off, PostgreSQL compiles the bigger plans for
    # hundreds of milliseconds, and the SQL side would not be the service's SQL.
    with conn.cursor() as cursor:
        cursor.execute("SET jit = off; SET TimeZone = 'UTC'")
    facts = shape_defs.data_facts(conn)
    results["run"]["ratings"] = facts["ratings"]
    token = service.make_token(secret, facts["admin_id"])
    headers = {"Authorization": "Bearer " + token}
    shapes = shape_defs.build_shapes(facts)
    record_all(app, conn, shapes, headers, stages)

    log_path = HERE / "results" / "gunicorn.log.tmp"
    with service.gunicorn(options.database_url, secret, log_path, options.workers,
                          options.threads) as (host, port, master):
        results["run"]["gunicorn_workers"] = len(service.worker_pids(master))
        client = service.Client(host, port, headers)
        writer_token = service.make_token(secret, facts["admin_id"],
                                          permissions=service.PERMISSIONS + ("csat-add-comments",))
        writer = ingest.Ingest(options.database_url, options.ingest,
                               service.Client(host, port, {"Authorization": "Bearer " + writer_token}))
        writer.__enter__()
        measured = [s for s in shapes if s.group in stages]
        if measured:
            results.setdefault("shapes", {})
            for shape in measured:
                results["shapes"][shape.name] = measure_shape(client, conn, shape, iterations,
                                                              options.warmup)
                say(report.shape_line(shape.name, results["shapes"][shape.name]))
        if "list" in stages:
            results["overhead"] = measure_overhead(client, conn, facts["admin_id"], iterations)
            say(report.overhead_line(results["overhead"]))
        if "concurrency" in stages:
            excluded = [name for name in options.mix_exclude.split(",") if name]
            key = "_".join(["concurrency"] + (["without"] + excluded if excluded else []))
            # Measuring the fresh summary moved the version: record the mix's statements again,
            # so pgbench replays the counts the service now remembers.
            record_all(app, conn, [s for s in shapes if not s.fresh], headers, {"concurrency"})
            results[key] = run_concurrency(options.database_url, host, port, token, shapes, conn,
                                           load_seconds, excluded)
        if "export" in stages:
            results["export"] = run_export(app, options.database_url, host, port, headers,
                                           master, facts)
        if "growth" in stages:
            say("growth (ratings arriving: --ingest %s/s)" % options.ingest)
            results["growth"] = growth.measure(client, facts, say)
        writer.__exit__(None, None, None)
        results["run"]["ingest"] = writer.summary()
        say(f"writer: {results['run']['ingest']}")
    if "growth" in stages:
        bulk = psycopg2.connect(options.database_url)
        results["growth"]["bulk_insert_10k"] = growth.bulk_insert_cost(bulk)
        bulk.close()
        say(f"10,000-rating insert: {results['growth']['bulk_insert_10k']}")
    conn.close()
    results["run"]["duration_s"] = round(time.perf_counter() - started, 1)
    results["targets"] = report.evaluate(results)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if "growth" in stages:  # kept per size, for the 1M vs 10M table
        growth_file = report.growth_results_path(RESULTS.parent, results["run"]["ratings"])
        growth_file.write_text(json.dumps({"run": results["run"], "growth": results["growth"]}, indent=2) + "\n",
                               encoding="utf-8")
    table = report.markdown(results)
    report.update_readme(HERE / "README.md", table)
    print(table)
    print(f"\nwrote {RESULTS.relative_to(ROOT)} and the table in benchmarks/README.md "
          f"({results['run']['duration_s']} s)")


def parse_options(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL),
                        help="the seeded database to reuse (default %(default)s)")
    parser.add_argument("--recreate", action="store_true",
                        help="drop and recreate the database: flask migrate + timed flask seed")
    parser.add_argument("--ratings", type=int, default=1_000_000)
    parser.add_argument("--ingest", type=float, default=1.0,
                        help="ratings a second written during the measured stages (0: none)")
    parser.add_argument("--only", help=f"comma-separated stages of: {','.join(STAGES)}")
    parser.add_argument("--quick", action="store_true",
                        help="15 iterations a shape, 10 s load runs (for iterating)")
    parser.add_argument("--iterations", type=int, help="samples per shape and side (default 60)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per shape")
    parser.add_argument("--load-seconds", type=int, help="seconds per wrk/pgbench run (30)")
    parser.add_argument("--mix-exclude", default="",
                        help="shapes left out of the concurrency mix (a diagnostic, e.g. summary_remembered); "
                             "stored as concurrency_without_<names>")
    parser.add_argument("--workers", type=int, help="GUNICORN_WORKERS (default: production's)")
    parser.add_argument("--threads", type=int, help="GUNICORN_THREADS (default: production's)")
    return parser.parse_args(argv)


def say(text):
    print(text, flush=True)


def previous_results():
    """A subset run updates the last full results rather than erasing the other stages."""
    try:
        return json.loads(RESULTS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def run_info(options, iterations):
    def command(*args):
        try:
            return subprocess.run(args, capture_output=True, text=True, cwd=ROOT).stdout.strip()
        except OSError:
            return None

    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    conn = psycopg2.connect(options.database_url) if database_exists(options.database_url) else None
    server = {}
    if conn:
        with conn.cursor() as cursor:
            cursor.execute("SELECT version(), current_setting('shared_buffers'), "
                           "current_setting('work_mem'), current_setting('jit')")
            version, shared_buffers, work_mem, jit = cursor.fetchone()
        conn.close()
        server = {"version": version.split(" on ")[0], "shared_buffers": shared_buffers,
                  "work_mem": work_mem, "jit": jit}
    return {
        "machine": {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(memory_kb / 2**20, 1),
                    "kernel": platform.release(), "python": platform.python_version(),
                    "postgresql": server},
        "run": {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "commit": command("git", "rev-parse", "--short", "HEAD"),
                "worktree_dirty": bool(command("git", "status", "--porcelain")),
                "database": urlsplit(options.database_url).path.lstrip("/"),
                "iterations": iterations, "load_average_at_start": os.getloadavg(),
                "options": " ".join(sys.argv[1:])},
    }


# -- database ---------------------------------------------------------------------------

def with_database(url, name):
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def admin_execute(url, statement):
    conn = psycopg2.connect(with_database(url, "postgres"))
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(statement)
            return cursor.fetchall() if cursor.description else None
    finally:
        conn.close()


def database_exists(url):
    name = urlsplit(url).path.lstrip("/")
    return bool(admin_execute(url, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"))


def flask(database_url, *args):
    environment = dict(os.environ, DATABASE_URL=database_url, JWT_SECRET_KEY=service.new_secret(),
                       CSAT_ENV="production", FLASK_APP="app")
    return subprocess.run([str(FLASK), *args], cwd=ROOT, env=environment, capture_output=True,
                          text=True, check=True).stdout


def create_seeded(url, ratings):
    """(Re)create `url`'s database: flask migrate, then a timed flask seed."""
    name = urlsplit(url).path.lstrip("/")
    admin_execute(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin_execute(url, f'CREATE DATABASE "{name}"')
    flask(url, "migrate")
    started = time.perf_counter()
    output = flask(url, "seed", "--ratings", str(ratings))
    seconds = time.perf_counter() - started
    say(output.strip().splitlines()[-1])
    return {"ratings": ratings, "wall_s": round(seconds, 1), "flask_output": output.strip().splitlines()[-1],
            "database": name}


def time_seed(url, ratings):
    """The seed's speed, measured on a scratch database so the reused one stays warm."""
    scratch = with_database(url, urlsplit(url).path.lstrip("/") + "_seedtime")
    try:
        result = create_seeded(scratch, ratings)
    finally:
        admin_execute(url, f'DROP DATABASE IF EXISTS "{urlsplit(scratch).path.lstrip("/")}" WITH (FORCE)')
    return result


def apply_migrations(url):
    """Pending migrations, then VACUUM ANALYZE when the visibility map is mostly unset.

    A freshly seeded database has no visibility map (the seed ends with ANALYZE, and this
    server runs with autovacuum off), so every index-only scan would visit the heap: a
    production table that autovacuum keeps up is the steady state measured here.
    """
    from csat.migrations import apply_pending

    conn = psycopg2.connect(url)
    try:
        applied = apply_pending(conn, log=say).applied
        with conn.cursor() as cursor:
            cursor.execute("SELECT relallvisible::float / greatest(relpages, 1) FROM pg_class "
                           "WHERE oid = 'ratings'::regclass")
            visible = cursor.fetchone()[0]
            if visible < 0.9:
                say(f"ratings: {visible:.0%} of pages all-visible; VACUUM ANALYZE")
                cursor.execute("VACUUM ANALYZE")
            elif applied:
                cursor.execute("ANALYZE")
    finally:
        conn.close()
    return applied


def make_app(database_url, secret):
    from app import create_app
    from csat.config import Settings

    return create_app(Settings.from_env(database_url=database_url, database_read_url=None,
                                        jwt_secret_key=secret, environment="production"))


# -- shapes -----------------------------------------------------------------------------

def record_all(app, conn, shapes, headers, stages):
    """Record each needed shape's SQL; a shape whose endpoint fails is reported, not fatal."""
    needed = set(stages) | ({"list", "summary", "details", "agents"} if "concurrency" in stages else set())
    # Fresh shapes move rating_filter_version, which would make the counts recorded with the
    # list shapes stale (and their SQL side recount): record them first.
    for shape in sorted(shapes, key=lambda s: not s.fresh):
        if shape.group not in needed:
            continue
        for path in shape.paths:
            before = (lambda: shape_defs.move_version(conn)) if shape.fresh else None
            status, calls = shape_defs.record_queries(app, path, headers, before)
            if status != 200:
                shape.queries = None
                shape.problem = "missing" if status == 404 else f"answered {status} in-process"
                say(f"{shape.name}: {path} {shape.problem}")
                break
            shape.queries[path] = shape_defs.prepared(calls)


def measure_shape(client, conn, shape, iterations, warmup, budget_seconds=25):
    """HTTP and SQL samples, interleaved so both see the same background load."""
    if shape.queries is None:
        return {"status": shape.problem, "path": shape.paths[0], "note": shape.note,
                "target": {k: v for k, v in vars(shape.target).items() if v is not None}}
    paths = shape.paths
    warm_until = time.monotonic() + 5  # a slow shape (seconds a request) warms up less
    for i in range(warmup * len(paths)):
        path = paths[i % len(paths)]
        if shape.fresh:
            shape_defs.move_version(conn)
        client.get(path)
        run_sql(conn, shape.queries[path])
        if time.monotonic() > warm_until and i >= len(paths):
            break
    http, sql = [], []
    deadline = time.monotonic() + budget_seconds
    for i in range(iterations):
        path = paths[i % len(paths)]
        if shape.fresh:
            shape_defs.move_version(conn)
        elapsed, status, body = client.timed_get(path)
        if status != 200:
            raise RuntimeError(f"{shape.name}: {path} answered {status}: {body[:300]!r}")
        http.append(elapsed)
        sql.append(run_sql(conn, shape.queries[path]))
        if time.monotonic() > deadline and i >= 4:
            break
    plan = explain(conn, shape.queries[paths[0]])
    http.sort()
    sql.sort()
    result = {
        "path": paths[0], "note": shape.note, "samples": len(http), "response_bytes": len(body),
        "http_p50_ms": round(statistics.median(http), 2),
        "http_p95_ms": round(load.percentile(http, 95), 2),
        "sql_p50_ms": round(statistics.median(sql), 2),
        "sql_p95_ms": round(load.percentile(sql, 95), 2),
        **plan,
    }
    result["ratio"] = round(result["http_p50_ms"] / result["sql_p50_ms"], 2)
    result["added_ms"] = round(result["http_p50_ms"] - result["sql_p50_ms"], 2)
    target = shape.target
    result["target"] = {k: v for k, v in vars(target).items() if v is not None}
    return result


def measure_overhead(client, conn, admin_id, iterations):
    """What every authenticated request pays besides its own SQL: the HTTP stack (gunicorn +
    Flask + logging + metrics, measured on GET /healthz) and the auth lookup's round trip.

    Both again right after 25 ms of waiting on the database (`pg_sleep`), as the HTTP side of
    a shape waits while the SQL side runs: with every process asleep, the machine takes
    longer to wake each one in the chain (benchmarks/README.md)."""
    from csat import db

    query = db.load("admin_get")
    lookup = [(query.sql(), query.params({"admin_id": admin_id}))]
    wait = [("SELECT pg_sleep(%s)", (IDLE_WAIT_MS / 1000,))]
    http, sql, http_after_wait, sql_after_wait = [], [], [], []
    for _ in range(iterations):
        http.append(client.timed_get("/healthz")[0])
        sql.append(run_sql(conn, lookup))
        run_sql(conn, wait)
        http_after_wait.append(client.timed_get("/healthz")[0])
        run_sql(conn, wait)
        sql_after_wait.append(run_sql(conn, lookup))
    return {"healthz_http_p50_ms": round(statistics.median(http), 2),
            "admin_get_sql_p50_ms": round(statistics.median(sql), 2),
            "idle_wait_ms": IDLE_WAIT_MS,
            "healthz_http_after_wait_p50_ms": round(statistics.median(http_after_wait), 2),
            "admin_get_sql_after_wait_p50_ms": round(statistics.median(sql_after_wait), 2)}


def run_sql(conn, statements):
    started = time.perf_counter()
    with conn.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            cursor.fetchall()
    return (time.perf_counter() - started) * 1000


def explain(conn, statements, repeat=3):
    """Median planning and execution time (EXPLAIN ANALYZE), summed over the statements."""
    planning, execution = [], []
    for _ in range(repeat):
        plan_ms = exec_ms = 0.0
        with conn.cursor() as cursor:
            for sql, params in statements:
                cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
                plan = cursor.fetchone()[0][0]
                plan_ms += plan["Planning Time"]
                exec_ms += plan["Execution Time"]
        planning.append(plan_ms)
        execution.append(exec_ms)
    return {"plan_ms": round(statistics.median(planning), 2),
            "exec_ms": round(statistics.median(execution), 2)}


# -- concurrency ------------------------------------------------------------------------

def mix(shapes, excluded=()):
    """The rotation's paths (a shape seen again takes its next path) and their statements."""
    by_name = {shape.name: shape for shape in shapes}
    paths, seen, statements = [], {}, {}
    for name in MIX:
        if name in excluded:
            continue
        shape = by_name[name]
        if shape.queries is None:
            continue  # a missing endpoint (summary, while it is being built)
        path = shape.paths[seen.get(name, 0) % len(shape.paths)]
        paths.append(path)
        statements[path] = shape.queries[path]  # by shape: two shapes may share a path
        seen[name] = seen.get(name, 0) + 1
    return paths, statements


def run_concurrency(database_url, host, port, token, shapes, conn, seconds, excluded=()):
    paths, statements = mix(shapes, excluded)
    section = {"mix": paths, "excluded": list(excluded), "seconds": seconds, "wrk": [],
               "pgbench": []}
    wrk = load.ensure_wrk()
    pgbench = load.find_pgbench()
    with tempfile.TemporaryDirectory(prefix="csat-bench-") as workdir:
        if wrk:
            # Unmeasured warm-up: each worker computes what it then remembers (counts of the
            # mix's filters, the summary), as a service that has been up for a while has.
            load.run_wrk(wrk, f"http://{host}:{port}", paths, token, 16, 5, workdir)
            for connections in (16, 64):
                result = load.run_wrk(wrk, f"http://{host}:{port}", paths, token, connections,
                                      seconds, workdir)
                section["wrk"].append(result)
                say(report.load_line("wrk", result))
        else:
            section["wrk_missing"] = "wrk is not installed and could not be installed"
        if pgbench:
            def mogrify(sql, params):
                with conn.cursor() as cursor:
                    return cursor.mogrify(sql, params).decode()

            scripts = load.pgbench_scripts(workdir, statements, paths, mogrify)
            for connections in (16, 64):
                result = load.run_pgbench(pgbench, database_url, scripts, connections, seconds,
                                          workdir)
                section["pgbench"].append(result)
                say(report.load_line("pgbench", result))
    return section


# -- export -----------------------------------------------------------------------------

def run_export(app, database_url, host, port, headers, master, facts):
    from flask import g  # noqa: F401 (the request context below provides it)

    from csat import auth, db
    from csat.exports.copy_rows import ROW_COLUMNS
    from csat.parsing.rating_filters import parse_list_args

    with app.test_request_context("/csat?report=true", headers=headers):
        auth.authenticate()
        args = parse_list_args()
        query = db.load("ratings_export")
        sql = query.sql({**args.identifiers, "row_shape": ROW_COLUMNS})
        params = query.params({**args.params, "row_offset": 0, "row_limit": None,  # all of it
                               "spreadsheet_safe": False})
    with app.app_context():
        conn = app.extensions["csat_db"].pool("replica").connect()
    with conn.cursor() as cursor:
        copy_sql = cursor.mogrify(sql, params).decode()
    conn.close()
    rows = facts["ratings"]
    section = {"rows": rows}
    # Every body against COPY of the same query (text for JSON, CSV otherwise), each run right
    # after its own COPY, EXPORT_REPEATS times in rotation; the medians are reported (on a
    # shared machine one sample of either side can be off by 2x), the RSS growth's worst.
    bodies = (("json", "/csat?report=true", False),
              ("csv", "/csat?report=true&format=csv", True),
              ("csv_raw", "/csat?report=true&format=csv&raw=true", True),
              ("xlsx", "/csat?report=true&format=xlsx", True))
    samples = {name: [] for name, _, _ in bodies}
    for _ in range(EXPORT_REPEATS):
        for name, path, csv in bodies:
            copy_seconds = export_bench.copy_reference(database_url, copy_sql, csv)
            result = export_bench.stream(host, port, path, headers, master)
            result["copy_seconds"] = round(copy_seconds, 3)
            samples[name].append(result)
    for name, _, _ in bodies:
        runs = samples[name]
        result = dict(runs[0])
        result["seconds"] = statistics.median(r["seconds"] for r in runs)
        result["rows_per_s"] = round(rows / result["seconds"])
        result["copy_rows_per_s"] = round(rows / statistics.median(r["copy_seconds"] for r in runs))
        # Each export against the COPY just before it: the two saw the same load.
        result["share_of_copy"] = round(statistics.median(r["copy_seconds"] / r["seconds"]
                                                          for r in runs), 3)
        result["ttfb_ms"] = statistics.median(r["ttfb_ms"] for r in runs)
        result["ttfb_max_ms"] = max(r["ttfb_ms"] for r in runs)
        result["rss_growth_mb"] = max(r["rss_growth_mb"] for r in runs)
        result["runs"] = [{k: r[k] for k in ("seconds", "copy_seconds", "ttfb_ms", "rss_growth_mb")}
                          for r in runs]
        section[name] = result
        say(report.export_line(name, result))
    return section


if __name__ == "__main__":
    main()
