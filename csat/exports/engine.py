"""Report mode (GET /csat?report=true): every rating the list's filters match, streamed.

The list view parses the request (csat/parsing/rating_filters.py) and hands the result to
`export_ratings`, so an export has exactly the list's validation, filters and sort; the
rows are sql/ratings_export.sql, the list row without paging. The bodies, one module each:
csat/exports/json.py (the default), csv.py (Excel-ready, or raw) and xlsx.py. Every body
alike carries `Content-Disposition: attachment; filename="csat-ratings_<startDate|all>_
<endDate|all>.<jsonl|csv|xlsx>"` (`.jsonl`: every line is one JSON value, the whole body is
not), `X-Accel-Buffering: no` (nginx passes each chunk on at once) and `Cache-Control:
no-store`.

Where the rows come from (one read-only repeatable-read transaction: one snapshot), in two
statements of sql/ratings_export.sql, every body alike: the first 1000 rows (row_limit
1000), planned for a fast start by their LIMIT, so the first byte leaves at once; then the
rest (row_offset 1000, no limit), planned as a whole read: parallel hash joins and one sort,
the plan psql's COPY of the same query uses, which outruns walking the sort's index. The
first batch of the rest waits for that sort, while the client already has the first chunk.
- Every body is a COPY of the export query, the very statement the export's speed is
  judged against, so Python never touches a value (csat/exports/copy_rows.py). The design
  card asks for batches from a server-side cursor: COPY ... TO STDOUT is that cursor's
  streaming form (the server runs the query's portal and sends rows as they come; nothing
  is materialised on either side), and unlike DECLARE CURSOR it may use a parallel plan,
  which PostgreSQL never gives a declared cursor. A DECLAREd cursor fetched 1000 rows at a
  time was measured well below the COPY, even with PostgreSQL writing each row's JSON
  (benchmarks/README.md, "Why it is built this way: measurements").
- The second COPY is one statement for the rest of the download, so it runs without the
  export statement timeout: a slow client must not cut its own download short.
- After the first chunk, a helper thread (csat/exports/prefetch.py) reads ahead: it
  receives COPY rows while the response thread sends, through a queue of two chunks, so
  memory stays flat and a client that stops reading stops the database too.

Life of an export:
1. Before any byte is sent: take a pooled connection, begin the transaction, claim one of
   the admin's export slots (advisory locks, sql/export_slot_claim.sql: 429 when all are
   taken, across all workers), apply the export's settings, read the first chunk. Every
   failure up to here is an ordinary Boom error (429, 503 with Retry-After, ...).
2. The response body owns the connection from then on (Flask tears the request down
   before a streamed body is sent) and streams chunk after chunk, through Flask's
   `stream_with_context` (the request context, its request id among it, stays available
   while the body runs). A server may close a body it never iterated: that close skips the
   wrapper's cleanup, so a ClosingIterator calls the body's own close() as well.
3. It ends one of three ways, each stopping the read-ahead (cancelling the statement in
   flight), rolling back (which closes the cursor and frees the slot), restoring the
   connection's autocommit and returning it to the pool (discarding it when broken), then
   logging one `csat.exports` line with rows_streamed and duration and recording the
   export metrics (rows, duration, outcome, format; csat/metrics.py): complete;
   disconnected (the server calls the body's close(), e.g. the client went away); failed
   (a database error after the first byte: the exception propagates so the server drops
   the connection without the final empty chunk, and the client sees a truncated
   response, never a clean end). A standby cancelling the export for a recovery conflict
   is such an error (docs/operations.md: the standby settings long exports need).

Through PgBouncer in transaction mode the whole export is one transaction, so it keeps one
server connection from BEGIN to ROLLBACK: the snapshot, the cursor, the COPY and the slot's
transaction-level advisory lock all live there. The service's settings come with the
transaction's first statement (the slot claim), as in csat/db.py.
"""

import logging
import time

