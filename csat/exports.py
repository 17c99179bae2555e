"""Report mode (GET /csat?report=true): every rating the list's filters match, streamed.

The list view parses the request (rating_filters.parse_list_args) and hands the result to
`export_ratings`, so an export has exactly the list's validation, filters and sort; the
rows are sql/ratings_export.sql, the list row without paging.

Formats (`format=json`, the default, or `format=csv`):
- JSON: `application/json`, chunked; each batch of up to 1000 rows is ONE JSON array of
  row objects (the list's keys, in the list's order) on its own line, so a client can
  parse line by line or array by array. An export that matches nothing is the single
  line `[]`, so every successful export has at least one line.
- CSV: `text/csv; charset=utf-8` (no byte-order mark), RFC 4180: a header row with the
  same names as the JSON keys, CRLF line ends, fields quoted only when they hold a comma,
  quote or line break; NULL is an empty field. Values are written exactly as stored: a
  comment that starts with "=" stays a formula for spreadsheets that evaluate it.
- Both: `Content-Disposition: attachment; filename="csat-ratings_<startDate|all>_<endDate
  |all>.csv"` (`.jsonl` for JSON: every line is one JSON value, the whole body is not),
  `X-Accel-Buffering: no` (nginx passes each batch on at once), `Cache-Control: no-store`.

Life of an export:
1. Before any byte is sent: take a pooled connection, begin a read-only repeatable-read
   transaction (one snapshot for the whole export), claim one of the admin's export slots
   (advisory locks, sql/export_slot_claim.sql: 429 when all are taken, across all workers),
   apply the export's settings, declare a named cursor and fetch the first batch. Every
   failure up to here is an ordinary Boom error (429, 503 with Retry-After, ...).
2. The response body owns the connection from then on (Flask tears the request down
   before a streamed body is sent): it fetches 1000 rows at a time, so memory stays flat.
3. It ends one of three ways, each rolling back (which closes the cursor and frees the
   slot), restoring the connection's autocommit and returning it to the pool (discarding
   it when broken), then logging one `csat.exports` line with rows_streamed and duration:
   complete; disconnected (the server calls the body's close(), e.g. the client went
   away); failed (a database error after the first byte: the exception propagates so
   the server drops the connection without the final empty chunk, and the client sees a
   truncated response, never a clean end).
"""

import csv
import io
import logging
import time

import orjson
import psycopg2
import psycopg2.extensions
from flask import Response, current_app, g

from csat import db
from csat.auth import current_admin
from csat.errors import ServiceUnavailable, TooManyRequests

log = logging.getLogger(__name__)

BATCH_ROWS = 1000
CURSOR_NAME = "csat_export"


def export_ratings(list_args) -> Response:
    """The streamed export of every rating matching `list_args` (see the module docstring)."""
    settings = current_app.config["CSAT"]
    export = RatingExport(db.database().pool("replica"), settings, current_admin().id,
                          request_id=g.get("request_id"))
    export.start(list_args.params, list_args.identifiers)
    encoder = CsvEncoder(export.columns) if list_args.format == "csv" else JsonEncoder(export.columns)
    return Response(
        ExportBody(export, encoder),
        content_type=encoder.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{export_filename(list_args.params, encoder.extension)}"',
            "X-Accel-Buffering": "no",
            "Cache-Control": "no-store",
        },
    )


def export_filename(params, extension):
    """csat-ratings_<startDate or all>_<endDate or all>.<extension> (dates are validated days)."""
    start, end = params.get("start_date"), params.get("end_date")
    return f"csat-ratings_{start or 'all'}_{end or 'all'}.{extension}"


