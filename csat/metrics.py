"""Prometheus metrics: requests, exports, connection pools and database errors.

`GET /metrics` answers in Prometheus' text format without a token; keep it off the public
internet (nginx: `location = /metrics { deny all; }`, scrape the service port directly).

Under gunicorn every worker is its own process, so the numbers live in files under
PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py creates one when unset, before the workers
fork) and a scrape, whichever worker answers it, sums all workers' files. Without that
variable (tests, `flask run`) the metrics live in this process's default registry.

Other modules report through these calls:
- `export_finished(rows, seconds, outcome, export_format)` when an export ends (complete,
  disconnected, failed), for each body: json, csv (Excel-ready), csv_raw, xlsx;
- `database_error(kind)` when a request fails on the database ("unavailable": answered
  503; "other": answered 500);
- `request_refused(status)` when gunicorn refuses a request before the app runs.
- `replica_state(reachable, lag_seconds, serving_reads)` after each check of the read
  replica, and `replica_fallback(reason)` for each read sent to the primary instead.
"""

import logging
import os
import threading
import time

from flask import current_app, g, request
from prometheus_client import (REGISTRY, CollectorRegistry, Counter, Gauge,
                               Histogram, generate_latest, multiprocess)

log = logging.getLogger(__name__)

# prometheus_client picks its storage when imported, by this same test.
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

POOL_SAMPLE_SECONDS = 5.0
UNMATCHED_ENDPOINT = "unmatched"  # 404s and 405s: never the raw path, which is unbounded
REFUSED_ENDPOINT = "refused"  # requests gunicorn refused before routing (csat/gunicorn_worker.py)
UNREAD_METHOD = "unread"  # ...whose method may not even have been read
DATABASE_ERROR_KINDS = ("unavailable", "other")
EXPORT_OUTCOMES = ("complete", "disconnected", "failed")
REPLICA_FALLBACK_REASONS = ("unfit", "read_your_writes", "lost", "conflict")
EXPORT_FORMATS = ("json", "csv", "csv_raw", "xlsx")

REQUESTS = Counter(
    "csat_http_requests_total", "HTTP requests answered, by route and status.",
    ["method", "endpoint", "status"])
