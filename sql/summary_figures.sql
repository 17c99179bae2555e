-- summary_figures.sql: one row of CSAT figures for the ratings matching the list filters: headline (total, average, csat %, count per score, with_comment, detractors), the range, breakdowns (JSON), trend points (JSON), and the rating_filter_version they were read at.
-- Params: locale_ids smallint[]|empty, company_ids bigint[]|empty, sources text[]|empty, source_platforms text[]|empty, rating smallint|empty, scores smallint[]|empty, start_date date|empty, end_date date|empty, time_zone text, agent_ids integer[]|empty, carriers text[]|empty (lower-case), has_comment boolean|empty, follow_up text|empty (pending|done), search text|empty, resolutions text[]|empty (under_4h|4h_to_24h|1d_to_3d|over_3d|unresolved), granularity text|empty (day|week|month), min_sample int
-- psql -v locale_ids='{1,2}' -v company_ids= -v sources= -v source_platforms= -v rating= -v scores= -v start_date=2025-01-01 -v end_date=2025-03-31 -v time_zone=America/Mexico_City -v agent_ids= -v carriers= -v has_comment= -v follow_up= -v search= -v resolutions= -v granularity= -v min_sample=30 -d "$DATABASE_URL" -f sql/summary_figures.sql
--
-- The same filters as the list (csat_filtered_ratings), so `total` equals the list's
-- recordsFiltered. Every figure comes from three aggregations of the matching ratings into a
-- few thousand cells, plain GROUP BYs that PostgreSQL can run in parallel (GROUPING SETS
-- over the ratings themselves cannot be, and took twice as long); totals, breakdowns and
-- periods are then rolled up from the cells:
--   rating_cells  by carrier and score: headline and the source, platform and carrier breakdowns;
--   ticket_cells  by the ticket's type and assigned agent and score (ticket ratings only; the
--                 rating's copies of its ticket's values, migration 0023, so no join);
--   day_cells     by local day: the trend (one index range scan per day, or one pass with
--                 width_bucket, depending on the filters: see day_method);
-- plus the count of followed-up detractors. Without filters at 1,000,000 ratings: ~270 ms on
-- two cores (rating_cells 75, day_cells 50, followed-up detractors 50, ticket_cells 25, the rest
-- rolling up and JSON).
--
-- Headline: csat is the share of 4-5 star ratings among all, as a percentage with one decimal;
-- average has two; both NULL when nothing matches. A detractor scored 1-2; followed up = has a
-- row in rating_follow_ups, pending = has none (the followUp filter's meaning).
--
-- breakdowns: {"source": [...], "source_platform": [...], "carrier": [...], "ticket_type": [...],
-- "agent": [...]}, each entry {key, name, count, average, csat, csat_lower, csat_upper,
-- low_sample}, count descending then key. key: the source or platform name, the carrier or
-- ticket type slug (name its display description), the agent's administrator id (name their
-- name); null gathers the ratings with no carrier, no ticket type or no assigned agent
-- (carrier and shop ratings have no ticket), so each dimension's counts add up to the total.
-- csat, csat_lower and csat_upper are percentages with one decimal; the bounds are the 95%
-- Wilson score interval (z = 1.959964) of the share of 4-5 star ratings:
--   (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n).
-- low_sample: fewer than min_sample ratings, too few to compare.
--
-- Range and trend: periods are calendar days, ISO weeks (Monday to Sunday) or calendar months
-- in the business time zone. The range (first_day, last_day) is start_date..end_date, or, for
-- an open end, the first/last day with a matching rating (NULL when none). Without a
-- granularity it follows the range's length: day up to 31 days, week up to 182, month beyond.
-- trend_points: [{start, end, total, average, csat}], one per period of the range, empty ones
-- included; start/end are the days of the range it covers (the first and last periods may be
-- partial); [] when there is no range. granularity: the periods' (the requested one, or NULL,
-- when there are none).
-- Rows are given their local day without converting each timestamp to the time zone (three
-- times the cost of the whole trend): the local midnights of the days the data can span are
-- computed once as instants (see day_cells).
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
           csat_arg_texts(:'resolutions')           AS resolutions,
           NULLIF(:'granularity', '')::text         AS granularity,
           :'min_sample'::integer                   AS min_sample
),
filtered AS NOT MATERIALIZED (
    SELECT r.*
    FROM params p,
         csat_filtered_ratings(p.locale_ids, p.company_ids, p.sources, p.source_platforms,
                               p.rating, p.scores, p.start_date, p.end_date, p.time_zone,
                               p.agent_ids, p.carriers, p.has_comment, p.follow_up, p.search,
                               p.resolutions) r
),
-- Sources and platforms are counted per cell rather than grouped by: two fewer text keys to
-- hash per rating (a fifth less time); their values are 0001's CHECK lists.
rating_cells AS (
    SELECT r.carrier_id, r.score,
           count(*)                                                AS n,
           count(*) FILTER (WHERE r.source = 'ticket')             AS ticket,
           count(*) FILTER (WHERE r.source = 'carrier')            AS carrier,
           count(*) FILTER (WHERE r.source = 'shop')               AS shop,
           count(*) FILTER (WHERE r.source_platform = 'platform')  AS platform,
           count(*) FILTER (WHERE r.source_platform = 'whatsapp')  AS whatsapp,
           count(*) FILTER (WHERE r.comment <> '')                 AS with_comment
    FROM filtered r
    GROUP BY r.carrier_id, r.score
),
-- Joined to the detractors only: probing the follow-ups with every rating inside rating_cells
-- cost more than this separate scan.
followed_up AS (
    SELECT count(*) AS detractors_followed_up
    FROM filtered r
    JOIN rating_follow_ups f ON f.rating_id = r.id
    WHERE r.score <= 2
),
value_cells AS (
    SELECT v.dimension, v.value, rc.score, v.n
    FROM rating_cells rc,
         LATERAL (VALUES ('source', 'ticket', rc.ticket), ('source', 'carrier', rc.carrier),
                         ('source', 'shop', rc.shop), ('source_platform', 'platform', rc.platform),
                         ('source_platform', 'whatsapp', rc.whatsapp)) AS v (dimension, value, n)
    WHERE v.n > 0
),
-- Ticket ratings by the ticket's type and agent (their copies on the rating, migration 0023),
-- grouped in the order of ratings_ticket_cells_idx, so without filters it is one index-only
-- scan with no hashing (~25 ms for 600,000 ticket ratings, against ~110 ms for a hashed scan).
ticket_cells AS (
    SELECT r.ticket_type_id AS type_id, r.assigned_admin_id, r.score, count(*) AS n
    FROM filtered r
    WHERE r.ticket_id IS NOT NULL
    GROUP BY r.assigned_admin_id, r.ticket_type_id, r.score
),
-- The local days any matching rating can fall on: the filter's dates, narrowed to the days
-- between the oldest and newest rating of all (two index lookups), so an open or far-reaching
-- range never generates days without data. Each day is the instants [starts, ends), its local
-- midnights, so daylight-saving days are 23 or 25 hours long.
day_span AS (
    SELECT greatest(p.start_date, ((SELECT min(r.created_at) FROM ratings r) AT TIME ZONE p.time_zone)::date) AS first_day,
           least(p.end_date, ((SELECT max(r.created_at) FROM ratings r) AT TIME ZONE p.time_zone)::date)      AS last_day
    FROM params p
),
days AS (
    SELECT d.day::date                                         AS day,
           d.day AT TIME ZONE p.time_zone                      AS starts,
           (d.day + interval '1 day') AT TIME ZONE p.time_zone AS ends
    FROM day_span s, params p,
         generate_series(s.first_day::timestamp, s.last_day::timestamp, interval '1 day') AS d (day)
),
-- Two ways to give the matching ratings their day; only one runs (the other's one-time
-- condition, day_method, is false, so it is never executed). Without filters beyond locale, scores and dates, all the trend
-- needs is in ratings_created_at_id_idx (0023): one index-only range scan per day, no
-- timestamp converted or hashed (45 ms for 730 days at 1,000,000 ratings, against 220 ms).
-- Other filters have better access paths of their own, which a scan per day would repeat
-- 730 times: the matching ratings are read once and width_bucket finds each one's day among
-- the days' first instants (starts[i] <= created_at < starts[i + 1] is day i of the span).
day_method AS (
    SELECT p.company_ids IS NULL AND p.sources IS NULL AND p.source_platforms IS NULL
           AND p.agent_ids IS NULL AND p.carriers IS NULL AND p.has_comment IS NULL
           AND p.follow_up IS NULL AND p.search IS NULL
           AND p.resolutions IS NULL                     AS per_day_index_scan
    FROM params p
),
day_starts AS (
    SELECT min(d.day) AS first_day, array_agg(d.starts ORDER BY d.day) || max(d.ends) AS starts
    FROM days d
),
day_cells AS (
    SELECT d.day, c.n, c.score_sum, c.satisfied
    FROM days d,
         LATERAL (SELECT count(*)                             AS n,
                         sum(r.score)                         AS score_sum,
                         count(*) FILTER (WHERE r.score >= 4) AS satisfied
                  FROM filtered r
                  WHERE r.created_at >= d.starts AND r.created_at < d.ends) AS c
    WHERE (SELECT m.per_day_index_scan FROM day_method m) AND c.n > 0
    UNION ALL
    SELECT ds.first_day + b.bucket - 1, b.n, b.score_sum, b.satisfied
    FROM day_starts ds,
         (SELECT width_bucket(r.created_at, (SELECT ds.starts FROM day_starts ds)) AS bucket,
                 count(*)                                                          AS n,
                 sum(r.score)                                                      AS score_sum,
                 count(*) FILTER (WHERE r.score >= 4)                              AS satisfied
          FROM filtered r
          WHERE NOT (SELECT m.per_day_index_scan FROM day_method m)
          GROUP BY 1) AS b
),
headline AS (
    SELECT coalesce(sum(c.n), 0)::bigint                                AS total,
           sum(c.n * c.score)                                           AS score_sum,
           coalesce(sum(c.n) FILTER (WHERE c.score >= 4), 0)::bigint     AS satisfied,
           coalesce(sum(c.n) FILTER (WHERE c.score = 1), 0)::bigint      AS score_1,
           coalesce(sum(c.n) FILTER (WHERE c.score = 2), 0)::bigint      AS score_2,
           coalesce(sum(c.n) FILTER (WHERE c.score = 3), 0)::bigint      AS score_3,
           coalesce(sum(c.n) FILTER (WHERE c.score = 4), 0)::bigint      AS score_4,
           coalesce(sum(c.n) FILTER (WHERE c.score = 5), 0)::bigint      AS score_5,
           coalesce(sum(c.with_comment), 0)::bigint                      AS with_comment,
           (SELECT fu.detractors_followed_up FROM followed_up fu)        AS detractors_followed_up
    FROM rating_cells c
),
-- Ratings without a ticket (carrier and shop) join the null ticket type and agent.
ticket_or_none_cells AS (
    SELECT tc.type_id, tc.assigned_admin_id, tc.score, tc.n
    FROM ticket_cells tc
    UNION ALL
    SELECT NULL, NULL, rc.score, rc.n - rc.ticket
    FROM rating_cells rc
    WHERE rc.n > rc.ticket
),
groups AS (
    SELECT vc.dimension, vc.value, NULL::integer AS carrier_id,
           NULL::smallint AS type_id, NULL::integer AS assigned_admin_id,
           sum(vc.n)::bigint AS n, sum(vc.n * vc.score)::bigint AS score_sum,
           (sum(vc.n) FILTER (WHERE vc.score >= 4))::bigint AS satisfied
    FROM value_cells vc
    GROUP BY vc.dimension, vc.value
    UNION ALL
    SELECT 'carrier', NULL, rc.carrier_id, NULL, NULL,
           sum(rc.n)::bigint, sum(rc.n * rc.score)::bigint,
           (sum(rc.n) FILTER (WHERE rc.score >= 4))::bigint
    FROM rating_cells rc
    GROUP BY rc.carrier_id
    UNION ALL
    SELECT CASE WHEN GROUPING(tc.type_id) = 0 THEN 'ticket_type' ELSE 'agent' END,
           NULL, NULL, tc.type_id, tc.assigned_admin_id,
           sum(tc.n)::bigint, sum(tc.n * tc.score)::bigint,
           (sum(tc.n) FILTER (WHERE tc.score >= 4))::bigint
    FROM ticket_or_none_cells tc
    GROUP BY GROUPING SETS ((tc.type_id), (tc.assigned_admin_id))
),
shares AS (
    SELECT g.*,
           coalesce(g.satisfied, 0)::float8 / g.n       AS p,
           1.959964::float8 ^ 2 / g.n                   AS z2n
    FROM groups g
),
bounds AS (
    SELECT s.*,
           (s.p + s.z2n / 2) / (1 + s.z2n)                                        AS centre,
           sqrt(s.p * (1 - s.p) * s.z2n + s.z2n ^ 2 / 4) / (1 + s.z2n)           AS half_width
    FROM shares s
),
entries AS (
    SELECT b.dimension, b.n,
           CASE b.dimension
               WHEN 'source' THEN to_jsonb(b.value)
               WHEN 'source_platform' THEN to_jsonb(b.value)
               WHEN 'carrier' THEN to_jsonb(c.name)
               WHEN 'ticket_type' THEN to_jsonb(tt.name)
               ELSE to_jsonb(a.id)
           END                                                                   AS key,
           CASE b.dimension
               WHEN 'source' THEN b.value
               WHEN 'source_platform' THEN b.value
               WHEN 'carrier' THEN c.description
               WHEN 'ticket_type' THEN tt.description
               ELSE a.name
           END                                                                   AS name,
           round(b.score_sum::numeric / b.n, 2)::float8                          AS average,
           round((100 * b.p)::numeric, 1)::float8                                AS csat,
           round((100 * (b.centre - b.half_width))::numeric, 1)::float8          AS csat_lower,
           round((100 * (b.centre + b.half_width))::numeric, 1)::float8          AS csat_upper,
           b.n < p.min_sample                                                    AS low_sample
    FROM bounds b
    CROSS JOIN params p
    LEFT JOIN carriers c ON c.id = b.carrier_id AND b.dimension = 'carrier'
    LEFT JOIN ticket_types tt ON tt.id = b.type_id AND b.dimension = 'ticket_type'
    LEFT JOIN administrators a ON a.id = b.assigned_admin_id AND b.dimension = 'agent'
),
breakdowns AS (
    SELECT json_build_object(
               'source', coalesce(json_agg(e.entry ORDER BY e.n DESC, e.key) FILTER (WHERE e.dimension = 'source'), '[]'),
               'source_platform', coalesce(json_agg(e.entry ORDER BY e.n DESC, e.key) FILTER (WHERE e.dimension = 'source_platform'), '[]'),
               'carrier', coalesce(json_agg(e.entry ORDER BY e.n DESC, e.key) FILTER (WHERE e.dimension = 'carrier'), '[]'),
               'ticket_type', coalesce(json_agg(e.entry ORDER BY e.n DESC, e.key) FILTER (WHERE e.dimension = 'ticket_type'), '[]'),
               'agent', coalesce(json_agg(e.entry ORDER BY e.n DESC, e.key) FILTER (WHERE e.dimension = 'agent'), '[]')
           ) AS breakdowns
    FROM (SELECT en.dimension, en.n, en.key,
                 json_build_object('key', en.key, 'name', en.name, 'count', en.n, 'average', en.average,
                                   'csat', en.csat, 'csat_lower', en.csat_lower, 'csat_upper', en.csat_upper,
                                   'low_sample', en.low_sample) AS entry
          FROM entries en) e
),
range AS (
    SELECT coalesce(p.start_date, (SELECT min(d.day) FROM day_cells d)) AS first_day,
           coalesce(p.end_date, (SELECT max(d.day) FROM day_cells d))   AS last_day,
           p.granularity                                                AS requested
    FROM params p
),
range_granularity AS (
    SELECT r.first_day, r.last_day, r.requested,
           coalesce(r.requested,
                    CASE WHEN r.last_day - r.first_day + 1 <= 31 THEN 'day'
                         WHEN r.last_day - r.first_day + 1 <= 182 THEN 'week'
                         ELSE 'month'
                    END)                                                AS granularity
    FROM range r
),
periods AS (
    SELECT g.start::date                                             AS start,
           (g.start + ('1 ' || r.granularity)::interval)::date - 1   AS last
    FROM range_granularity r,
         generate_series(date_trunc(r.granularity, r.first_day::timestamp),
                         r.last_day::timestamp,
                         ('1 ' || r.granularity)::interval) AS g (start)
),
-- Days are rolled up into periods before meeting them, so the join is on equality.
period_figures AS (
    SELECT date_trunc(r.granularity, d.day::timestamp)::date          AS start,
           sum(d.n) AS n, sum(d.score_sum) AS score_sum, sum(d.satisfied) AS satisfied
    FROM day_cells d, range_granularity r
    GROUP BY 1
),
trend AS (
    SELECT count(pe.start) > 0 AS has_periods,
           coalesce(json_agg(json_build_object(
                        'start', to_char(greatest(pe.start, r.first_day), 'YYYY-MM-DD'),
                        'end', to_char(least(pe.last, r.last_day), 'YYYY-MM-DD'),
                        'total', coalesce(f.n, 0),
                        'average', round(f.score_sum::numeric / f.n, 2)::float8,
                        'csat', round(100.0 * f.satisfied / f.n, 1)::float8)
                    ORDER BY pe.start) FILTER (WHERE pe.start IS NOT NULL), '[]') AS points
    FROM range_granularity r
    LEFT JOIN periods pe ON true
    LEFT JOIN period_figures f ON f.start = pe.start
)
SELECT h.total,
       round(h.score_sum::numeric / NULLIF(h.total, 0), 2)::float8               AS average,
       round(100.0 * h.satisfied / NULLIF(h.total, 0), 1)::float8                AS csat,
       h.score_1, h.score_2, h.score_3, h.score_4, h.score_5,
       h.with_comment,
       h.score_1 + h.score_2                                                     AS detractors,
       h.detractors_followed_up,
       h.score_1 + h.score_2 - h.detractors_followed_up                          AS detractors_pending,
       to_char(r.first_day, 'YYYY-MM-DD')                                        AS first_day,
       to_char(r.last_day, 'YYYY-MM-DD')                                         AS last_day,
       CASE WHEN t.has_periods THEN r.granularity ELSE r.requested END           AS granularity,
       b.breakdowns,
       t.points                                                                  AS trend_points,
       stamp.version                                                             AS filter_version
FROM headline h, range_granularity r, breakdowns b, trend t, rating_filter_version stamp;
