"""format=json (the default): NDJSON, `application/x-ndjson`, chunked.

Each batch of up to 1000 rows is ONE JSON array of row objects (the list's keys, in the
list's order) on its own line, so a client can parse line by line or array by array. An
export that matches nothing is the single line `[]`, so every successful export has at
least one line.

PostgreSQL writes each row's JSON object in COPY's binary format, which leaves the text as
it is (the text format would escape every backslash of the JSON's own escapes); Python joins
1000 of them into an array. The object is built in the export query's own select list
(row_shape ROW_JSON): there a parallel plan builds it in the workers, while built around
the query (`SELECT row_to_json(e) FROM (the query) e`) it fell to the one process that
merges the workers' sorted rows, which then bounded the export. Until issue 15 the rows came
through a named cursor and orjson: psycopg2 building 23 Python values a row and a dict for
each cost several times COPY's time (benchmarks/README.md, "Why it is built this way:
measurements").
"""

from csat.exports.copy_rows import CopyRows

# Binary COPY: each row's JSON text as it is, no COPY escaping to undo (CopyLines unframes it).
COPY_JSON_ROWS = "COPY ({query}) TO STDOUT WITH (FORMAT binary)"
# The export query's row_shape for JSON: each row's object, keyed by csat_export_row's names.
ROW_JSON = "to_json(e::csat_export_row)"


class JsonRows(CopyRows):
    """NDJSON: PostgreSQL writes each row's JSON object (the list's keys in the list's order);
    every 1000 rows become one JSON array on a line of its own."""

    content_type = "application/x-ndjson"
    extension = "jsonl"
    metric_format = "json"
    spreadsheet_safe = False
    copy_first = copy_rest = COPY_JSON_ROWS
    binary = True
    row_shape = ROW_JSON

    @staticmethod
    def pack(lines):
        if not lines:
            return b"[]\n"
        lines[0] = b"[" + lines[0]  # small copies, so the batch itself is copied once
        lines[-1] = lines[-1] + b"]\n"
        return b",".join(lines)

