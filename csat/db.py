"""The database: query files, the connection pools, and the helpers handlers call.

Query files in sql/ use psql's variables so operators can run them as they are:
``:'name'`` is a parameter (always with an explicit cast) and ``:name`` an identifier such
as a sort column. The loader turns parameters into psycopg2 placeholders and fills
identifiers only from values the caller passes, which must come from a whitelist.
A query file's first line says what it returns, as sqlc and PugSQL headers do
(``-- ratings_page.sql :many — ...``): ``:one`` at most one row (fetch_one), ``:many`` any
number (fetch_all, or the export's stream), ``:none`` no rows (execute). run_on refuses a
call that fetches otherwise, so a caller and its file cannot disagree unnoticed.

Works through PgBouncer in transaction pooling mode, with a stock configuration:
- No session state. Connections send no startup `options` (PgBouncer refuses them) and
  never SET anything for the session (through PgBouncer a server session serves other
  clients between our transactions). The settings the service relies on
  (statement_timeout, TimeZone, jit, idle_in_transaction_session_timeout;
  sql/transaction_settings.sql) are applied LOCAL to each transaction, in the same query
  string as the query itself: PostgreSQL runs a multi-statement string as one implicit
  transaction, so they cost no extra round trip and end with the query.
- Connections are autocommit: every helper runs one query string, its own transaction. The
  one multi-statement transaction, the export, holds its server connection from BEGIN to
  ROLLBACK, which transaction pooling guarantees (csat/exports/engine.py).
- No server-side prepared statements: psycopg2 sends each query as text with its values
  filled in, so there is no plan cache a pooled session could lose. Export slots are
  transaction-level advisory locks, released by the transaction that took them.

A connection that dropped (a PostgreSQL restart, pg_terminate_backend, PgBouncer closing
it) is discarded with every idle sibling, and the statement is retried once on a fresh
connection, so a restart costs no request when the retry succeeds.

Reads meant for the replica (role "replica", DATABASE_READ_URL) go to the primary instead
when the replica is down or lags more than DB_REPLICA_MAX_LAG_MS (csat/replica.py), when
the request's admin wrote something the replica has not replayed yet (read-your-writes:
`read_after`, called with the position sql/admin_get.sql returns), or when the replica
fails mid-request.
"""

import collections
import logging
import os
import re
import threading
import time
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import psycopg2
import psycopg2.errors
import psycopg2.extensions
from flask import current_app, g

from csat import metrics, replica
from csat.db_failures import is_disconnect
from csat.errors import ServiceUnavailable

log = logging.getLogger(__name__)

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"

_PARAMETER = re.compile(r"(?<![:\w]):'(\w+)'")
_IDENTIFIER = re.compile(r"(?<![:\w]):(\w+)\b")
# An export whose client stops reading for this long gives its connection back.
IDLE_IN_TRANSACTION_TIMEOUT_MS = 60000
# A replica that takes longer than this to say how far it got is not fit to serve reads.
REPLICA_CHECK_TIMEOUT_MS = 1000

_RETURNS = re.compile(r"^-- \S+\.sql :(one|many|none) — ")
# What each fetch of run_on reads, as a query file's header says it.
_FETCH_RETURNS = {"one": "one", "all": "many", "table": "many", "rowcount": "none"}

# Identifiers: a (qualified) name, a sort direction, all of a relation's columns (`e.*`), or a
# function of a relation's row, optionally cast (`to_json(e::csat_export_row)`).
_SAFE_IDENTIFIER = re.compile(r"^[A-Za-z_][\w.]*$|^(ASC|DESC)( NULLS (FIRST|LAST))?$"
                              r"|^[A-Za-z_]\w*\.\*$|^[A-Za-z_]\w*\([A-Za-z_]\w*(::[A-Za-z_]\w*)?\)$")
_MAX_TEXTS_PER_QUERY = 64


class Table(NamedTuple):
    """Rows as tuples, and the column names (fetch_table)."""

    columns: list
    rows: list

    def column(self, name):
        return self.columns.index(name)

    def first_row(self):
        """The first row as a dict, None when there is none."""
        return dict(zip(self.columns, self.rows[0])) if self.rows else None


class PoolExhausted(Exception):
    """No connection became free within the pool timeout."""


