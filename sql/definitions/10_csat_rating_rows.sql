-- 10_csat_rating_rows.sql: the csat_rating_rows view: one row per rating with every field of a list row except the asset URLs.
-- psql -1 -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/definitions/10_csat_rating_rows.sql
--
-- The list page reads it (through csat_rating_rows_by_ids) and the details too; the report
-- export writes the same row out over the filtered ratings (sql/ratings_export.sql), and
-- tests/test_export.py holds the two together. Column names are the API's (ticketsStatus*
-- stay camelCase); timestamps are ISO 8601 UTC text with a Z. Ticket-only columns are NULL
-- for carrier and shop ratings. Migration 0004 created it. CREATE OR REPLACE VIEW can only add
-- columns at the end: renaming, retyping or removing one needs a migration (DROP and CREATE,
-- csat_rating_rows_by_ids with it).

CREATE OR REPLACE VIEW csat_rating_rows AS
SELECT
    r.id                                                           AS rating_id,
    r.score                                                        AS rating,
    r.comment                                                      AS comment,
    r.source_platform                                              AS source_platform,
    to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS rating_date,
    r.source                                                       AS source,
    r.reference_id                                                 AS reference_id,
    r.company_id                                                   AS company_id,
    c.name                                                         AS company_name,
    c.country                                                      AS country,
    tt.name                                                        AS ticket_type,
    tt.description                                                 AS ticket_type_description,
    ts.description                                                 AS "ticketsStatusDescription",
    ts.color                                                       AS "ticketsStatusColor",
    ca.name                                                        AS carrier,
    ca.description                                                 AS carrier_name,
    f.comments                                                     AS follow_up_comments,
    f.created_by                                                   AS follow_up_created_by,
    to_char(f.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS follow_up_created_at,
    f.updated_by                                                   AS follow_up_updated_by,
    to_char(f.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS follow_up_updated_at,
    r.locale_id                                                    AS locale_id
FROM ratings r
JOIN companies c            ON c.id = r.company_id
LEFT JOIN tickets t         ON t.id = r.ticket_id
LEFT JOIN ticket_types tt   ON tt.id = t.type_id
LEFT JOIN ticket_statuses ts ON ts.id = t.status_id
LEFT JOIN carriers ca       ON ca.id = r.carrier_id
LEFT JOIN rating_follow_ups f ON f.rating_id = r.id;

COMMENT ON VIEW csat_rating_rows IS 'One CSAT list row per rating, with the API''s column names.';
