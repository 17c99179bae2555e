-- 10_csat_xlsx_cells.sql: csat_xlsx_text, csat_xlsx_number and csat_xlsx_time: one SpreadsheetML cell of the XLSX export each.
-- psql -1 -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/definitions/10_csat_xlsx_cells.sql
--
-- Built by PostgreSQL while it writes the export (csat/exports.py): turning 23 columns a row
-- into XML in Python is several times slower. Every text is an inline string, which a
-- spreadsheet never evaluates; times are Excel serial date-times (days since 1899-12-30, UTC)
-- in style 1 (csat/xlsx.py). XML escaping here covers & < >; the rest is done on the byte
-- stream in Python. A NULL is an empty <c/>, never left out: cells carry no r= references and
-- are placed left to right. Migration 0080 created them.

CREATE OR REPLACE FUNCTION csat_xlsx_text(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce('<c t="inlineStr"><is><t xml:space="preserve">'
                || replace(replace(replace(value, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')
                || '</t></is></c>', '<c/>');

CREATE OR REPLACE FUNCTION csat_xlsx_number(value bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce('<c><v>' || value::text || '</v></c>', '<c/>');

-- The export's timestamps are ISO 8601 UTC texts ending in Z, so the parse does not depend on
-- the session's time zone; the cast is STABLE in PostgreSQL's eyes, and so is this function.
CREATE OR REPLACE FUNCTION csat_xlsx_time(value text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN coalesce('<c s="1"><v>'
                || (extract(epoch FROM value::timestamptz)::float8 / 86400 + 25569)::text
                || '</v></c>', '<c/>');
