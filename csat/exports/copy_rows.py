"""Rows written by PostgreSQL's COPY, handed on 1000 at a time: what every export body reads.

COPY takes a query, not a prepared statement: the export query goes inside with its
parameters filled in (cursor.mogrify). Each format (csat/exports/json.py, csv.py, xlsx.py)
says which COPY wraps the query and how a batch of rows becomes a chunk of the body.
"""

BATCH_ROWS = 1000
# The export query's row_shape (sql/ratings_export.sql) unless a format says otherwise: its columns.
ROW_COLUMNS = "e.*"
COPY_BINARY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
COPY_BINARY_HEADER_BYTES = 19  # signature, flags, header extension length
COPY_BINARY_TRAILER = b"\xff\xff"


class CopyRows:
    """Rows written by PostgreSQL's COPY: the first 1000, then the rest in one more COPY."""

    unbounded_rest = True  # the rest is one COPY, as long as the client takes to download it
    stop_patience = 0  # a COPY in flight would run to the export's end: cancel it at once
    copy_first = copy_rest = None  # COPY statements around the export query
    binary = False  # COPY's binary format, one column a row
    row_shape = ROW_COLUMNS

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