REQUEST_SECONDS = Histogram(
    "csat_http_request_duration_seconds",
    "Time until the response was ready (for a streamed export: its first batch).",
    ["method", "endpoint", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
EXPORT_ROWS = Counter(
    "csat_export_rows_total", "Rows sent by report=true exports, by body format and how the export ended.",
    ["format", "outcome"])
EXPORT_SECONDS = Histogram(
    "csat_export_duration_seconds", "Length of report=true exports, start to last byte.",
    ["format", "outcome"],
    buckets=(0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0))
POOL_CONNECTIONS = Gauge(
    "csat_db_pool_connections", "Pooled database connections of live workers, by state.",
    ["role", "state"], multiprocess_mode="livesum")
POOL_MAX_CONNECTIONS = Gauge(
    "csat_db_pool_max_connections", "Pool capacity summed over live workers.",
    ["role"], multiprocess_mode="livesum")
ANSWERS = Counter(
    "csat_answers_total",
    "Filtered counts and summaries by how they were had: computed (or counted) from the matching "
    "ratings, updated with the changes since they were remembered, remembered as they were, or "
    "total (no filter: the kept total).",
    ["kind", "how"])
DATABASE_ERRORS = Counter(
    "csat_database_errors_total", "Requests that failed on the database, by kind.", ["kind"])
REPLICA_UP = Gauge(
    "csat_db_replica_up", "1 when every live worker reached the read replica at its last check.",
    multiprocess_mode="livemin")
REPLICA_SERVING_READS = Gauge(
    "csat_db_replica_serving_reads",
    "1 when every live worker sends reads to the replica (reachable, lag within DB_REPLICA_MAX_LAG_MS).",
    multiprocess_mode="livemin")
REPLICA_LAG_SECONDS = Gauge(
    "csat_db_replica_lag_seconds",
    "How long the oldest WAL the replica received has waited to be replayed (max over workers; "
    "-1: unknown).", multiprocess_mode="livemax")
REPLICA_FALLBACKS = Counter(
    "csat_db_replica_fallbacks_total",
    "Reads meant for the replica that went to the primary: unfit (down or lagging), "
    "read_your_writes (the admin's own write not replayed yet), lost (failed mid-request), "
    "conflict (cancelled by the standby's replay).",
    ["reason"])

for _kind in DATABASE_ERROR_KINDS:
    DATABASE_ERRORS.labels(_kind)  # exported as 0 before the first error, so rates work
for _format in EXPORT_FORMATS:
    for _outcome in EXPORT_OUTCOMES:
        EXPORT_ROWS.labels(_format, _outcome)
for _reason in REPLICA_FALLBACK_REASONS:
    REPLICA_FALLBACKS.labels(_reason)

def exposition():
    """Every worker's metrics in Prometheus' text format (GET /metrics: csat/routes/metrics.py)."""
    sample_pools()
    return generate_latest(_registry())


def export_finished(rows, seconds, outcome, export_format):
    """Record one export's end: outcome is "complete", "disconnected" or "failed"."""
    if outcome not in EXPORT_OUTCOMES or export_format not in EXPORT_FORMATS:
        raise ValueError(f"unknown export outcome or format: {outcome!r}, {export_format!r}")
    EXPORT_ROWS.labels(export_format, outcome).inc(rows)
    EXPORT_SECONDS.labels(export_format, outcome).observe(seconds)


def answer_had(kind, how):
    """Record how a count or summary was had (see csat/queries/remembered.py)."""
    ANSWERS.labels(kind, how).inc()


def request_refused(status):
    """Record a request gunicorn refused before the app saw it (400, 414, 431)."""
    REQUESTS.labels(UNREAD_METHOD, REFUSED_ENDPOINT, str(status)).inc()


def database_error(kind):
    """Record a request that failed on the database: kind "unavailable" or "other"."""
    if kind not in DATABASE_ERROR_KINDS:
        raise ValueError(f"database error kind must be one of {DATABASE_ERROR_KINDS}, got {kind!r}")
    DATABASE_ERRORS.labels(kind).inc()


def replica_state(reachable, lag_seconds, serving_reads):
    """Record the read replica's last check (lag_seconds None: unknown)."""
    REPLICA_UP.set(1 if reachable else 0)
    REPLICA_SERVING_READS.set(1 if serving_reads else 0)
    REPLICA_LAG_SECONDS.set(-1 if lag_seconds is None else lag_seconds)


def replica_fallback(reason):
    """Record a read sent to the primary instead of the replica."""
    if reason not in REPLICA_FALLBACK_REASONS:
        raise ValueError(f"replica fallback reason must be one of {REPLICA_FALLBACK_REASONS}, got {reason!r}")
    REPLICA_FALLBACKS.labels(reason).inc()


def sample_pools(database=None):
    """Copy this process's pool counters into the pool gauges."""
    database = database or current_app.extensions["csat_db"]
    roles = ("primary", "replica") if database.has_replica else ("primary",)
    database.replica_monitor()  # started here too, so the replica gauges exist from the first scrape
    for role in roles:
        stats = database.pool(role).stats()
        POOL_CONNECTIONS.labels(role, "in_use").set(stats["in_use"])
        POOL_CONNECTIONS.labels(role, "idle").set(stats["idle"])
        POOL_MAX_CONNECTIONS.labels(role).set(stats["max"])


def _registry():
    if not MULTIPROCESS:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def init_app(app):
    @app.before_request
    def start_clock():
        g.metrics_started = time.perf_counter()
        if MULTIPROCESS:
            _PoolSampler.start_once(app)  # in the worker, once the app is complete

    @app.after_request
    def count_request(response):
        rule = request.url_rule
        labels = (request.method, rule.rule if rule is not None else UNMATCHED_ENDPOINT,
                  str(response.status_code))
        REQUESTS.labels(*labels).inc()
        REQUEST_SECONDS.labels(*labels).observe(
            time.perf_counter() - g.get("metrics_started", time.perf_counter()))
        return response


class _PoolSampler(threading.Thread):
    """Keeps this worker's pool gauges current, whichever worker answers the scrape."""

    _started_in_pid = None
    _lock = threading.Lock()

    def __init__(self, app):
        super().__init__(name="csat-pool-metrics", daemon=True)
        self.app = app

    @classmethod
    def start_once(cls, app):
        if cls._started_in_pid == os.getpid():
            return
        with cls._lock:
            if cls._started_in_pid != os.getpid():
                cls._started_in_pid = os.getpid()
                cls(app).start()

    def run(self):
        while True:
            try:
                sample_pools(self.app.extensions["csat_db"])
            except Exception:  # a gauge left stale must not end the sampling for good
                log.exception("sampling the connection pools failed")
            time.sleep(POOL_SAMPLE_SECONDS)