class RatingExport:
    """One export's transaction, cursor and pooled connection, from start() to finish()."""

    def __init__(self, pool, settings, admin_id, *, request_id=None):
        self.pool = pool
        self.settings = settings
        self.admin_id = admin_id
        self.request_id = request_id
        self.columns = ()
        self.first_batch = []
        self.rows_streamed = 0
        self._conn = None
        self._cursor = None
        self._started = time.perf_counter()
        self._outcome = None

    def start(self, params, identifiers):
        """Claim a slot, open the cursor and fetch the first batch: errors here are Boom errors.

        A connection PostgreSQL dropped while it sat in the pool fails on its first
        statement; it is discarded with its idle siblings and the start retried once.
        """
        query = db.load("ratings_export")
        sql, values = query.sql(identifiers), query.params(params)
        for attempt in (1, 2):
            try:
                self._open_transaction()
                self._claim_slot()
                self._run("export_session_setup",
                          {"statement_timeout_ms": self.settings.export_statement_timeout_ms})
                self._cursor = self._conn.cursor(name=CURSOR_NAME, scrollable=False)
                self._cursor.execute(sql, values)
                self.first_batch = self._cursor.fetchmany(BATCH_ROWS)
                self.columns = tuple(column.name for column in self._cursor.description)
                return
            except psycopg2.Error as exc:
                self._release()
                if attempt == 1 and db.is_disconnect(exc):
                    log.warning("export: connection lost (%s); retrying on a new connection",
                                str(exc).strip())
                    continue
                raise
            except BaseException:
                self._release()
                raise

    def next_batch(self):
        return self._cursor.fetchmany(BATCH_ROWS)

    def finish(self, outcome):
        """End the export (once): give the connection back, then log how it ended."""
        if self._outcome is not None:
            return
        self._outcome = outcome
        self._release()
        duration_ms = round((time.perf_counter() - self._started) * 1000, 2)
        log.log(
            logging.ERROR if outcome == "failed" else logging.INFO,
            "export %s: %d rows in %.0f ms", outcome, self.rows_streamed, duration_ms,
            exc_info=outcome == "failed",
            extra={"request_id": self.request_id, "admin_id": self.admin_id,
                   "rows_streamed": self.rows_streamed, "duration_ms": duration_ms,
                   "outcome": outcome},
        )

    def _open_transaction(self):
        try:
            self._conn = self.pool.getconn()
        except db.PoolExhausted as exc:
            log.warning("connection pool exhausted: %s", exc)
            raise ServiceUnavailable("The service is busy, try again shortly") from exc
        # The pool lends autocommit connections; a named cursor needs a transaction, and the
        # characteristics below are sent with its BEGIN (not SET), so they end with it.
        self._conn.autocommit = False
        self._conn.set_session(isolation_level=psycopg2.extensions.ISOLATION_LEVEL_REPEATABLE_READ,
                               readonly=True)

    def _claim_slot(self):
        limit = self.settings.max_exports_per_admin
        if self._run("export_slot_claim", {"admin_id": self.admin_id, "max_exports": limit})[0] is None:
            raise TooManyRequests(
                f"At most {limit} exports may run at once per admin; wait for one to finish",
                headers={"Retry-After": str(self.settings.retry_after_seconds)})

    def _run(self, name, params):
        query = db.load(name)
        with self._conn.cursor() as cursor:
            cursor.execute(query.sql(), query.params(params))
            return cursor.fetchone()

    def _release(self):
        """Roll back (closing the cursor, freeing the slot) and return the connection."""
        conn, cursor, self._conn, self._cursor = self._conn, self._cursor, None, None
        if conn is None:
            return
        discard = bool(conn.closed)
        try:
            if not discard:
                if cursor is not None and (conn.info.transaction_status
                                           == psycopg2.extensions.TRANSACTION_STATUS_INTRANS):
                    cursor.close()
                conn.rollback()
                conn.set_session(isolation_level="DEFAULT", readonly="DEFAULT")
                conn.autocommit = True
        except psycopg2.Error:
            discard = True
        if discard:
            self.pool.discard_idle()  # siblings opened before a dropped one are likely dead too
        self.pool.putconn(conn, discard=discard)


class ExportBody:
    """The response body: streams the export's batches and ends it however the stream ends.

    A WSGI server calls close() after the last chunk, after a failed write (the client went
    away) or instead of iterating at all; close() is what guarantees the connection is
    returned even when iteration never started.
    """

    def __init__(self, export, encoder):
        self.export = export
        self.encoder = encoder
        self._chunks = None

    def __iter__(self):
        self._chunks = self._generate()
        return self._chunks

    def _generate(self):
        export, encoder = self.export, self.encoder
        try:
            rows = export.first_batch
            chunk = encoder.header() + encoder.batch(rows)
            while True:
                yield chunk
                export.rows_streamed += len(rows)
                if len(rows) < BATCH_ROWS:  # a short batch is the last one
                    break
                rows = export.next_batch()
                if not rows:
                    break
                chunk = encoder.batch(rows)
        except GeneratorExit:
            raise
        except Exception:
            export.finish("failed")
            raise  # after the first byte, only an aborted connection tells the client
        export.finish("complete")

    def close(self):
        if self._chunks is not None:
            self._chunks.close()
        self.export.finish("disconnected")  # a no-op when the stream already ended


class JsonEncoder:
    """Each batch as one JSON array of row objects on its own line."""

    content_type = "application/json"
    extension = "jsonl"

    def __init__(self, columns):
        self.columns = columns

    def header(self):
        return b""

    def batch(self, rows):
        columns = self.columns
        return orjson.dumps([dict(zip(columns, row)) for row in rows], option=orjson.OPT_APPEND_NEWLINE)


class CsvEncoder:
    """RFC 4180 CSV: a header row, then each batch's rows."""

    content_type = "text/csv; charset=utf-8"
    extension = "csv"

    def __init__(self, columns):
        self.columns = columns
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")

    def header(self):
        return self._encode([self.columns])

    def batch(self, rows):
        return self._encode(rows)

    def _encode(self, rows):
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.writerows(rows)
        return self._buffer.getvalue().encode("utf-8")