class SqlQuery:
    """One query file, ready for psycopg2."""

    def __init__(self, name, text):
        self.name = name
        returns = _RETURNS.match(text)
        # one, many or none (the header's); None for the seed's files, which have no such line.
        self.returns = returns.group(1) if returns else None
        body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
        body = body.replace("%", "%%")
        self.parameters = tuple(dict.fromkeys(_PARAMETER.findall(body)))
        body = _PARAMETER.sub(r"%(\1)s", body)
        self.identifiers = tuple(dict.fromkeys(_IDENTIFIER.findall(body)))
        self._template = body.strip().rstrip(";")
        # Identifiers come from whitelists, so there are few texts per file; filling one in
        # is a regular expression over the whole file, which a list page would redo each time.
        self._texts = {}

    def sql(self, identifiers=None):
        key = tuple(identifiers.items()) if identifiers else ()
        text = self._texts.get(key)
        if text is None:
            text = self._filled(dict(key))
            if len(self._texts) < _MAX_TEXTS_PER_QUERY:
                self._texts[key] = text
        return text

    def _filled(self, identifiers):
        missing = set(self.identifiers) - set(identifiers)
        if missing:
            raise ValueError(f"{self.name}: identifiers not given: {sorted(missing)}")
        for value in identifiers.values():
            if not _SAFE_IDENTIFIER.match(value):
                raise ValueError(f"{self.name}: refusing identifier {value!r}")
        return _IDENTIFIER.sub(lambda m: identifiers[m.group(1)], self._template)

    def params(self, values):
        """The statement's parameters, converted the way psql would see them."""
        missing = set(self.parameters) - set(values)
        if missing:
            raise ValueError(f"{self.name}: parameters not given: {sorted(missing)}")
        return {name: to_sql_text(values[name]) for name in self.parameters}


@lru_cache(maxsize=None)
def load(name):
    """sql/<name>.sql as an SqlQuery (cached for the process's lifetime)."""
    path = SQL_DIR / f"{name}.sql"
    return SqlQuery(name, path.read_text(encoding="utf-8"))


