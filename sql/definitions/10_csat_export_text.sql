-- 10_csat_export_text.sql: csat_export_text, a text cell of the Excel-ready CSV made formula-safe.
-- psql -1 -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/definitions/10_csat_export_text.sql
--
-- OWASP's CSV-injection guidance: a spreadsheet reads a cell starting with = + - @ as a
-- formula (and TAB or CR lead to one after trimming); the Excel-ready CSV prefixes such text
-- with a single quote, which Excel and LibreOffice show as text. With spreadsheet_safe false
-- (JSON, raw CSV) the planner folds it away. Migration 0080 created it.

CREATE OR REPLACE FUNCTION csat_export_text(value text, spreadsheet_safe boolean) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN spreadsheet_safe AND ascii(value) IN (61, 43, 45, 64, 9, 13)  -- = + - @ TAB CR
            THEN '''' || value
            ELSE value END;
