"""format=xlsx: the workbook, written as a ZIP stream while the rows arrive.

PostgreSQL writes each row's SpreadsheetML (`csat_xlsx_row`, migration 0080: numbers,
Excel date-times in style 1, inline-string text, never a formula) through COPY, one text
column a row (XlsxRows); this module wraps the rows in worksheets and the worksheets in a
workbook, deflated in the response thread (zlib releases the GIL, so it overlaps the
read-ahead):

- `xl/worksheets/sheetN.xml`: the header row (bold), frozen, with an autofilter over the
  sheet's rows; at most `rows_per_sheet` data rows (Excel's 1,048,576 rows less the header),
  then the next sheet starts with the same header ("Ratings", "Ratings 2", ...).
- the workbook, its relationships, the styles and `[Content_Types].xml` come after the last
  sheet: they list the sheets, whose number is known only then. A ZIP's members may come in
  any order (readers go by the central directory at the end).

The ZIP is stream-zip's, every member `ZIP_32`: a local header without sizes, the data,
then a data descriptor; no ZIP64 records, which Excel refuses in some versions. So one
sheet's XML (at most 1,048,575 rows: under 4 KB a row on average) and the compressed file
(some 40 million typical rows) must each stay under 4 GiB; beyond that the stream fails and
the client sees a truncated download. Deflate level 1: most of level 9's saving at a small
part of its time (benchmarks/README.md, "Why it is built this way: measurements").

The rows arrive as COPY text lines (`<row>…</row>` + LF). `clean_rows` undoes COPY's
escapes (backslash, tab, LF, CR: a CR becomes `&#13;` so XML parsers keep it) and drops
the control characters XML 1.0 forbids (customers paste them; Excel refuses the whole file
over one), in one pass over each chunk of rows.
"""

import re
import zlib
from datetime import datetime, timezone

from stream_zip import ZIP_32, stream_zip

from csat.exports.copy_rows import CopyRows
from schemas.ratings import RatingRow

SHEET_ROWS_MAX = 1_048_575  # Excel's 1,048,576 rows less the header row
CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZIP_CHUNK_BYTES = 64 * 1024
SHEET_NAME = "Ratings"
EXPORT_COLUMNS = tuple(RatingRow().fields)
# Each export row, as the csat_export_row it is, goes to csat_xlsx_row (migration 0080).
COPY_XLSX_ROWS = ("COPY (SELECT csat_xlsx_row(export_row::csat_export_row) FROM ({query}) export_row)"
                  " TO STDOUT")

# Control bytes (never part of a multi-byte UTF-8 character) that XML 1.0 forbids; TAB, LF
# and CR are allowed, and COPY writes those escaped anyway.
_XML_FORBIDDEN_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))
_COPY_ESCAPE = re.compile(rb"\\(.)")
_COPY_UNESCAPED = {b"\\": b"\\", b"n": b"\n", b"t": b"\t", b"r": b"&#13;",
                   b"b": b"", b"f": b"", b"v": b""}  # \b \f \v: forbidden in XML
_NONCHARACTERS = (b"\xef\xbf\xbe", b"\xef\xbf\xbf")  # U+FFFE, U+FFFF: not XML characters


def clean_rows(chunk):
    """COPY text lines of XML rows made into well-formed XML (see the module docstring)."""
    chunk = chunk.translate(None, _XML_FORBIDDEN_BYTES)
    if b"\\" in chunk:
        chunk = _COPY_ESCAPE.sub(lambda match: _COPY_UNESCAPED.get(match.group(1), match.group(1)),
                                 chunk)
    for noncharacter in _NONCHARACTERS:
        if noncharacter in chunk:
            chunk = chunk.replace(noncharacter, b"")
    return chunk


def column_letters(number):
    """1 -> A, 26 -> Z, 27 -> AA."""
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


class XlsxRows(CopyRows):
    """SpreadsheetML rows written by COPY (csat_xlsx_row), zipped into a Workbook."""

    content_type = CONTENT_TYPE
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
        return Workbook(EXPORT_COLUMNS, self.rows_per_sheet).chunks(chunks)


