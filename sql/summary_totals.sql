-- summary_totals.sql: one row of headline CSAT figures for the ratings matching the list filters: total, average, csat %, count per score, with_comment, detractors followed up and pending.
-- Params: locale_ids smallint[]|empty, company_ids bigint[]|empty, sources text[]|empty, source_platforms text[]|empty, rating smallint|empty, scores smallint[]|empty, start_date date|empty, end_date date|empty, time_zone text, agent_ids integer[]|empty, carriers text[]|empty (lower-case), has_comment boolean|empty, follow_up text|empty (pending|done), search text|empty, resolutions text[]|empty (under_4h|4h_to_24h|1d_to_3d|over_3d|unresolved)
-- psql -v locale_ids='{1,2}' -v company_ids= -v sources= -v source_platforms= -v rating= -v scores= -v start_date=2025-01-01 -v end_date=2026-12-31 -v time_zone=America/Mexico_City -v agent_ids= -v carriers= -v has_comment= -v follow_up= -v search= -v resolutions= -d "$DATABASE_URL" -f sql/summary_totals.sql
--
-- The same filters as the list (csat_filtered_ratings), so `total` equals the list's
-- recordsFiltered. csat is the share of 4-5 star ratings among all, as a percentage with one
-- decimal; average has two; both are NULL when nothing matches. A detractor scored 1-2;
-- followed up = has a row in rating_follow_ups, pending = has none (the followUp filter's
-- meaning). The service also runs this file for the previous period (compare=previous).
-- Follow-ups are counted from their own (small) table into the matching detractors rather
-- than looked up for every rating.
WITH params AS NOT MATERIALIZED (
    SELECT csat_arg_smallints(:'locale_ids')        AS locale_ids,
           csat_arg_bigints(:'company_ids')         AS company_ids,
           csat_arg_texts(:'sources')               AS sources,
           csat_arg_texts(:'source_platforms')      AS source_platforms,
           NULLIF(:'rating', '')::smallint          AS rating,
           csat_arg_smallints(:'scores')            AS scores,
           csat_arg_date(:'start_date')             AS start_date,
           csat_arg_date(:'end_date')               AS end_date,
           :'time_zone'::text                       AS time_zone,
           csat_arg_integers(:'agent_ids')          AS agent_ids,
           csat_arg_texts(:'carriers')              AS carriers,
           NULLIF(:'has_comment', '')::boolean      AS has_comment,
           NULLIF(:'follow_up', '')::text           AS follow_up,
           NULLIF(:'search', '')::text              AS search,
           csat_arg_texts(:'resolutions')           AS resolutions
),
filtered AS NOT MATERIALIZED (
    SELECT r.*
    FROM params p,
         csat_filtered_ratings(p.locale_ids, p.company_ids, p.sources, p.source_platforms,
                               p.rating, p.scores, p.start_date, p.end_date, p.time_zone,
                               p.agent_ids, p.carriers, p.has_comment, p.follow_up, p.search,
                               p.resolutions) r
),
figures AS (
    SELECT count(*)                                    AS total,
           sum(r.score)                                AS score_sum,
           count(*) FILTER (WHERE r.score >= 4)        AS satisfied,
           count(*) FILTER (WHERE r.score = 1)         AS score_1,
           count(*) FILTER (WHERE r.score = 2)         AS score_2,
           count(*) FILTER (WHERE r.score = 3)         AS score_3,
           count(*) FILTER (WHERE r.score = 4)         AS score_4,
           count(*) FILTER (WHERE r.score = 5)         AS score_5,
           count(*) FILTER (WHERE r.comment <> '')     AS with_comment
    FROM filtered r
),
followed_up AS (
    SELECT count(*) AS detractors_followed_up
    FROM filtered r
    JOIN rating_follow_ups f ON f.rating_id = r.id
    WHERE r.score <= 2
)
SELECT fig.total,
       round(fig.score_sum::numeric / NULLIF(fig.total, 0), 2)::float8           AS average,
       round(100.0 * fig.satisfied / NULLIF(fig.total, 0), 1)::float8            AS csat,
       fig.score_1, fig.score_2, fig.score_3, fig.score_4, fig.score_5,
       fig.with_comment,
       fig.score_1 + fig.score_2                                                 AS detractors,
       fu.detractors_followed_up,
       fig.score_1 + fig.score_2 - fu.detractors_followed_up                     AS detractors_pending
FROM figures fig, followed_up fu;
