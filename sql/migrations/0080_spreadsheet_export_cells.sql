-- 0080_spreadsheet_export_cells.sql: the cells of the spreadsheet exports: formula-safe CSV text (csat_export_text) and one SpreadsheetML row per export row (csat_xlsx_row).
-- Params: none.
-- psql -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/migrations/0080_spreadsheet_export_cells.sql
--
-- Both are built by PostgreSQL while it writes the export (csat/exports.py), as it builds the
-- CSV: turning 23 columns a row into XML in Python is several times slower than the database
-- building the text, and the export's speed is judged against psql's COPY.
--
-- csat_export_text(value, spreadsheet_safe): OWASP's CSV-injection guidance. A spreadsheet
-- reads a cell starting with = + - @ as a formula (and TAB or CR lead to one after trimming);
-- the Excel-ready CSV prefixes such text with a single quote, which Excel and LibreOffice show
-- as text. Applied to every text column of sql/ratings_export.sql; numbers and timestamps are
-- never changed. With spreadsheet_safe false (JSON, raw CSV) the planner folds it away.
--
-- csat_export_row is the row of sql/ratings_export.sql (same names, types and order), so the
-- XLSX export can hand a whole export row to csat_xlsx_row. csat_xlsx_row writes
-- <row><c>…</c>…</row> with one cell per column, in order, and no r= references (optional in
-- SpreadsheetML; cells are then placed left to right, so a NULL is an empty <c/>, never left
-- out): ids, scores and admin ids are numbers; rating_date and the follow-up times are Excel
-- serial date-times (days since 1899-12-30, UTC) in style 1 (a date-time format, csat/xlsx.py);
-- every text is an inline string (t="inlineStr"), which a spreadsheet never evaluates.
-- XML escaping here covers & < >; what COPY's text format escapes (backslash, tab, LF, CR) and
-- the control characters XML forbids are handled on the byte stream in Python (csat/xlsx.py),
-- where it costs a scan per chunk instead of a function call per cell.

BEGIN;

CREATE FUNCTION csat_export_text(value text, spreadsheet_safe boolean) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN spreadsheet_safe AND ascii(value) IN (61, 43, 45, 64, 9, 13)  -- = + - @ TAB CR
            THEN '''' || value
            ELSE value END;

CREATE TYPE csat_export_row AS (
    rating_id                  bigint,
    rating                     smallint,
    comment                    text,
    source_platform            text,
    rating_date                text,
    source                     text,
    reference_id               bigint,
    company_id                 bigint,
    company_name               text,
    country                    text,
    country_img                text,
    ticket_type                text,
    ticket_type_description    text,
    "ticketsStatusDescription" text,
    "ticketsStatusColor"       text,
    carrier                    text,
    carrier_name               text,
    logo                       text,
    follow_up_comments         text,
    follow_up_created_by       integer,
    follow_up_created_at       text,
    follow_up_updated_by       integer,
    follow_up_updated_at       text
);

CREATE FUNCTION csat_xlsx_text(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce('<c t="inlineStr"><is><t xml:space="preserve">'
                || replace(replace(replace(value, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')
                || '</t></is></c>', '<c/>');

CREATE FUNCTION csat_xlsx_number(value bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce('<c><v>' || value::text || '</v></c>', '<c/>');

-- The export's timestamps are ISO 8601 UTC texts ending in Z, so the parse does not depend on
-- the session's time zone; the cast is STABLE in PostgreSQL's eyes, and so is this function.
CREATE FUNCTION csat_xlsx_time(value text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN coalesce('<c s="1"><v>'
                || (extract(epoch FROM value::timestamptz)::float8 / 86400 + 25569)::text
                || '</v></c>', '<c/>');

CREATE FUNCTION csat_xlsx_row(e csat_export_row) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN concat(
    '<row>',
    csat_xlsx_number(e.rating_id), csat_xlsx_number(e.rating), csat_xlsx_text(e.comment),
    csat_xlsx_text(e.source_platform), csat_xlsx_time(e.rating_date), csat_xlsx_text(e.source),
    csat_xlsx_number(e.reference_id), csat_xlsx_number(e.company_id),
    csat_xlsx_text(e.company_name), csat_xlsx_text(e.country), csat_xlsx_text(e.country_img),
    csat_xlsx_text(e.ticket_type), csat_xlsx_text(e.ticket_type_description),
    csat_xlsx_text(e."ticketsStatusDescription"), csat_xlsx_text(e."ticketsStatusColor"),
    csat_xlsx_text(e.carrier), csat_xlsx_text(e.carrier_name), csat_xlsx_text(e.logo),
    csat_xlsx_text(e.follow_up_comments), csat_xlsx_number(e.follow_up_created_by),
    csat_xlsx_time(e.follow_up_created_at), csat_xlsx_number(e.follow_up_updated_by),
    csat_xlsx_time(e.follow_up_updated_at),
    '</row>');

INSERT INTO schema_migrations (version) VALUES ('0080_spreadsheet_export_cells');

COMMIT;
