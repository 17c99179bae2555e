-- ratings_export.sql :many — every CSAT list row matching the filters, in the list's order, with no paging (report=true).
-- Params: row_offset bigint, row_limit bigint|empty (no limit), spreadsheet_safe boolean,
--         locale_ids smallint[]|empty, company_ids bigint[]|empty, sources text[]|empty,
--         source_platforms text[]|empty, rating smallint|empty, scores smallint[]|empty,
--         start_date date|empty, end_date date|empty, time_zone text, agent_ids integer[]|empty,
--         carriers text[]|empty (lower-case), has_comment boolean|empty,
--         follow_up text|empty (pending|done), search text|empty,
--         resolutions text[]|empty (under_4h|4h_to_24h|1d_to_3d|over_3d|unresolved),
--         flag_base_url text, carrier_logo_base_url text
-- Identifiers: row_shape e.*|to_json(e::csat_export_row),
--              sort_column r.reference_id|r.score|r.company_id|r.created_at|r.source,
--              sort_direction ASC|DESC
-- psql -v row_offset=0 \
--      -v row_limit= \
--      -v spreadsheet_safe=false \
--      -v locale_ids='{1,2}' \
--      -v company_ids= \
--      -v sources= \
--      -v source_platforms= \
--      -v rating= \
--      -v scores='{1,2}' \
--      -v start_date=2025-01-01 \
--      -v end_date=2026-12-31 \
--      -v time_zone=America/Mexico_City \
--      -v agent_ids= \
--      -v carriers= \
--      -v has_comment= \
--      -v follow_up= \
--      -v search= \
--      -v resolutions= \
--      -v flag_base_url=https://assets.example.com/flags/ \
--      -v carrier_logo_base_url=https://assets.example.com/carriers/ \
--      -v row_shape='e.*' \
--      -v sort_column=r.created_at \
--      -v sort_direction=DESC \
--      -d "$DATABASE_URL" -f sql/ratings_export.sql
--
-- The same filters (csat_filtered_ratings), columns, asset URL expressions and sort as
-- ratings_page.sql, so an export equals the list's pages laid end to end. The row is
-- csat_rating_rows' definition (migration 0004) written out over the filtered ratings rather
-- than joined to the view: the view would read every rating a second time (a primary-key
-- lookup per row, a sizeable share of the database's time). tests/test_export.py
-- compares exports with list pages, so the two definitions cannot drift apart unnoticed.
-- The filter parameters are converted by csat_list_filters_of (sql/definitions), as in
-- every query that filters ratings, so a filtered export uses the same indexes as the list.
-- row_offset and row_limit cut the export in two (csat/exports/engine.py): the first 1000 rows
-- (LIMIT 1000: a fast-start plan that walks the sort's index and joins with nested loops, so
-- the first batch is ready in milliseconds), then the rest (OFFSET 1000, no limit: planned as
-- a whole read, parallel hash joins and one sort, less database time than walking the
-- index). Both run in the export's one snapshot, and the order is total (id breaks ties), so
-- the two parts are the whole export exactly once. psql below exports everything at once.
-- spreadsheet_safe (the Excel-ready CSV) prefixes every text starting with = + - @ TAB or CR
-- with a single quote (csat_export_text, migration 0080); false leaves every value as stored.
-- It wraps every text column that can start so: not source, source_platform, country and
-- ticketsStatusColor, which their tables' CHECKs hold to words, two capitals and #rrggbb,
-- and for the asset URLs only the configured base URL their text starts with (a constant).
-- row_shape: the row's columns (e.*: CSV, XLSX, psql) or its JSON object (JSON export). The
-- columns are written once, in the LATERAL e, so the JSON has the same names and values; the
-- JSON is built in the select list of this very query, so a parallel plan builds it in the
-- workers, below the Gather Merge, instead of in the one process that merges their rows.
-- The cast to csat_export_row (migration 0080) gives the object its keys in one step.
-- The service runs it with sql/export_session_setup.sql's settings: with memoize off the
-- planner keeps every join and the row's formatting in the workers for e.* as well.
-- Operators can export the same rows with
--   psql ... -c "\copy (<this query with the variables filled in>) to 'out.csv' csv header"
WITH params AS NOT MATERIALIZED (
    SELECT f.*,
           :'flag_base_url'::text         AS flag_base_url,
           :'carrier_logo_base_url'::text AS carrier_logo_base_url,
           :'spreadsheet_safe'::boolean   AS spreadsheet_safe
    FROM csat_list_filters_of(:'locale_ids', :'company_ids', :'sources', :'source_platforms',
                              :'rating', :'scores', :'start_date', :'end_date', :'time_zone',
                              :'agent_ids', :'carriers', :'has_comment', :'follow_up', :'search',
                              :'resolutions') f
)
SELECT :row_shape
FROM params p,
     csat_filtered_ratings(p.locale_ids, p.company_ids, p.sources, p.source_platforms,
                           p.rating, p.scores, p.start_date, p.end_date, p.time_zone,
                           p.agent_ids, p.carriers, p.has_comment, p.follow_up, p.search,
                           p.resolutions) r
JOIN companies c              ON c.id = r.company_id
LEFT JOIN tickets t           ON t.id = r.ticket_id
LEFT JOIN ticket_types tt     ON tt.id = t.type_id
LEFT JOIN ticket_statuses ts  ON ts.id = t.status_id
LEFT JOIN carriers ca         ON ca.id = r.carrier_id
LEFT JOIN rating_follow_ups f ON f.rating_id = r.id
CROSS JOIN LATERAL (
    SELECT r.id                                                                    AS rating_id,
           r.score                                                                 AS rating,
           csat_export_text(r.comment, p.spreadsheet_safe)                         AS comment,
           r.source_platform                                                       AS source_platform,
           to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')  AS rating_date,
           r.source                                                                AS source,
           r.reference_id                                                          AS reference_id,
           r.company_id                                                            AS company_id,
           csat_export_text(c.name, p.spreadsheet_safe)                            AS company_name,
           c.country                                                               AS country,
           csat_export_text(p.flag_base_url, p.spreadsheet_safe) || lower(c.country) || '.svg' AS country_img,
           csat_export_text(tt.name, p.spreadsheet_safe)                           AS ticket_type,
           csat_export_text(tt.description, p.spreadsheet_safe)                    AS ticket_type_description,
           csat_export_text(ts.description, p.spreadsheet_safe)                    AS "ticketsStatusDescription",
           ts.color                                                                AS "ticketsStatusColor",
           csat_export_text(ca.name, p.spreadsheet_safe)                           AS carrier,
           csat_export_text(ca.description, p.spreadsheet_safe)                    AS carrier_name,
           csat_export_text(p.carrier_logo_base_url, p.spreadsheet_safe) || ca.name || '.svg' AS logo,
           csat_export_text(f.comments, p.spreadsheet_safe)                        AS follow_up_comments,
           f.created_by                                                            AS follow_up_created_by,
           to_char(f.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')  AS follow_up_created_at,
           f.updated_by                                                            AS follow_up_updated_by,
           to_char(f.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')  AS follow_up_updated_at
) e
ORDER BY :sort_column :sort_direction, r.id :sort_direction
LIMIT NULLIF(:'row_limit', '')::bigint OFFSET :'row_offset'::bigint;