class Workbook:
    """Turns batches of row lines into the bytes of an .xlsx file.

    `chunks(batches)` takes an iterator of (rows, [line, ...]) and yields (rows, bytes):
    the rows are those that went into the ZIP since the previous output chunk, so their sum
    is the rows of the file.
    """

    def __init__(self, columns, rows_per_sheet=SHEET_ROWS_MAX):
        if not 1 <= rows_per_sheet <= SHEET_ROWS_MAX:
            raise ValueError(f"rows_per_sheet must be 1..{SHEET_ROWS_MAX}, got {rows_per_sheet}")
        self.columns = tuple(columns)
        self.rows_per_sheet = rows_per_sheet
        self.last_column = column_letters(len(self.columns))
        self.sheet_rows = []  # data rows of each sheet written so far
        self._rows_in = 0
        self._modified = datetime.now(timezone.utc).replace(tzinfo=None)
        header = "".join(f'<c t="inlineStr" s="2"><is><t>{_escape(name)}</t></is></c>'
                         for name in self.columns)
        self._sheet_start = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheetViews><sheetView workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft"/></sheetView></sheetViews>'
            '<sheetFormatPr defaultRowHeight="15"/>'
            f'<sheetData><row>{header}</row>\n'
        ).encode()

    def chunks(self, batches):
        pending = _Pending(batches)
        reported = 0
        for data in stream_zip(self._members(pending), chunk_size=ZIP_CHUNK_BYTES,
                               get_compressobj=lambda: zlib.compressobj(1, zlib.DEFLATED, -zlib.MAX_WBITS)):
            yield self._rows_in - reported, data
            reported = self._rows_in

    def _members(self, pending):
        while True:
            number = len(self.sheet_rows) + 1
            yield self._member(f"xl/worksheets/sheet{number}.xml", self._sheet(pending))
            if not pending.more():
                break
        yield self._member("xl/workbook.xml", [self._workbook_xml()])
        yield self._member("xl/_rels/workbook.xml.rels", [self._workbook_rels()])
        yield self._member("xl/styles.xml", [STYLES_XML])
        yield self._member("_rels/.rels", [PACKAGE_RELS])
        yield self._member("[Content_Types].xml", [self._content_types()])

    def _member(self, name, chunks):
        return name, self._modified, 0o644, ZIP_32, chunks

    def _sheet(self, pending):
        yield self._sheet_start
        rows = 0
        for count, lines in pending.take(self.rows_per_sheet):
            rows += count
            self._rows_in += count
            yield clean_rows(b"".join(lines))
        self.sheet_rows.append(rows)
        yield (f'</sheetData><autoFilter ref="A1:{self.last_column}{rows + 1}"/>'
               '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
               '</worksheet>').encode()

    def sheet_names(self):
        return [SHEET_NAME if n == 1 else f"{SHEET_NAME} {n}" for n in range(1, len(self.sheet_rows) + 1)]

    def _workbook_xml(self):
        names = self.sheet_names()
        sheets = "".join(f'<sheet name="{name}" sheetId="{n}" r:id="rId{n}"/>'
                         for n, name in enumerate(names, 1))
        filters = "".join(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{n}" hidden="1">'
            f"'{name}'!$A$1:${self.last_column}${rows + 1}</definedName>"
            for n, (name, rows) in enumerate(zip(names, self.sheet_rows)))
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<bookViews><workbookView/></bookViews>'
            f'<sheets>{sheets}</sheets><definedNames>{filters}</definedNames></workbook>'
        ).encode()

    def _workbook_rels(self):
        count = len(self.sheet_rows)
        sheets = "".join(
            f'<Relationship Id="rId{n}" Target="worksheets/sheet{n}.xml" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
            for n in range(1, count + 1))
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'{sheets}<Relationship Id="rId{count + 1}" Target="styles.xml" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"/>'
            '</Relationships>'
        ).encode()

    def _content_types(self):
        sheets = "".join(
            f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for n in range(1, len(self.sheet_rows) + 1))
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            f'{sheets}</Types>'
        ).encode()


class _Pending:
    """The row batches still to write, taken sheet by sheet (a batch may straddle two)."""

    def __init__(self, batches):
        self._batches = iter(batches)
        self._head = None  # a batch read but not yet (fully) written

    def more(self):
        if self._head is None:
            self._head = next(self._batches, None)
            while self._head is not None and not self._head[1]:
                self._head = next(self._batches, None)
        return self._head is not None

    def take(self, limit):
        """Batches of at most `limit` rows in all, cutting the last one if needed."""
        while limit and self.more():
            count, lines = self._head
            if count <= limit:
                self._head = None
                limit -= count
                yield count, lines
            else:
                self._head = (count - limit, lines[limit:])
                yield limit, lines[:limit]
                limit = 0


PACKAGE_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="xl/workbook.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
    '</Relationships>'
).encode()

# Style 0: default; 1: the date-time cells (csat_xlsx_time); 2: the bold header.
STYLES_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '</styleSheet>'
).encode()
