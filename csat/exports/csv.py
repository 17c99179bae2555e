"""format=csv: `text/csv; charset=utf-8`, RFC 4180, Excel-ready unless raw=true.

A header row with the same names as the JSON keys, CRLF line ends, fields quoted when they
hold a comma, quote or line break. NULL is an empty field and an empty text is `""`, so the
two stay apart (PostgreSQL's own CSV). Excel-ready by default: a UTF-8 byte-order mark first
(Excel on Windows otherwise reads UTF-8 as the local code page), and every text cell starting
with = + - @ TAB or CR prefixed with a single quote (the query's spreadsheet_safe, migration
0080), so a customer's comment never becomes a live formula. `raw=true`: no BOM, values
exactly as stored (the bytes this export always had), for BI pipelines.

PostgreSQL writes the CSV (`COPY (the export query) TO STDOUT (FORMAT csv)`); Python only
turns each row's LF into CRLF and groups rows into 1000-row chunks, which outruns the stdlib
csv module by far.
"""

from csat.exports.copy_rows import CopyRows

COPY_FIRST_ROWS = "COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)"
COPY_OTHER_ROWS = "COPY ({query}) TO STDOUT WITH (FORMAT csv)"
UTF8_BOM = "\ufeff".encode()


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



def crlf_lines(lines):
    return b"".join([line[:-1] + b"\r\n" for line in lines])

