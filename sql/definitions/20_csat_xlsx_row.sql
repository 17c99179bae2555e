-- 20_csat_xlsx_row.sql: csat_xlsx_row, one SpreadsheetML <row> of the XLSX export from an export row (csat_export_row).
-- psql -1 -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/definitions/20_csat_xlsx_row.sql
--
-- One cell per column of sql/ratings_export.sql, in order (the type csat_export_row, migration
-- 0080, is that row: a change of the export's columns changes the type in a migration and this
-- function here).

CREATE OR REPLACE FUNCTION csat_xlsx_row(e csat_export_row) RETURNS text
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