import psycopg2
import psycopg2.errors
import psycopg2.extensions
from flask import Response, current_app, g, stream_with_context
from werkzeug.wsgi import ClosingIterator

from csat import db, metrics
from csat.auth import current_admin
from csat.db_failures import is_disconnect
from csat.errors import ServiceUnavailable, TooManyRequests
from csat.exports.copy_rows import BATCH_ROWS
from csat.exports.csv import CsvRows
from csat.exports.json import JsonRows
from csat.exports.prefetch import Prefetch
from csat.exports.xlsx import XlsxRows

log = logging.getLogger("csat.exports")  # the name operators grep for (README, "Logs")

# Names the export's statements in pg_stat_activity (whose query text is cut at 1 kB).
EXPORT_MARK = "/* csat_export */ "


def export_ratings(list_args) -> Response:
    """The streamed export of every rating matching `list_args` (see the module docstring)."""
    settings = current_app.config["CSAT"]
    rows = export_rows(list_args.format, list_args.raw, settings)
    export = RatingExport(db.database(), settings, current_admin().id, rows,
                          request_id=g.get("request_id"))
    export.start(list_args.params, list_args.identifiers)
    body = ExportBody(export)
    # stream_with_context keeps the request context for the body; a body closed before its
    # first chunk never enters that wrapper's try/finally, so ClosingIterator closes it too.
    return Response(
        ClosingIterator(stream_with_context(body), body.close),
        content_type=rows.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{export_filename(list_args.params, rows.extension)}"',
            "X-Accel-Buffering": "no",
            "Cache-Control": "no-store",
        },
    )



def export_rows(export_format, raw, settings):
    """The rows object of one export body: json, csv (Excel-ready), csv with raw, xlsx."""
    if export_format == "csv":
        return CsvRows(spreadsheet_safe=not raw)
    if export_format == "xlsx":
        return XlsxRows(settings.xlsx_rows_per_sheet)
    return JsonRows()



def export_filename(params, extension):
    """csat-ratings_<startDate or all>_<endDate or all>.<extension> (dates are validated days)."""
    start, end = params.get("start_date"), params.get("end_date")
    return f"csat-ratings_{start or 'all'}_{end or 'all'}.{extension}"



