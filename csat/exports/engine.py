"""Report mode (GET /csat?report=true): every rating the list's filters match, streamed.

The list view parses the request (rating_filters.parse_list_args) and hands the result to
`export_ratings`, so an export has exactly the list's validation, filters and sort; the
rows are sql/ratings_export.sql, the list row without paging.

Bodies (`format=json`, the default, `format=csv`, `format=csv&raw=true`, `format=xlsx`):
- JSON: `application/x-ndjson`, chunked; each batch of up to 1000 rows is ONE JSON array
  of row objects (the list's keys, in the list's order) on its own line, so a client can
  parse line by line or array by array. An export that matches nothing is the single
  line `[]`, so every successful export has at least one line.
- CSV: `text/csv; charset=utf-8`, RFC 4180: a header row with the same names as the JSON
  keys, CRLF line ends, fields quoted when they hold a comma, quote or line break. NULL is
  an empty field and an empty text is `""`, so the two stay apart (PostgreSQL's own CSV).
  Excel-ready by default: a UTF-8 byte-order mark first (Excel on Windows otherwise reads
  UTF-8 as the local code page), and every text cell starting with = + - @ TAB or CR
  prefixed with a single quote (the query's spreadsheet_safe, migration 0080), so a
  customer's comment never becomes a live formula. `raw=true`: no BOM, values exactly as
  stored (the bytes this export always had), for BI pipelines.
- XLSX: PostgreSQL writes each row's SpreadsheetML (csat_xlsx_row, migration 0080) through
  COPY as it writes the CSV, and csat/xlsx.py zips the rows into worksheets on the fly
  (stream-zip); its docstring has the workbook's shape and limits.
- All: `Content-Disposition: attachment; filename="csat-ratings_<startDate|all>_<endDate
  |all>.<jsonl|csv|xlsx>"` (`.jsonl`: every line is one JSON value, the whole body is not),
  `X-Accel-Buffering: no` (nginx passes each chunk on at once), `Cache-Control: no-store`.

Where the rows come from (one read-only repeatable-read transaction: one snapshot), in two
statements of sql/ratings_export.sql, every body alike: the first 1000 rows (row_limit
1000), planned for a fast start by their LIMIT, so the first byte leaves at once; then the
rest (row_offset 1000, no limit), planned as a whole read: parallel hash joins and one sort,
the plan psql's COPY of the same query uses, about 2x the rows a second of walking the
sort's index. The first batch of the rest waits for that sort (~2.5 s at
1,000,000 rows), while the client already has the first chunk.
- Every body is a COPY of the export query, the very statement the export's speed is
  judged against, so Python never touches a value. The design card asks for batches from a
  server-side cursor: COPY ... TO STDOUT is that cursor's streaming form (the server runs
  the query's portal and sends rows as they come; nothing is materialised on either side),
  and unlike DECLARE CURSOR it may use a parallel plan, which PostgreSQL never gives a
  declared cursor. Measured at 1,000,000 ratings on 2 cores, a DECLAREd cursor fetched 1000
  rows at a time (even with PostgreSQL writing each row's JSON and Python only joining the
  bytes) reached 32 % of the plain COPY's rows/s, against 44 % for the JSON COPY below,
  whose own bound is PostgreSQL's row_to_json (the same COPY into a Python sink that keeps
  nothing: 41-45 %; text format 36 %, its escaping costs more than the unframing here):
  - CSV: PostgreSQL writes the CSV (`COPY (the export query) TO STDOUT (FORMAT csv)`);
    Python only turns each row's LF into CRLF and groups rows into 1000-row chunks (the
    stdlib csv module encodes a fifth as fast).
  - JSON: PostgreSQL writes each row's JSON object (row_to_json) in COPY's binary format,
    which leaves the text as it is (the text format would escape every backslash of the
    JSON's own escapes); Python joins 1000 of them into an array. Until issue 15 the rows
    came through a named cursor and orjson: psycopg2 building 23 Python values a row and a
    dict for each cost 2.5x COPY's time, the database's row_to_json 1.2-1.5x.
  - XLSX: one text column of XML a row (COPY_XLSX_ROWS), deflated in the response thread
    (zlib releases the GIL, so it overlaps the read-ahead).
  The second COPY is one statement for the rest of the download, so it runs without the
  export statement timeout: a slow client must not cut its own download short.
- After the first chunk, a helper thread (see Prefetch) reads ahead: it receives COPY rows
  while the response thread sends, through a queue of two chunks, so
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
import queue
import threading
import time

import psycopg2
import psycopg2.errors
import psycopg2.extensions
from flask import Response, current_app, g, stream_with_context
from werkzeug.wsgi import ClosingIterator

from csat import db, metrics
from csat.db_failures import is_disconnect
from csat.exports import xlsx
from csat.auth import current_admin
from csat.errors import ServiceUnavailable, TooManyRequests
from schemas.ratings import RatingRow

log = logging.getLogger("csat.exports")  # the name operators grep for (README, "Logs")

BATCH_ROWS = 1000
# Names the export's statements in pg_stat_activity (whose query text is cut at 1 kB).
EXPORT_MARK = "/* csat_export */ "
EXPORT_COLUMNS = tuple(RatingRow().fields)
UTF8_BOM = "\ufeff".encode()
# COPY takes a query, not a prepared statement: the export query goes inside with its
# parameters filled in (cursor.mogrify). The XLSX rows hand each export row, as the
# csat_export_row it is, to csat_xlsx_row (migration 0080).
COPY_FIRST_ROWS = "COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)"
COPY_OTHER_ROWS = "COPY ({query}) TO STDOUT WITH (FORMAT csv)"
COPY_XLSX_ROWS = "COPY (SELECT csat_xlsx_row(e::csat_export_row) FROM ({query}) e) TO STDOUT"
# Binary COPY: each row's JSON text as it is, no COPY escaping to undo (CopyLines unframes it).
COPY_JSON_ROWS = "COPY (SELECT row_to_json(e) FROM ({query}) e) TO STDOUT WITH (FORMAT binary)"
COPY_BINARY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
COPY_BINARY_HEADER_BYTES = 19  # signature, flags, header extension length
COPY_BINARY_TRAILER = b"\xff\xff"


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
        sql = EXPORT_MARK + query.sql(identifiers)
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


class CopyRows:
    """Rows written by PostgreSQL's COPY: the first 1000, then the rest in one more COPY."""

    unbounded_rest = True  # the rest is one COPY, as long as the client takes to download it
    stop_patience = 0  # a COPY in flight would run to the export's end: cancel it at once
    copy_first = copy_rest = None  # COPY statements around the export query
    binary = False  # COPY's binary format, one column a row

    def __init__(self):
        self.more = False
        self._conn = None
        self._rest = None

    def first_chunk(self, conn, sql, first, rest):
        with conn.cursor() as cursor:
            self._rest = cursor.mogrify(sql, rest).decode()
            lines = CopyLines(deliver=None, pack=self.pack, binary=self.binary)
            cursor.copy_expert(self.copy_first.format(query=cursor.mogrify(sql, first).decode()), lines)
        self._conn = conn
        lines = lines.take()
        rows = self.rows_in(lines)
        self.more = rows == BATCH_ROWS
        return rows, self.pack(lines)

    def other_chunks(self, deliver):
        lines = CopyLines(deliver, pack=self.pack, binary=self.binary)
        with self._conn.cursor() as cursor:
            cursor.copy_expert(self.copy_rest.format(query=self._rest), lines)
        lines.flush()

    @staticmethod
    def rows_in(lines):
        return len(lines)

    @staticmethod
    def encode(chunks):
        return chunks

    def close(self):
        self._conn = None


