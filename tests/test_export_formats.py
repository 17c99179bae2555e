"""The export's four bodies (csat/exports/): NDJSON, Excel-ready CSV, raw CSV
and XLSX, each checked against the JSON export (itself checked against the list pages in
tests/test_export.py), plus LibreOffice opening the spreadsheet files and the export metrics.
"""

import csv
import io
import subprocess
import zipfile
from datetime import datetime, timezone

import openpyxl
import orjson
import psycopg2
import pytest

from app import create_app
from csat.exports import xlsx
from schemas.ratings import RatingRow
from tests.servers import bearer, make_settings, make_token, sample, scrape, soffice_binary

COLUMNS = list(RatingRow().fields)
NUMBER_COLUMNS = {"rating_id", "rating", "reference_id", "company_id", "follow_up_created_by",
                  "follow_up_updated_by"}
TIME_COLUMNS = {"rating_date", "follow_up_created_at", "follow_up_updated_at"}
HEADERS = bearer(make_token(admin_id=1, permissions=["menu-csat"]))
FORMULA_STARTS = ["=", "+", "-", "@", "\t", "\r"]
QUERY = "report=true&startDate=2030-01-01&sortBy=ratingDate&sortType=ASC"


def get(client, url):
    response = client.get(url, headers=HEADERS)
    response.get_data()
    response.close()
    assert response.status_code == 200, response.data[:300]
    return response


def json_rows(client, query):
    body = get(client, f"/csat?{query}").data
    return [row for line in body.splitlines() for row in orjson.loads(line)]


def pg_csv_field(value):
    """One field as PostgreSQL's COPY CSV writes it (today's raw export)."""
    if value is None:
        return ""
    text = str(value)
    if text == "" or any(ch in text for ch in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def raw_csv_from_json(rows):
    lines = [",".join(COLUMNS)] + [",".join(pg_csv_field(row[c]) for c in COLUMNS) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode()


def neutralised(value):
    return "'" + value if isinstance(value, str) and value[:1] in FORMULA_STARTS else value


AWKWARD = [
    "=HYPERLINK(\"http://evil.example\",\"clic\")",
    "+1+2",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "Rápido, pero caro",
    'El repartidor dijo "mañana" y no vino',
    "Primera línea\nsegunda línea",
    "Windows line\r\nends, and a trailing quote\"",
    "Ótimo serviço — ação, coração ñ ü 日本 😀 & <b>bold</b> ]]> a\\b",
    "a=1 in the middle, not first",
    "",
    None,
]


@pytest.fixture
def awkward_client(fresh_db):
    """A client on a database with one rating per awkward text: as its comment, its company's
    name and its follow-up's text (formula-like values in every free-text column)."""
    conn = psycopg2.connect(fresh_db)
    with conn, conn.cursor() as cursor:
        cursor.execute("SELECT id, locale_id FROM companies ORDER BY id LIMIT 1")
        company_id, locale_id = cursor.fetchone()
        for i, text in enumerate(AWKWARD):
            cursor.execute("INSERT INTO companies (id, locale_id, name, country) VALUES (%s, %s, %s, 'MX')",
                           (9_000_000 + i, locale_id, text or f"Plain company {i}"))
            cursor.execute(
                """INSERT INTO ratings (score, comment, source, source_platform, reference_id,
                                        company_id, locale_id, created_at)
                   VALUES (%s, %s, 'shop', 'platform', %s, %s, %s,
                           timestamptz '2030-01-01 12:00Z' + %s * interval '1 minute')
                   RETURNING id""",
                (1 + i % 5, text, 900_000 + i, 9_000_000 + i, locale_id, i))
            rating_id = cursor.fetchone()[0]
            if text:
                cursor.execute(
                    "INSERT INTO rating_follow_ups (rating_id, comments, created_by, created_at, updated_by, updated_at) "
                    "VALUES (%s, %s, 1, timestamptz '2030-02-01 08:30:15Z', 2, timestamptz '2030-02-02 09:00:01Z')",
                    (rating_id, text))
    conn.close()
    app = create_app(make_settings(fresh_db))
    yield app.test_client()
    app.extensions["csat_db"].close()


@pytest.mark.parametrize("companies, rows", [("1", 0), ("9000000", 1), ("9000000,9000001", 2)])
def test_a_json_line_is_one_array_however_few_rows(awkward_client, companies, rows):
    body = get(awkward_client, f"/csat?{QUERY}&companyId={companies}").data

    assert body.endswith(b"\n") and body.count(b"\n") == 1
    assert [row["company_id"] for row in orjson.loads(body)] == \
        [int(c) for c in companies.split(",")][:rows]


def test_the_json_export_is_served_as_ndjson(awkward_client):
    response = get(awkward_client, f"/csat?{QUERY}")

    assert response.headers["Content-Type"] == "application/x-ndjson"
    lines = response.data.split(b"\n")
    assert lines[-1] == b"" and all(isinstance(orjson.loads(line), list) for line in lines[:-1])
    assert [row["comment"] for row in json_rows(awkward_client, QUERY)] == AWKWARD


def test_excel_csv_has_a_bom_and_neutralises_formula_like_text(awkward_client):
    expected = json_rows(awkward_client, QUERY)
    response = get(awkward_client, f"/csat?{QUERY}&format=csv")

    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.data.startswith(b"\xef\xbb\xbfrating_id,rating,comment,")
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))
    assert len(rows) == len(AWKWARD)
    for row, json_row in zip(rows, expected):
        for column in ("comment", "company_name", "follow_up_comments"):
            want = neutralised(json_row[column])
            assert row[column] == ("" if want is None else want), (column, json_row[column])
        for column in NUMBER_COLUMNS | TIME_COLUMNS:  # never prefixed
            assert row[column] == ("" if json_row[column] is None else str(json_row[column]))
    # Each of the six leading characters, in each free-text column, got its quote.
    for start in FORMULA_STARTS:
        for column in ("comment", "company_name", "follow_up_comments"):
            assert any(row[column].startswith("'" + start) for row in rows), (start, column)
    assert [row["comment"] for row in rows][6:13] == AWKWARD[6:13]  # accents, quotes, breaks