class RatingExport:
    """One export's transaction, read-ahead and pooled connection, from start() to finish()."""

    def __init__(self, database, settings, admin_id, rows, *, request_id=None):
        self.database = database
        self.pool = None
        self.settings = settings
        self.admin_id = admin_id
        self.rows = rows
        self.request_id = request_id
        self.first_chunk = (0, b"")
        self.rows_streamed = 0
        self._conn = None
        self._prefetch = None
        self._started = time.perf_counter()
        self._outcome = None

    def start(self, params, identifiers):
        """Claim a slot and read the first chunk: errors here are Boom errors.

        A connection PostgreSQL dropped while it sat in the pool fails on its first
        statement; it is discarded with its idle siblings and the start retried once. The
        export reads where the request's other reads would (db.read_pool); a replica that
        cannot be reached is given up for the primary.
        """
        query = db.load("ratings_export")
        sql = EXPORT_MARK + query.sql({**identifiers, "row_shape": self.rows.row_shape})
        params = {**params, "spreadsheet_safe": self.rows.spreadsheet_safe}
        first = query.params({**params, "row_offset": 0, "row_limit": BATCH_ROWS})
        rest = query.params({**params, "row_offset": BATCH_ROWS, "row_limit": None})
        self.pool = db.read_pool()
        retried = False
        while True:
            try:
                self._open_transaction()
                self._claim_slot()
                self._apply_settings(self.settings.export_statement_timeout_ms)
                self.first_chunk = self.rows.first_chunk(self._conn, sql, first, rest)
                return
            except psycopg2.Error as exc:
                self._release()
                if self.pool.role == "replica" and isinstance(exc, psycopg2.errors.SerializationFailure):
                    self.pool = self.database.pool("primary")  # cancelled by the standby's replay
                    continue
                if is_disconnect(exc):
                    if self.pool.role == "replica":
                        self.database.replica_lost(exc)
                        self.pool = self.database.pool("primary")
                        continue
                    if not retried:
                        retried = True
                        log.warning("export: connection lost (%s); retrying on a new connection",
                                    str(exc).strip())
                        continue
                raise
            except BaseException:
                self._release()
                raise

    def chunks(self):
        """(rows, chunk) of the whole export: the first chunk, then the rest read ahead."""
        yield self.first_chunk
        yield from self.other_chunks()

    def other_chunks(self):
        """(rows, chunk) for everything after the first chunk, read ahead by a helper thread."""
        if not self.rows.more:
            return iter(())
        if self.rows.unbounded_rest:
            self._apply_settings(0)
        self._prefetch = Prefetch(self.rows.other_chunks, cancel=self._conn.cancel,
                                  patience=self.rows.stop_patience)
        return self._prefetch

    def finish(self, outcome):
        """End the export (once): give the connection back, then log how it ended."""
        if self._outcome is not None:
            return
        self._outcome = outcome
        self._release()
        seconds = time.perf_counter() - self._started
        duration_ms = round(seconds * 1000, 2)
        metrics.export_finished(self.rows_streamed, seconds, outcome, self.rows.metric_format)
        log.log(
            logging.ERROR if outcome == "failed" else logging.INFO,
            "export %s: %d rows in %.0f ms", outcome, self.rows_streamed, duration_ms,
            exc_info=outcome == "failed",
            extra={"request_id": self.request_id, "admin_id": self.admin_id,
                   "rows_streamed": self.rows_streamed, "duration_ms": duration_ms,
                   "outcome": outcome, "export_format": self.rows.metric_format},
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
        """The transaction's first statement: it also applies the service's settings."""
        limit = self.settings.max_exports_per_admin
        # Every statement of an export is marked, so its session reads as an export throughout.
        claim = db.run_on(self._conn, "export_slot_claim", {"admin_id": self.admin_id, "max_exports": limit},
                          fetch="one", statement_timeout_ms=self.settings.statement_timeout_ms, mark=EXPORT_MARK)
        if claim["slot"] is None:
            raise TooManyRequests(
                f"At most {limit} exports may run at once per admin; wait for one to finish",
                headers={"Retry-After": str(self.settings.retry_after_seconds)})

    def _apply_settings(self, statement_timeout_ms):
        db.run_on(self._conn, "export_session_setup", {"statement_timeout_ms": statement_timeout_ms},
                  fetch="one", mark=EXPORT_MARK)

    def _release(self):
        """Stop reading ahead, roll back (closing the cursor, freeing the slot) and return
        the connection."""
        prefetch, self._prefetch = self._prefetch, None
        if prefetch is not None:
            prefetch.stop()
        conn, self._conn = self._conn, None
        if conn is None:
            return
        discard = bool(conn.closed)
        try:
            if not discard:
                self.rows.close()
                conn.rollback()
                conn.set_session(isolation_level="DEFAULT", readonly="DEFAULT")
                conn.autocommit = True
        except psycopg2.Error:
            discard = True
        if discard:
            self.pool.discard_idle()  # siblings opened before a dropped one are likely dead too
        self.pool.putconn(conn, discard=discard)



class ExportBody:
    """The response body: streams the export's chunks and ends it however the stream ends.

    A WSGI server calls close() after the last chunk, after a failed write (the client went
    away) or instead of iterating at all; close() is what guarantees the connection is
    returned even when iteration never started.
    """

    def __init__(self, export):
        self.export = export
        self._chunks = None

    def __iter__(self):
        self._chunks = self._generate()
        return self._chunks

    def _generate(self):
        export = self.export
        try:
            for rows, chunk in export.rows.encode(export.chunks()):
                yield chunk
                export.rows_streamed += rows
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