class JsonRows(CopyRows):
    """NDJSON: PostgreSQL writes each row's JSON object (row_to_json, the list's keys in the
    list's order); every 1000 rows become one JSON array on a line of its own."""

    content_type = "application/x-ndjson"
    extension = "jsonl"
    metric_format = "json"
    spreadsheet_safe = False
    copy_first = copy_rest = COPY_JSON_ROWS
    binary = True

    @staticmethod
    def pack(lines):
        if not lines:
            return b"[]\n"
        lines[0] = b"[" + lines[0]  # small copies, so the batch itself is copied once
        lines[-1] = lines[-1] + b"]\n"
        return b",".join(lines)


class CsvRows(CopyRows):
    """RFC 4180 CSV written by COPY; Excel-ready (BOM, formula-like text neutralised by the
    export query's spreadsheet_safe) unless raw."""

    content_type = "text/csv; charset=utf-8"
    extension = "csv"
    copy_first = COPY_FIRST_ROWS
    copy_rest = COPY_OTHER_ROWS

    def __init__(self, spreadsheet_safe):
        super().__init__()
        self.spreadsheet_safe = spreadsheet_safe
        self.metric_format = "csv" if spreadsheet_safe else "csv_raw"

    @staticmethod
    def rows_in(lines):
        return len(lines) - 1  # the header

    @staticmethod
    def pack(lines):
        return crlf_lines(lines)

    def first_chunk(self, conn, sql, first, rest):
        rows, chunk = super().first_chunk(conn, sql, first, rest)
        return rows, (UTF8_BOM + chunk if self.spreadsheet_safe else chunk)


