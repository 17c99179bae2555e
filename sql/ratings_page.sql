-- ratings_page.sql :many — one page of CSAT list rows in order, each carrying recordsTotal and recordsFiltered; an empty page is one row of counts with NULL row fields.
-- Params: locale_ids smallint[]|empty, company_ids bigint[]|empty, sources text[]|empty,
--         source_platforms text[]|empty, rating smallint|empty, scores smallint[]|empty,
--         start_date date|empty, end_date date|empty, time_zone text, agent_ids integer[]|empty,
--         carriers text[]|empty (lower-case), has_comment boolean|empty,
--         follow_up text|empty (pending|done), search text|empty,
--         resolutions text[]|empty (under_4h|4h_to_24h|1d_to_3d|over_3d|unresolved),
--         flag_base_url text, carrier_logo_base_url text, start bigint, length int,
--         count_key text (filtered_count_cache's key for these filters)
-- Identifiers: sort_column r.reference_id|r.score|r.company_id|r.created_at|r.source, sort_direction ASC|DESC
-- psql -v locale_ids='{1,2}' \
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
--      -v start=0 \
--      -v length=5 \
--      -v count_key=psql \
--      -v sort_column=r.created_at \
--      -v sort_direction=DESC \
--      -d "$DATABASE_URL" -f sql/ratings_page.sql
--
-- The page's rating ids are chosen on ratings alone (ORDER BY + LIMIT/OFFSET through
-- csat_filtered_ratings, which an index can serve), and only those rows are joined to
-- csat_rating_rows: a deep OFFSET skips index entries instead of joined rows.
-- Page and counts are one statement, so they come from one snapshot.
-- recordsTotal is read from the trigger-maintained rating_counts. recordsFiltered is counted
-- only when a filter beyond the locale is set: with literal parameters the CASE folds and the
-- count is not even planned otherwise. A count remembered in filtered_count_cache under
-- count_key (migration 0030) is brought up to date with the signed changes logged since it was
-- read, and counted afresh only when there is none still within rating_change_horizon;
-- count_source says which ('total', 'remembered', 'updated' or 'counted'), and the caller
-- remembers an updated or counted one with filter_version (sql/filtered_count_remember.sql).
-- The page's rows come from csat_rating_rows_by_ids (migration 0020), whose 7-table join is
-- planned once per connection instead of on every request.
-- The filter parameters are converted by csat_list_filters_of (sql/definitions), which the
-- planner inlines, and CTEs referenced more than once are NOT MATERIALIZED, so parameters
-- reach the planner as constants it folds into index conditions.
WITH params AS NOT MATERIALIZED (
    SELECT f.*,
           :'flag_base_url'::text         AS flag_base_url,
           :'carrier_logo_base_url'::text AS carrier_logo_base_url,
           :'count_key'::text             AS count_key
    FROM csat_list_filters_of(:'locale_ids', :'company_ids', :'sources', :'source_platforms',
                              :'rating', :'scores', :'start_date', :'end_date', :'time_zone',
                              :'agent_ids', :'carriers', :'has_comment', :'follow_up', :'search',
                              :'resolutions') f
),
filtered AS NOT MATERIALIZED (
    SELECT r.*
    FROM params p,
         csat_filtered_ratings(p.locale_ids, p.company_ids, p.sources, p.source_platforms,
                               p.rating, p.scores, p.start_date, p.end_date, p.time_zone,
                               p.agent_ids, p.carriers, p.has_comment, p.follow_up, p.search,
                               p.resolutions) r
),
remembered AS (
    SELECT c.version, c.ratings
    FROM params p
    JOIN filtered_count_cache c ON c.key = p.count_key
    JOIN rating_change_horizon h ON c.version >= h.version
),
-- How recordsFiltered is had (count_source), decided once; with literal parameters the
-- unfiltered case folds to 'total' and the other branches are not even planned.
count_sources AS (
    SELECT total.ratings AS records_total,
           rem.version AS remembered_version,
           rem.ratings AS remembered_ratings,
           CASE WHEN p.company_ids IS NULL AND p.sources IS NULL AND p.source_platforms IS NULL
                     AND p.rating IS NULL AND p.scores IS NULL AND p.start_date IS NULL
                     AND p.end_date IS NULL AND p.agent_ids IS NULL AND p.carriers IS NULL
                     AND p.has_comment IS NULL AND p.follow_up IS NULL AND p.search IS NULL
                     AND p.resolutions IS NULL
                THEN 'total'
                WHEN rem.version = stamp.version THEN 'remembered'
                WHEN rem.version IS NOT NULL THEN 'updated'
                ELSE 'counted'
           END AS count_source,
           stamp.version AS filter_version
    FROM params p
    CROSS JOIN rating_filter_version stamp
    CROSS JOIN LATERAL (SELECT coalesce(sum(rc.ratings), 0)::bigint AS ratings
                        FROM rating_counts rc
                        WHERE p.locale_ids IS NULL OR rc.locale_id = ANY (p.locale_ids)) total
    LEFT JOIN remembered rem ON true
),
counts AS (
    SELECT cs.records_total,
           CASE cs.count_source
                WHEN 'total' THEN cs.records_total
                WHEN 'remembered' THEN cs.remembered_ratings
                WHEN 'updated'
                THEN cs.remembered_ratings + (SELECT coalesce(sum(ch.sign), 0)
                                              FROM csat_changed_ratings(p.locale_ids, p.company_ids, p.sources,
                                                       p.source_platforms, p.rating, p.scores, p.start_date,
                                                       p.end_date, p.time_zone, p.agent_ids, p.carriers,
                                                       p.has_comment, p.follow_up, p.search, p.resolutions,
                                                       cs.remembered_version) ch)
                ELSE (SELECT count(*) FROM filtered)
           END AS records_filtered,
           cs.count_source,
           cs.filter_version
    FROM count_sources cs, params p
),
page_ids AS (
    SELECT r.id, :sort_column AS sort_key
    FROM filtered r
    ORDER BY :sort_column :sort_direction, r.id :sort_direction
    -- Written in place, not in params: the planner needs a literal LIMIT to pick an index.
    LIMIT :'length'::integer OFFSET :'start'::bigint
)
SELECT c.records_total AS "recordsTotal",
       c.records_filtered AS "recordsFiltered",
       c.filter_version,
       c.count_source,
       page.*
FROM counts c
LEFT JOIN LATERAL (
    SELECT v.rating_id, v.rating, v.comment, v.source_platform, v.rating_date, v.source,
           v.reference_id, v.company_id, v.company_name, v.country,
           p.flag_base_url || lower(v.country) || '.svg'  AS country_img,
           v.ticket_type, v.ticket_type_description,
           v."ticketsStatusDescription", v."ticketsStatusColor",
           v.carrier, v.carrier_name,
           p.carrier_logo_base_url || v.carrier || '.svg' AS logo,
           v.follow_up_comments, v.follow_up_created_by, v.follow_up_created_at,
           v.follow_up_updated_by, v.follow_up_updated_at,
           ids.sort_key
    FROM page_ids ids
    JOIN csat_rating_rows_by_ids(ARRAY(SELECT page_ids.id FROM page_ids)) v ON v.rating_id = ids.id
    CROSS JOIN params p
) page ON true
ORDER BY page.sort_key :sort_direction, page.rating_id :sort_direction;
