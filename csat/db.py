"""The database: query files, the connection pool, and the helpers handlers call.

Query files in sql/ use psql's variables so operators can run them as they are:
``:'name'`` is a parameter (always with an explicit cast) and ``:name`` an identifier such
as a sort column. The loader turns parameters into psycopg2 placeholders and fills
identifiers only from values the caller passes, which must come from a whitelist.

Connections are autocommit: every helper runs one statement, which is its own
transaction. A connection that PostgreSQL dropped (a restart, pg_terminate_backend) is
discarded with every idle sibling opened before it, and the statement is retried once on a
fresh connection, so a restart costs no request at all when the retry succeeds.
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

import psycopg2
import psycopg2.errors
import psycopg2.extensions
from flask import current_app

from csat import metrics
from csat.errors import ServiceUnavailable

log = logging.getLogger(__name__)

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"

_PARAMETER = re.compile(r"(?<![:\w]):'(\w+)'")
_IDENTIFIER = re.compile(r"(?<![:\w]):(\w+)\b")
_SAFE_IDENTIFIER = re.compile(r"^[A-Za-z_][\w.]*$|^(ASC|DESC)( NULLS (FIRST|LAST))?$")


class PoolExhausted(Exception):
    """No connection became free within the pool timeout."""


class SqlQuery:
    """One query file, ready for psycopg2."""

    def __init__(self, name, text):
        self.name = name
        body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
        body = body.replace("%", "%%")
        self.parameters = tuple(dict.fromkeys(_PARAMETER.findall(body)))
        body = _PARAMETER.sub(r"%(\1)s", body)
        self.identifiers = tuple(dict.fromkeys(_IDENTIFIER.findall(body)))
        self._template = body.strip().rstrip(";")

    def sql(self, identifiers=None):
        identifiers = identifiers or {}
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


def is_disconnect(exc):
    """The connection itself is gone (as opposed to a failing statement)."""
    if isinstance(exc, psycopg2.InterfaceError):
        return True
    if isinstance(exc, psycopg2.OperationalError) and not isinstance(exc, psycopg2.errors.QueryCanceled):
        return getattr(exc, "pgcode", None) is None or exc.pgcode.startswith(("08", "57P"))
    return False


def is_unavailable(exc):
    """Failures that mean "the database can't serve us now": answer 503, never 409/500."""
    return (
        is_disconnect(exc)
        or isinstance(exc, (psycopg2.errors.QueryCanceled, psycopg2.errors.LockNotAvailable,
                            psycopg2.errors.TooManyConnections, psycopg2.errors.CannotConnectNow))
        or (isinstance(exc, psycopg2.OperationalError) and getattr(exc, "pgcode", None) is None)
    )


class ConnectionPool:
    """A bounded pool that waits briefly for a free connection and never lends a dead one.

    psycopg2's own pools raise at once when exhausted and hand out connections that died
    while idle; this one waits up to ``timeout`` seconds and replaces broken connections.
    """

    def __init__(self, dsn, *, min_size, max_size, timeout, statement_timeout_ms):
        self.dsn = dsn
        self.max_size = max_size
        self.min_size = min_size
        self.timeout = timeout
        self.statement_timeout_ms = statement_timeout_ms
        self.pid = os.getpid()
        self._slots = threading.BoundedSemaphore(max_size)
        self._idle = collections.deque()
        self._lock = threading.Lock()
        self._in_use = 0

    def stats(self):
        with self._lock:
            return {"in_use": self._in_use, "idle": len(self._idle), "max": self.max_size}

    def connect(self, **options):
        timeout = options.pop("statement_timeout_ms", self.statement_timeout_ms)
        conn = psycopg2.connect(
            self.dsn,
            connect_timeout=max(1, int(self.timeout)),
            application_name="csat-service",
            # JIT compiles for 100+ ms to save a few on queries that take milliseconds.
            options=f"-c statement_timeout={timeout} -c TimeZone=UTC -c jit=off "
                    f"-c idle_in_transaction_session_timeout=60000",
            **options,
        )
        conn.autocommit = True
        return conn

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


class Database:
    """The pools of one process: created on first use after gunicorn forks."""

    def __init__(self, settings):
        self.settings = settings
        self._pools = {}
        self._lock = threading.Lock()

    def pool(self, role="primary"):
        """role: "primary" for writes, "replica" for reads (the primary unless configured)."""
        url = self.settings.database_url
        if role == "replica" and self.settings.database_read_url:
            url = self.settings.database_read_url
        pool = self._pools.get(url)
        if pool is None or pool.pid != os.getpid():
            with self._lock:
                pool = self._pools.get(url)
                if pool is None or pool.pid != os.getpid():
                    pool = ConnectionPool(
                        url,
                        min_size=self.settings.pool_min_size,
                        max_size=self.settings.pool_max_size,
                        timeout=self.settings.pool_timeout_seconds,
                        statement_timeout_ms=self.settings.statement_timeout_ms,
                    )
                    self._pools[url] = pool
        return pool

    def close(self):
        for pool in self._pools.values():
            pool.close()


def database():
    return current_app.extensions["csat_db"]


@contextmanager
def connection(role="primary"):
    """A pooled connection for the duration of the block; 503 when none can be had."""
    pool = database().pool(role)
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
    """Run sql/<name>.sql once (retrying once on a connection PostgreSQL had dropped).

    statement_timeout_ms replaces the connection's statement timeout for this statement only:
    set_config(..., true) in the same implicit transaction, which ends with it.
    """
    query = load(name)
    sql = query.sql(identifiers)
    if statement_timeout_ms is not None:
        sql = f"SELECT set_config('statement_timeout', '{int(statement_timeout_ms)}', true);\n{sql}"
    values = query.params(params or {})
    for attempt in (1, 2):
        started = time.perf_counter()
        try:
            with connection(role) as conn:
                with conn.cursor() as cursor:
                    cursor.execute(sql, values)
                    if fetch == "one":
                        row = cursor.fetchone()
                        result = None if row is None else dict(zip(_column_names(cursor), row))
                    elif fetch == "all":
                        names = _column_names(cursor)
                        result = [dict(zip(names, row)) for row in cursor.fetchall()]
                    else:
                        result = cursor.rowcount
        except psycopg2.Error as exc:
            if attempt == 1 and is_disconnect(exc):
                log.warning("%s: connection lost (%s); retrying on a new connection",
                            name, str(exc).strip())
                continue
            raise
        log.debug("%s took %.1f ms", name, (time.perf_counter() - started) * 1000)
        return result


def _column_names(cursor):
    """Rows become plain dicts built with zip: RealDictCursor sets one key at a time, which
    took 7 ms of a 100-row list page."""
    return [column.name for column in cursor.description]


def fetch_one(name, params=None, **options):
    return run(name, params, fetch="one", **options)


def fetch_all(name, params=None, **options):
    return run(name, params, fetch="all", **options)


def execute(name, params=None, **options):
    """Run a statement for its effect; returns the affected row count."""
    return run(name, params, fetch="rowcount", **options)


def init_app(app):
    app.extensions["csat_db"] = Database(app.config["CSAT"])