class XlsxRows(CopyRows):
    """SpreadsheetML rows written by COPY (csat_xlsx_row), zipped into a workbook (csat/xlsx.py)."""

    content_type = xlsx.CONTENT_TYPE
    extension = "xlsx"
    metric_format = "xlsx"
    spreadsheet_safe = False  # text cells are inline strings, never formulas: nothing to escape
    copy_first = copy_rest = COPY_XLSX_ROWS

    def __init__(self, rows_per_sheet):
        super().__init__()
        self.rows_per_sheet = rows_per_sheet

    @staticmethod
    def pack(lines):
        return lines  # the workbook cuts them into sheets

    def encode(self, chunks):
        return xlsx.Workbook(EXPORT_COLUMNS, self.rows_per_sheet).chunks(chunks)


class CopyLines:
    """The file psycopg2's copy_expert writes to: one call per row, each row ending in LF.

    Rows are handed on 1000 at a time, packed into one chunk by `pack` (CSV: CRLF line ends;
    only the LF that ends a row changes, a line break inside a quoted field is data).
    """

    def __init__(self, deliver, pack, binary=False):
        self.deliver = deliver
        self.pack = pack
        self.binary = binary
        self._lines = []

    def write(self, line):
        if self.binary:
            # Binary COPY: one message a row, the file header before the first row and a
            # trailer message (2 bytes) at the end; a row is a field count (2 bytes, here 1)
            # and the field's length (4 bytes) before its data (never NULL here).
            if len(line) <= len(COPY_BINARY_TRAILER):
                return
            if line.startswith(COPY_BINARY_SIGNATURE):
                line = line[COPY_BINARY_HEADER_BYTES:]
                if len(line) <= len(COPY_BINARY_TRAILER):
                    return
            line = line[6:]
        lines = self._lines
        lines.append(line)
        if len(lines) == BATCH_ROWS and self.deliver is not None:
            self.flush()

    def flush(self):
        if self._lines:
            lines = self.take()
            self.deliver((len(lines), self.pack(lines)))

    def take(self):
        lines, self._lines = self._lines, []
        return lines


def crlf_lines(lines):
    return b"".join([line[:-1] + b"\r\n" for line in lines])


class Prefetch:
    """Runs produce(deliver) in a helper thread and iterates what it delivers, in order.

    The queue holds two chunks: the helper reads the next chunk from the database while
    the response thread sends the current one (psycopg2 releases the GIL while it waits
    on the network), and blocks when the client reads slower than the database produces.
    An exception in the helper is re-raised by the iterator. stop() ends the helper:
    deliver() raises in it, and a statement still running after `patience` seconds is
    cancelled (PQcancel; the rollback that follows reads what was already on its way).
    """

    DEPTH = 2
    _END = object()

    def __init__(self, produce, *, cancel, patience):
        self._queue = queue.Queue(maxsize=self.DEPTH)
        self._stopping = threading.Event()
        self._cancel = cancel
        self._patience = patience
        self._thread = threading.Thread(target=self._run, args=(produce,), name="csat-export",
                                        daemon=True)
        self._thread.start()

    def __iter__(self):
        while (item := self._queue.get()) is not self._END:
            if isinstance(item, BaseException):
                raise item
            yield item

    def stop(self):
        self._stopping.set()
        self._drain()
        self._thread.join(self._patience)
        if self._thread.is_alive():  # still inside a FETCH or COPY: end it at the server
            try:
                self._cancel()
            except psycopg2.Error:
                pass  # the rollback that follows discards a connection that cannot cancel
            while self._thread.is_alive():
                self._drain()
                self._thread.join(0.05)

    def _run(self, produce):
        try:
            produce(self._deliver)
            item = self._END
        except _Stopped:
            return
        except BaseException as exc:  # noqa: B036 (handed to the response thread)
            item = exc
        try:
            self._deliver(item)
        except _Stopped:
            pass

    def _deliver(self, item):
        while True:
            if self._stopping.is_set():
                raise _Stopped
            try:
                self._queue.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    def _drain(self):
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass


class _Stopped(Exception):
    """Raised inside the helper thread once the export is being ended."""