def test_raw_csv_is_todays_bytes(awkward_client, client):
    for test_client, query in ((awkward_client, QUERY), (client, "report=true&sortBy=rating")):
        expected = raw_csv_from_json(json_rows(test_client, query))

        response = get(test_client, f"/csat?{query}&format=csv&raw=true")

        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert response.data == expected


def xlsx_values(cell_value, column):
    """A cell read back by openpyxl, in the JSON export's terms (times: ISO text with Z)."""
    if isinstance(cell_value, datetime):
        assert column in TIME_COLUMNS
        return cell_value.replace(tzinfo=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return cell_value


def read_workbook(data):
    return openpyxl.load_workbook(io.BytesIO(data))


def assert_no_formulas(data, book):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", cell.coordinate


def test_xlsx_equals_the_json_export_typed_and_without_formulas(awkward_client):
    expected = json_rows(awkward_client, QUERY)
    response = get(awkward_client, f"/csat?{QUERY}&format=xlsx")

    assert response.headers["Content-Type"] == xlsx.CONTENT_TYPE
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="csat-ratings_2030-01-01_all.xlsx"'
    book = read_workbook(response.data)
    assert book.sheetnames == ["Ratings"]
    sheet = book["Ratings"]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == COLUMNS
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:W{len(expected) + 1}"
    got = [{c: xlsx_values(v, c) for c, v in zip(COLUMNS, row)} for row in rows[1:]]
    assert got == expected  # an empty text stays an (empty) text cell, NULL an empty cell
    for row in rows[1:]:
        for column, value in zip(COLUMNS, row):
            if value is not None:
                assert isinstance(value, int if column in NUMBER_COLUMNS else
                                  datetime if column in TIME_COLUMNS else str), (column, value)
    assert sheet["E2"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert_no_formulas(response.data, book)


def test_xlsx_rows_beyond_a_sheet_continue_on_further_sheets(shared_db, client):
    expected = json_rows(client, "report=true&sortBy=companyId")
    app = create_app(make_settings(shared_db, xlsx_rows_per_sheet=700))
    try:
        response = get(app.test_client(), "/csat?report=true&sortBy=companyId&format=xlsx")
    finally:
        app.extensions["csat_db"].close()

    book = read_workbook(response.data)
    sizes = [700] * (len(expected) // 700) + ([len(expected) % 700] if len(expected) % 700 else [])
    assert book.sheetnames == ["Ratings"] + [f"Ratings {n}" for n in range(2, len(sizes) + 1)]
    got = []
    for sheet, size in zip(book.worksheets, sizes):
        rows = list(sheet.iter_rows(values_only=True))
        assert list(rows[0]) == COLUMNS and len(rows) == size + 1
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == f"A1:W{size + 1}"
        got += [{c: xlsx_values(v, c) for c, v in zip(COLUMNS, row)} for row in rows[1:]]
    assert got == expected
    assert len(sizes) >= 4


def test_an_empty_xlsx_export_is_a_sheet_with_only_the_header(client):
    response = get(client, "/csat?report=true&format=xlsx&carrier=no-such-carrier")

    rows = list(read_workbook(response.data).active.iter_rows(values_only=True))
    assert rows == [tuple(COLUMNS)]


# --- LibreOffice ----------------------------------------------------------------------

def libreoffice_csv(path, tmp_path, import_filter=None):
    """The first sheet of `path` as LibreOffice reads it, saved as UTF-8 CSV, parsed."""
    out_dir = tmp_path / f"out_{path.stem}"
    command = [soffice_binary(), f"-env:UserInstallation=file://{tmp_path}/profile", "--headless"]
    if import_filter:
        command.append(f"--infilter={import_filter}")
    command += ["--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1",
                "--outdir", str(out_dir), str(path)]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    text = (out_dir / f"{path.stem}.csv").read_text(encoding="utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))


def lo_lines(text):
    return text.replace("\r\n", "\n").replace("\r", "\n")


@pytest.mark.slow
def test_libreoffice_reads_the_same_values_from_the_xlsx_and_the_excel_csv(awkward_client, tmp_path):
    soffice_binary()
    expected = json_rows(awkward_client, QUERY)
    (tmp_path / "export.xlsx").write_bytes(get(awkward_client, f"/csat?{QUERY}&format=xlsx").data)
    (tmp_path / "export.csv").write_bytes(get(awkward_client, f"/csat?{QUERY}&format=csv").data)

    from_xlsx = libreoffice_csv(tmp_path / "export.xlsx", tmp_path)
    # The CSV import as a user opening the file gets it: comma, double quote, UTF-8.
    from_csv = libreoffice_csv(tmp_path / "export.csv", tmp_path, "CSV:44,34,76,1")

    assert from_xlsx[0] == COLUMNS and from_csv[0] == COLUMNS
    assert len(from_xlsx) == len(from_csv) == len(expected) + 1
    for xlsx_row, csv_row, json_row in zip(from_xlsx[1:], from_csv[1:], expected):
        for column, xlsx_value, csv_value in zip(COLUMNS, xlsx_row, csv_row):
            value = json_row[column]
            if column in TIME_COLUMNS:
                want = "" if value is None else value.replace("T", " ").replace("Z", "")
                assert xlsx_value == want, (column, xlsx_value)  # a date-time cell
                assert csv_value in (want, value or ""), (column, csv_value)
            elif column in NUMBER_COLUMNS:
                assert xlsx_value == csv_value == ("" if value is None else str(value))
            else:
                # The text itself from the XLSX; the CSV's neutralised text is never evaluated.
                # (A cell's line breaks are LF inside LibreOffice, whatever the file held.)
                text = lo_lines(value or "")
                assert xlsx_value == text, (column, xlsx_value)
                assert csv_value in (text, lo_lines(neutralised(value) or "")), (column, csv_value)


# --- metrics ----------------------------------------------------------------------------

@pytest.mark.parametrize("query, export_format", [
    ("", "json"), ("&format=csv", "csv"), ("&format=csv&raw=true", "csv_raw"),
    ("&format=xlsx", "xlsx")])
def test_metrics_count_the_rows_of_a_finished_export(client, query, export_format):
    labels = {"format": export_format, "outcome": "complete"}
    before = scrape(client)

    get(client, f"/csat?report=true&score=1,2{query}")

    after = scrape(client)
    assert sample(after, "csat_export_rows_total", **labels) - sample(before, "csat_export_rows_total", **labels) \
        == len(json_rows(client, "report=true&score=1,2"))
    assert sample(after, "csat_export_duration_seconds_count", **labels) \
        - sample(before, "csat_export_duration_seconds_count", **labels) == 1


def test_json_lines_keep_backslashes_quotes_and_control_characters(fresh_client, fresh_db):
    """The JSON body undoes COPY's text escaping (doubled backslashes) and only that: every
    character of a comment arrives as written, whatever JSON escapes it needs."""
    text = 'a\\b \\\\ "quoted" \\n is not a line break\nbut this is\ttab \r\u00e9 \\u0041 \u2028 \x07'
    conn = psycopg2.connect(fresh_db)
    with conn, conn.cursor() as cursor:
        cursor.execute("UPDATE ratings SET comment = %s WHERE id = (SELECT min(id) FROM ratings) RETURNING id",
                       (text,))
        (rating_id,) = cursor.fetchone()
    conn.close()
    response = fresh_client.get("/csat?report=true", headers=bearer(make_token()))
    assert response.status_code == 200
    rows = [row for line in response.get_data().splitlines() for row in orjson.loads(line)]
    (exported,) = [row for row in rows if row["rating_id"] == rating_id]
    assert exported["comment"] == text
    listed = fresh_client.get(f"/csat/{rating_id}", headers=bearer(make_token())).get_json()
    assert listed["details"]["comment"] == text