def to_sql_text(value):
    """A Python value as the text psql would substitute for -v name=value.

    Query files cast every parameter (``NULLIF(:'ids', '')::bigint[]``), so lists become
    array literals and None an empty string, exactly what an operator types in psql.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "{" + ",".join(_array_element(v) for v in value) + "}"
    return str(value)


def _array_element(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


class ConnectionPool:
    """A bounded pool that waits briefly for a free connection and never lends a dead one.

    psycopg2's own pools raise at once when exhausted and hand out connections that died
    while idle; this one waits up to ``timeout`` seconds and replaces broken connections.
    Connections open when a request first needs one and are kept, never closed for idling,
    so there is no minimum to keep open: connections opened in advance would only spare a
    worker's first requests their connect, at the price of a start that waits on the database.
    """

    def __init__(self, dsn, *, role, max_size, timeout, connect_timeout):
        self.dsn = dsn
        self.role = role
        self.max_size = max_size
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.pid = os.getpid()
        self._slots = threading.BoundedSemaphore(max_size)
        self._idle = collections.deque()
        self._lock = threading.Lock()
        self._in_use = 0

    def stats(self):
        with self._lock:
            return {"in_use": self._in_use, "idle": len(self._idle), "max": self.max_size}

    def connect(self):
        return new_connection(self.dsn, self.connect_timeout)

    def getconn(self):
        if not self._slots.acquire(timeout=self.timeout):
            raise PoolExhausted(f"no free connection within {self.timeout}s")
        try:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
                self._in_use += 1
            return conn if conn is not None and not conn.closed else self.connect()
        except BaseException:
            self._give_back_slot()
            raise

    def putconn(self, conn, *, discard=False):
        try:
            if not discard and not conn.closed:
                if conn.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
                    conn.rollback()
                conn.autocommit = True
                with self._lock:
                    self._idle.append(conn)
            else:
                conn.close()
        except psycopg2.Error:
            conn.close()
        finally:
            self._give_back_slot()

    def discard_idle(self):
        """Close every idle connection: after one died, its siblings most likely did too."""
        with self._lock:
            stale, self._idle = list(self._idle), collections.deque()
        for conn in stale:
            conn.close()

    def close(self):
        self.discard_idle()

    def _give_back_slot(self):
        with self._lock:
            self._in_use -= 1
        self._slots.release()


def new_connection(dsn, connect_timeout):
    """An autocommit connection with no startup options (see the module docstring)."""
    conn = psycopg2.connect(dsn, connect_timeout=connect_timeout, application_name="csat-service")
    conn.autocommit = True
    return conn


class Database:
    """The pools (and replica monitor) of one process: created on first use after gunicorn forks."""

    def __init__(self, settings):
        self.settings = settings
        self._pools = {}
        self._monitor = None
        self._lock = threading.Lock()

    @property
    def has_replica(self):
        read_url = self.settings.database_read_url
        return bool(read_url) and read_url != self.settings.database_url

    def pool(self, role="primary"):
        """The pool of role "primary" (writes) or "replica" (DATABASE_READ_URL, else the
        primary's), whatever the replica's state: reads pick theirs with read_pool()."""
        url = self.settings.database_url
        if role == "replica" and self.has_replica:
            url = self.settings.database_read_url
        else:
            role = "primary"
        pool = self._pools.get(url)
        if pool is None or pool.pid != os.getpid():
            with self._lock:
                pool = self._pools.get(url)
                if pool is None or pool.pid != os.getpid():
                    pool = ConnectionPool(
                        url,
                        role=role,
                        max_size=self.settings.pool_max_size,
                        timeout=self.settings.pool_timeout_seconds,
                        connect_timeout=self.settings.connect_timeout_seconds,
                    )
                    self._pools[url] = pool
        return pool

    def replica_monitor(self):
        """This process's replica monitor (started on first use), None without a replica."""
        if not self.has_replica:
            return None
        monitor = self._monitor
        if monitor is None or monitor.pid != os.getpid():
            with self._lock:
                monitor = self._monitor
                if monitor is None or monitor.pid != os.getpid():
                    monitor = replica.ReplicaMonitor(
                        lambda: new_connection(self.settings.database_read_url,
                                               self.settings.connect_timeout_seconds),
                        self._replica_status,
                        check_seconds=self.settings.replica_check_seconds,
                        max_lag_ms=self.settings.replica_max_lag_ms,
                    )
                    monitor.start()
                    self._monitor = monitor
        return monitor

    def read_pool(self, read_position=None):
        """The pool a read should use now: the replica's when it is fit and, for an admin who
        wrote (read_position: (WAL position, age in ms)), has replayed their write."""
        monitor = self.replica_monitor()
        if monitor is None:
            return self.pool("primary")
        state = monitor.state
        if not state.serving_reads:
            metrics.replica_fallback("unfit")
            return self.pool("primary")
        if read_position is not None and not _shows_write(state, read_position,
                                                          self.settings.replica_max_lag_ms):
            metrics.replica_fallback("read_your_writes")
            return self.pool("primary")
        return self.pool("replica")

    def replica_lost(self, exc):
        """A read could not reach the replica: the primary serves reads until the next check."""
        monitor = self.replica_monitor()
        if monitor is not None:
            monitor.mark_unreachable(str(exc).strip() or type(exc).__name__)
            metrics.replica_fallback("lost")

    def _replica_status(self, conn):
        return run_on(conn, "replica_status", fetch="one",
                      statement_timeout_ms=REPLICA_CHECK_TIMEOUT_MS)

    def close(self):
        monitor, self._monitor = self._monitor, None
        if monitor is not None and monitor.pid == os.getpid():
            monitor.stop()
        for pool in self._pools.values():
            pool.close()


def _shows_write(state, read_position, max_lag_ms):
    """Whether the replica shows a write that ended at read_position = (position, age_ms)."""
    position, age_ms = read_position
    if state.replay_position is not None:
        return state.replay_position >= position
    # Not a standby: positions cannot be compared; a replica fit to serve lags less than
    # max_lag_ms, so a write older than that has reached it.
    return age_ms > max_lag_ms


def database():
    return current_app.extensions["csat_db"]


def read_after(position, age_ms):
    """This request's admin wrote at WAL `position`, `age_ms` ago: their replica reads must
    show it (sql/admin_get.sql's read_position). None: they never wrote."""
    if position is not None:
        g.csat_read_position = (position, age_ms)


def record_read_position(admin_id):
    """After the admin's write committed: their next reads wait for a replica that shows it.

    The write stands even when this fails; the admin may then read the replica's older view.
    """
    if not database().has_replica:
        return
    try:
        fetch_one("admin_read_position_record", {"admin_id": admin_id})
    except (psycopg2.Error, ServiceUnavailable) as exc:
        log.warning("could not record admin %s's read position: %s", admin_id, str(exc).strip())


def replica_state_now():
    """The read replica's state, checked now (csat/replica.py); None without a replica."""
    monitor = database().replica_monitor()
    return None if monitor is None else monitor.check_now()


def read_pool():
    """The pool this request's reads use now (see Database.read_pool)."""
    return database().read_pool(g.get("csat_read_position"))


@contextmanager
def connection(role="primary", pool=None):
    """A pooled connection for the duration of the block; 503 when none can be had."""
    pool = pool or database().pool(role)
    try:
        conn = pool.getconn()
    except PoolExhausted as exc:
        metrics.database_error("unavailable")
        log.warning("connection pool exhausted: %s", exc)
        raise ServiceUnavailable("The service is busy, try again shortly") from exc
    discard = False
    try:
        yield conn
    except psycopg2.Error as exc:
        discard = is_disconnect(exc)
        if discard:
            pool.discard_idle()
        raise
    finally:
        pool.putconn(conn, discard=discard or bool(conn.closed))


def run(name, params=None, *, identifiers=None, role="primary", fetch="all", statement_timeout_ms=None):
    """Run sql/<name>.sql once, with the service's settings in the same round trip.

    statement_timeout_ms replaces DB_STATEMENT_TIMEOUT_MS for this statement only (the
    summary's first computation of a filter: csat/queries/summary.py).

    A connection the database dropped is replaced and the statement retried once; a read
    meant for the replica that cannot reach it is retried on the primary.
    """
    data = database()
    pool = read_pool() if role == "replica" else data.pool("primary")
    retried = False
    while True:
        started = time.perf_counter()
        try:
            with connection(pool=pool) as conn:
                result = run_on(conn, name, params, identifiers=identifiers, fetch=fetch,
                                statement_timeout_ms=statement_timeout_ms or data.settings.statement_timeout_ms)
        except psycopg2.Error as exc:
            if pool.role == "replica" and isinstance(exc, psycopg2.errors.SerializationFailure):
                # A standby cancels queries in the way of replay (a recovery conflict).
                log.warning("%s: cancelled on the replica (%s); reading the primary", name,
                            str(exc).strip())
                metrics.replica_fallback("conflict")
                pool = data.pool("primary")
                continue
            if is_disconnect(exc):
                if pool.role == "replica":
                    data.replica_lost(exc)
                    pool = data.pool("primary")
                    continue
                if not retried:
                    retried = True
                    log.warning("%s: connection lost (%s); retrying on a new connection",
                                name, str(exc).strip())
                    continue
            raise
        log.debug("%s took %.1f ms", name, (time.perf_counter() - started) * 1000)
        return result


def run_on(conn, name, params=None, *, identifiers=None, fetch="all", statement_timeout_ms=None, mark=""):
    """Run sql/<name>.sql on `conn`; with statement_timeout_ms, sql/transaction_settings.sql
    goes first in the same query string (one round trip; its values end with the transaction).
    mark: a comment put before it all, which pg_stat_activity shows (the export's)."""
    query = load(name)
    if query.returns != _FETCH_RETURNS[fetch]:
        raise ValueError(f"{name}.sql returns :{query.returns}, not what fetch={fetch!r} reads")
    sql, values = query.sql(identifiers), query.params(params or {})
    if statement_timeout_ms is not None:
        sql, values = with_transaction_settings(sql, values, statement_timeout_ms)
    sql = mark + sql
    with conn.cursor() as cursor:
        cursor.execute(sql, values)
        if fetch == "one":
            row = cursor.fetchone()
            return None if row is None else dict(zip(_column_names(cursor), row))
        if fetch == "all":
            names = _column_names(cursor)
            return [dict(zip(names, row)) for row in cursor.fetchall()]
        if fetch == "table":
            return Table(_column_names(cursor), cursor.fetchall())
        return cursor.rowcount


def with_transaction_settings(sql, values, statement_timeout_ms):
    """(sql/transaction_settings.sql; sql, values for both) as one query string."""
    settings = load("transaction_settings")
    clash = set(settings.parameters) & set(values)
    if clash:
        raise ValueError(f"parameters clash with transaction_settings.sql: {sorted(clash)}")
    setting_values = settings.params({
        "statement_timeout_ms": statement_timeout_ms,
        "idle_in_transaction_timeout_ms": IDLE_IN_TRANSACTION_TIMEOUT_MS,
    })
    return f"{settings.sql()};\n{sql}", {**setting_values, **values}


def _column_names(cursor):
    """Rows become plain dicts built with zip: RealDictCursor sets one key at a time, a
    noticeable share of a list page's time (benchmarks/README.md)."""
    return [column.name for column in cursor.description]


def fetch_one(name, params=None, **options):
    return run(name, params, fetch="one", **options)


def fetch_all(name, params=None, **options):
    return run(name, params, fetch="all", **options)


def fetch_table(name, params=None, **options):
    """The rows as tuples with their column names, for a caller that shapes many rows once
    (a list page) instead of building a dict per row here and another one there."""
    return run(name, params, fetch="table", **options)


def execute(name, params=None, **options):
    """Run a statement for its effect; returns the affected row count."""
    return run(name, params, fetch="rowcount", **options)


def init_app(app):
    app.extensions["csat_db"] = Database(app.config["CSAT"])
