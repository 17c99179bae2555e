-- ratings_export.sql: every CSAT list row matching the filters, in the list's order, with no paging (report=true).
-- Params: locale_ids smallint[]|empty, company_ids bigint[]|empty, sources text[]|empty, source_platforms text[]|empty, rating smallint|empty, scores smallint[]|empty, start_date date|empty, end_date date|empty, time_zone text, agent_ids integer[]|empty, carriers text[]|empty (lower-case), has_comment boolean|empty, follow_up text|empty (pending|done), search text|empty, flag_base_url text, carrier_logo_base_url text
-- Identifiers: sort_column r.reference_id|r.score|r.company_id|r.created_at|r.source, sort_direction ASC|DESC
-- psql -v locale_ids='{1,2}' -v company_ids= -v sources= -v source_platforms= -v rating= -v scores='{1,2}' -v start_date=2025-01-01 -v end_date=2026-12-31 -v time_zone=America/Mexico_City -v agent_ids= -v carriers= -v has_comment= -v follow_up= -v search= -v flag_base_url=https://assets.example.com/flags/ -v carrier_logo_base_url=https://assets.example.com/carriers/ -v sort_column=r.created_at -v sort_direction=DESC -d "$DATABASE_URL" -f sql/ratings_export.sql
--
-- The same filters (csat_filtered_ratings), row (csat_rating_rows), asset URL expressions,
-- column order and sort as ratings_page.sql, so an export equals the list's pages laid end
-- to end. The service reads it through a named cursor with cursor_tuple_fraction = 1
-- (export_session_setup.sql): the planner then optimises for reading every row (hash joins
-- and one sort) rather than for a fast first page (nested loops down an index).
-- Operators can export the same rows with
--   psql ... -c "\copy (<this query with the variables filled in>) to 'out.csv' csv header"
WITH params AS (
    SELECT NULLIF(:'locale_ids', '')::smallint[]        AS locale_ids,
           NULLIF(:'company_ids', '')::bigint[]         AS company_ids,
           NULLIF(:'sources', '')::text[]               AS sources,
           NULLIF(:'source_platforms', '')::text[]      AS source_platforms,
           NULLIF(:'rating', '')::smallint              AS rating,
           NULLIF(:'scores', '')::smallint[]            AS scores,
           NULLIF(:'start_date', '')::date              AS start_date,
           NULLIF(:'end_date', '')::date                AS end_date,
           :'time_zone'::text                           AS time_zone,
           NULLIF(:'agent_ids', '')::integer[]          AS agent_ids,
           NULLIF(:'carriers', '')::text[]              AS carriers,
           NULLIF(:'has_comment', '')::boolean          AS has_comment,
           NULLIF(:'follow_up', '')::text               AS follow_up,
           NULLIF(:'search', '')::text                  AS search,
           :'flag_base_url'::text                       AS flag_base_url,
           :'carrier_logo_base_url'::text               AS carrier_logo_base_url
)
SELECT v.rating_id, v.rating, v.comment, v.source_platform, v.rating_date, v.source,
       v.reference_id, v.company_id, v.company_name, v.country,
       p.flag_base_url || lower(v.country) || '.svg'  AS country_img,
       v.ticket_type, v.ticket_type_description,
       v."ticketsStatusDescription", v."ticketsStatusColor",
       v.carrier, v.carrier_name,
       p.carrier_logo_base_url || v.carrier || '.svg' AS logo,
       v.follow_up_comments, v.follow_up_created_by, v.follow_up_created_at,
       v.follow_up_updated_by, v.follow_up_updated_at
FROM params p,
     csat_filtered_ratings(p.locale_ids, p.company_ids, p.sources, p.source_platforms,
                           p.rating, p.scores, p.start_date, p.end_date, p.time_zone,
                           p.agent_ids, p.carriers, p.has_comment, p.follow_up, p.search) r
JOIN csat_rating_rows v ON v.rating_id = r.id
ORDER BY :sort_column :sort_direction, r.id :sort_direction;
