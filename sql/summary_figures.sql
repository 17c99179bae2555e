-- summary_figures.sql :one — one row of CSAT figures for the ratings matching the list filters: headline (total, average, csat %, count per score, with_comment, detractors), the range, breakdowns (JSON), trend points (JSON), the rating_filter_version they were read at, how they were had (computed, updated, remembered) and the cells to remember.
-- Params: locale_ids smallint[]|empty, company_ids bigint[]|empty, sources text[]|empty,
--         source_platforms text[]|empty, rating smallint|empty, scores smallint[]|empty,
--         start_date date|empty, end_date date|empty, time_zone text, agent_ids integer[]|empty,
--         carriers text[]|empty (lower-case), has_comment boolean|empty,
--         follow_up text|empty (pending|done), search text|empty,
--         resolutions text[]|empty (under_4h|4h_to_24h|1d_to_3d|over_3d|unresolved),
--         granularity text|empty (day|week|month), min_sample int,
--         cache_key text (summary_cell_cache's key for these filters and dates),
--         company_keys bigint[]|empty (the companies to show; empty: the 25 at risk)
-- psql -v locale_ids='{1,2}' \
--      -v company_ids= \
--      -v sources= \
--      -v source_platforms= \
--      -v rating= \
--      -v scores= \
--      -v start_date=2025-01-01 \
--      -v end_date=2025-03-31 \
--      -v time_zone=America/Mexico_City \
--      -v agent_ids= \
--      -v carriers= \
--      -v has_comment= \
--      -v follow_up= \
--      -v search= \
--      -v resolutions= \
--      -v granularity= \
--      -v min_sample=30 \
--      -v cache_key=psql \
--      -v company_keys= \
--      -d "$DATABASE_URL" -f sql/summary_figures.sql
--
-- The same filters as the list (csat_filtered_ratings), so `total` equals the list's
-- recordsFiltered. Every figure is rolled up from cells, sums that add: per carrier and
-- score (headline; source, platform and carrier breakdowns), per ticket type, agent and
-- resolution time and score (ticket ratings; the rating's copies of its ticket's values,
-- migrations 0023 and 0025), per company, per local day (the trend), and the followed-up
-- detractors. The cells are remembered in
-- summary_cell_cache under cache_key with the version they were read at (migration 0030) and
-- brought up to date with the changes logged since; they are computed from the matching
-- ratings only when none are remembered (see `how`). The caller remembers the returned cells
-- (sql/summary_cells_remember.sql) unless they were remembered already.
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
    SELECT f.*,
           NULLIF(:'granularity', '')::text  AS granularity,
           :'min_sample'::integer            AS min_sample,
           :'cache_key'::text                AS cache_key,
           csat_arg_bigints(:'company_keys') AS company_keys
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
-- What this summary's cells were last remembered as (filtered_count_cache's twin,
-- migration 0030), and so how they are had now: 'computed' from the matching ratings when
-- none are remembered within the horizon, 'updated' by adding the changes logged since,
-- 'remembered' as they are when nothing changed. Only one of the paths below runs: the
-- others' one-time conditions are false, so PostgreSQL never executes them. The computed_*
-- cells are MATERIALIZED and gated where they are read: a condition inside them would sit
-- below the Gather of their parallel plan, whose workers would start for nothing.
remembered AS (
    SELECT c.version, c.cells, c.company_ids, c.company_ratings, c.company_score_sums, c.company_satisfied
    FROM params p
    JOIN summary_cell_cache c ON c.key = p.cache_key
    JOIN rating_change_horizon h ON c.version >= h.version
),
how AS (
    SELECT CASE WHEN rem.version IS NULL THEN 'computed'
                WHEN rem.version = stamp.version THEN 'remembered'
                ELSE 'updated'
           END AS how,
           rem.version AS since
    FROM rating_filter_version stamp
    LEFT JOIN remembered rem ON true
),
-- The signed images logged since (csat_changed_ratings: the same filters), when updating.
changes AS NOT MATERIALIZED (
    SELECT ch.*
    FROM params p, how h,
         csat_changed_ratings(p.locale_ids, p.company_ids, p.sources, p.source_platforms,
                              p.rating, p.scores, p.start_date, p.end_date, p.time_zone,
                              p.agent_ids, p.carriers, p.has_comment, p.follow_up, p.search,
                              p.resolutions, h.since) ch
    WHERE h.how = 'updated'
),
-- Sources and platforms are counted per cell rather than grouped by: two fewer text keys to
-- hash per rating (a fifth less time); their values are 0001's CHECK lists.
computed_rating_cells AS MATERIALIZED (
    SELECT r.locale_id, r.carrier_id, r.score,
           count(*)                                                AS n,
           count(*) FILTER (WHERE r.source = 'ticket')             AS ticket,
           count(*) FILTER (WHERE r.source = 'carrier')            AS carrier,
           count(*) FILTER (WHERE r.source = 'shop')               AS shop,
           count(*) FILTER (WHERE r.source_platform = 'platform')  AS platform,
           count(*) FILTER (WHERE r.source_platform = 'whatsapp')  AS whatsapp,
           count(*) FILTER (WHERE r.comment <> '')                 AS with_comment
    FROM filtered r
    GROUP BY r.locale_id, r.carrier_id, r.score
),
-- Per company (20,000 at 10M): only what the shippers-at-risk breakdown ranks by.
computed_company_cells AS MATERIALIZED (
    SELECT r.company_id, count(*) AS n, sum(r.score) AS score_sum,
           count(*) FILTER (WHERE r.score >= 4) AS satisfied
    FROM filtered r
    GROUP BY r.company_id
),
-- Joined to the detractors only: probing the follow-ups with every rating inside the cells
-- cost more than this separate scan.
computed_followed_up AS MATERIALIZED (
    SELECT count(*) AS n
    FROM filtered r
    JOIN rating_follow_ups f ON f.rating_id = r.id
    WHERE r.score <= 2
),
-- Ticket ratings by the ticket's type and agent (their copies on the rating, migration 0023),
-- grouped in the order of ratings_ticket_cells_idx, so without filters it is one index-only
-- scan with no hashing.
computed_ticket_cells AS MATERIALIZED (
    SELECT r.ticket_type_id AS type_id, r.assigned_admin_id, r.ticket_resolution, r.score, count(*) AS n
    FROM filtered r
    WHERE r.ticket_id IS NOT NULL
    GROUP BY r.assigned_admin_id, r.ticket_type_id, r.ticket_resolution, r.score
),
-- The local days any matching rating can fall on: the filter's dates, narrowed to the days
-- between the oldest and newest rating of all (two index lookups), so an open or far-reaching
-- range never generates days without data. Each day is the instants [starts, ends), its local
-- midnights, so daylight-saving days are 23 or 25 hours long.
day_span AS (
    SELECT greatest(p.start_date, ((SELECT min(r.created_at) FROM ratings r) AT TIME ZONE p.time_zone)::date) AS first_day,
           least(p.end_date, ((SELECT max(r.created_at) FROM ratings r) AT TIME ZONE p.time_zone)::date)      AS last_day
    FROM params p
    WHERE (SELECT h.how FROM how h) = 'computed'
),
days AS (
    SELECT d.day::date                                         AS day,
           d.day AT TIME ZONE p.time_zone                      AS starts,
           (d.day + interval '1 day') AT TIME ZONE p.time_zone AS ends
    FROM day_span s, params p,
         generate_series(s.first_day::timestamp, s.last_day::timestamp, interval '1 day') AS d (day)
),
-- Two ways to give the matching ratings their day; only one runs. Without filters beyond
-- locale, scores and dates, all the trend needs is in ratings_created_at_id_idx (0023): one
-- index-only range scan per day, no timestamp converted or hashed. Other filters have better
-- access paths of their own, which a scan per day would repeat for every day: the matching
-- ratings are read once and width_bucket finds each one's day among the days' first instants
-- (starts[i] <= created_at < starts[i + 1] is day i of the span).
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
computed_day_cells AS MATERIALIZED (
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
-- Each kind of cell: remembered + changes since (signed) + computed; only present ones remain.
rating_cells AS (
    SELECT c.locale_id, c.carrier_id, c.score, sum(c.n) AS n, sum(c.ticket) AS ticket, sum(c.carrier) AS carrier,
           sum(c.shop) AS shop, sum(c.platform) AS platform, sum(c.whatsapp) AS whatsapp,
           sum(c.with_comment) AS with_comment
    FROM (SELECT x.l AS locale_id, x.c AS carrier_id, x.s AS score, x.n, x.t AS ticket, x.ca AS carrier,
                 x.sh AS shop, x.p AS platform, x.w AS whatsapp, x.cm AS with_comment
          FROM remembered rem,
               jsonb_to_recordset(rem.cells -> 'rating')
                   AS x (l smallint, c integer, s smallint, n bigint, t bigint, ca bigint, sh bigint, p bigint,
                         w bigint, cm bigint)
          UNION ALL
          SELECT ch.locale_id, ch.carrier_id, ch.score, sum(ch.sign),
                 coalesce(sum(ch.sign) FILTER (WHERE ch.source = 'ticket'), 0),
                 coalesce(sum(ch.sign) FILTER (WHERE ch.source = 'carrier'), 0),
                 coalesce(sum(ch.sign) FILTER (WHERE ch.source = 'shop'), 0),
                 coalesce(sum(ch.sign) FILTER (WHERE ch.source_platform = 'platform'), 0),
                 coalesce(sum(ch.sign) FILTER (WHERE ch.source_platform = 'whatsapp'), 0),
                 coalesce(sum(ch.sign) FILTER (WHERE ch.comment <> ''), 0)
          FROM changes ch
          GROUP BY ch.locale_id, ch.carrier_id, ch.score
          UNION ALL
          SELECT * FROM computed_rating_cells WHERE (SELECT h.how FROM how h) = 'computed') AS c
    GROUP BY c.locale_id, c.carrier_id, c.score
    HAVING sum(c.n) <> 0
),
-- Remembered (or computed: one of the two is empty) joined to the few changes since, so the
-- 20,000 companies are not hashed and summed again on every request.
company_cells AS (
    SELECT coalesce(b.company_id, d.company_id)       AS company_id,
           coalesce(b.n, 0) + coalesce(d.n, 0)        AS n,
           coalesce(b.score_sum, 0) + coalesce(d.score_sum, 0) AS score_sum,
           coalesce(b.satisfied, 0) + coalesce(d.satisfied, 0) AS satisfied
    FROM (SELECT x.company_id, x.n, x.score_sum, x.satisfied
          FROM remembered rem,
               unnest(rem.company_ids, rem.company_ratings, rem.company_score_sums, rem.company_satisfied)
                   AS x (company_id, n, score_sum, satisfied)
          UNION ALL
          SELECT cc.company_id, cc.n, cc.score_sum, cc.satisfied
          FROM computed_company_cells cc
          WHERE (SELECT h.how FROM how h) = 'computed') AS b
    FULL JOIN (SELECT ch.company_id, sum(ch.sign)::bigint AS n, sum(ch.sign * ch.score)::bigint AS score_sum,
                      coalesce(sum(ch.sign) FILTER (WHERE ch.score >= 4), 0)::bigint AS satisfied
               FROM changes ch
               GROUP BY ch.company_id) AS d ON d.company_id = b.company_id
    WHERE coalesce(b.n, 0) + coalesce(d.n, 0) <> 0
),
followed_up AS (
    SELECT coalesce((SELECT (rem.cells ->> 'followed_up')::bigint FROM remembered rem), 0)
           + coalesce((SELECT sum(ch.sign) FROM changes ch WHERE ch.score <= 2 AND ch.followed_up), 0)
           + coalesce((SELECT c.n FROM computed_followed_up c WHERE (SELECT h.how FROM how h) = 'computed'), 0) AS detractors_followed_up
),
-- Ticket ratings by the ticket's type, its assigned agent and its resolution time (migration
-- 0025): one cell list for the three, each key as text (the breakdowns cast it back).
ticket_cells AS (
    SELECT c.dimension, c.key, c.score, sum(c.n) AS n
    FROM (SELECT x.d AS dimension, x.k AS key, x.s AS score, x.n
          FROM remembered rem,
               jsonb_to_recordset(rem.cells -> 'ticket') AS x (d text, k text, s smallint, n bigint)
          UNION ALL
          SELECT d.dimension, d.key, ch.score, sum(ch.sign)
          FROM changes ch,
               LATERAL (VALUES ('type', ch.ticket_type_id::text), ('agent', ch.assigned_admin_id::text),
                               ('resolution', ch.ticket_resolution)) AS d (dimension, key)
          WHERE ch.ticket_id IS NOT NULL
          GROUP BY d.dimension, d.key, ch.score
          UNION ALL
          SELECT d.dimension, d.key, cc.score, sum(cc.n)
          FROM computed_ticket_cells cc,
               LATERAL (VALUES ('type', cc.type_id::text), ('agent', cc.assigned_admin_id::text),
                               ('resolution', cc.ticket_resolution)) AS d (dimension, key)
          WHERE (SELECT h.how FROM how h) = 'computed'
          GROUP BY d.dimension, d.key, cc.score) AS c
    GROUP BY c.dimension, c.key, c.score
    HAVING sum(c.n) <> 0
),
day_cells AS (
    SELECT c.day, sum(c.n) AS n, sum(c.score_sum) AS score_sum, sum(c.satisfied) AS satisfied
    FROM (SELECT x.d AS day, x.n, x.ss AS score_sum, x.sa AS satisfied
          FROM remembered rem, jsonb_to_recordset(rem.cells -> 'day') AS x (d date, n bigint, ss bigint, sa bigint)
          UNION ALL
          SELECT (ch.created_at AT TIME ZONE p.time_zone)::date, sum(ch.sign), sum(ch.sign * ch.score),
                 coalesce(sum(ch.sign) FILTER (WHERE ch.score >= 4), 0)
          FROM changes ch, params p
          GROUP BY 1
          UNION ALL
          SELECT * FROM computed_day_cells WHERE (SELECT h.how FROM how h) = 'computed') AS c
    GROUP BY c.day
    HAVING sum(c.n) <> 0
),
value_cells AS (
    SELECT v.dimension, v.value, rc.score, v.n
    FROM rating_cells rc,
         LATERAL (VALUES ('source', 'ticket', rc.ticket), ('source', 'carrier', rc.carrier),
                         ('source', 'shop', rc.shop), ('source_platform', 'platform', rc.platform),
                         ('source_platform', 'whatsapp', rc.whatsapp)) AS v (dimension, value, n)
    WHERE v.n > 0
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
           (SELECT fu.detractors_followed_up FROM followed_up fu)::bigint AS detractors_followed_up
    FROM rating_cells c
),
-- Ratings without a ticket (carrier and shop) join the null ticket type and agent.
no_ticket_cells AS (
    SELECT rc.score, sum(rc.n - rc.ticket) AS n
    FROM rating_cells rc
    WHERE rc.n > rc.ticket
    GROUP BY rc.score
),
-- Companies are many (20,000 at 10M): ranked on their own, on narrow rows, so that only the
-- 25 shown (or the company_keys of a comparison) become breakdown entries with names.
company_bounds AS (
    SELECT cc.company_id, cc.n, cc.score_sum, cc.satisfied, cc.n >= p.min_sample AS ranked,
           (w.share + w.z2n / 2) / (1 + w.z2n)
               - sqrt(w.share * (1 - w.share) * w.z2n + w.z2n ^ 2 / 4) / (1 + w.z2n) AS lower_exact
    FROM company_cells cc
    CROSS JOIN params p
    CROSS JOIN LATERAL (SELECT cc.satisfied::float8 / cc.n AS share, 1.959964::float8 ^ 2 / cc.n AS z2n) w
    WHERE cc.n >= p.min_sample OR cc.company_id = ANY (p.company_keys)
),
company_ranks AS (
    SELECT cb.*,
           CASE WHEN cb.ranked THEN rank() OVER (PARTITION BY cb.ranked ORDER BY cb.lower_exact DESC) END AS rank,
           row_number() OVER (PARTITION BY cb.ranked ORDER BY cb.lower_exact, cb.n DESC, cb.company_id) AS worst_first
    FROM company_bounds cb
),
shown_companies AS (
    SELECT cr.*
    FROM company_ranks cr, params p
    WHERE CASE WHEN p.company_keys IS NULL THEN cr.ranked AND cr.worst_first <= 25
               ELSE cr.company_id = ANY (p.company_keys) END
),
-- One row per breakdown entry: its dimension, its key (value for text keys, id otherwise)
-- and its sums; companies come ranked already.
groups AS (
    SELECT vc.dimension, vc.value, NULL::bigint AS id, NULL::bigint AS company_rank,
           NULL::bigint AS company_order,
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
    SELECT 'locale', NULL, rc.locale_id, NULL, NULL,
           sum(rc.n)::bigint, sum(rc.n * rc.score)::bigint,
           (sum(rc.n) FILTER (WHERE rc.score >= 4))::bigint
    FROM rating_cells rc
    GROUP BY rc.locale_id
    UNION ALL
    SELECT CASE tc.dimension WHEN 'type' THEN 'ticket_type' ELSE 'agent' END, NULL, tc.key::bigint, NULL, NULL,
           sum(tc.n)::bigint, sum(tc.n * tc.score)::bigint,
           (sum(tc.n) FILTER (WHERE tc.score >= 4))::bigint
    FROM (SELECT t.dimension, t.key, t.score, t.n FROM ticket_cells t WHERE t.dimension IN ('type', 'agent')
          UNION ALL
          SELECT d.dimension, NULL, nt.score, nt.n
          FROM no_ticket_cells nt, (VALUES ('type'), ('agent')) AS d (dimension)) AS tc
    GROUP BY tc.dimension, tc.key
    UNION ALL
    SELECT 'company', NULL, sc.company_id, sc.rank, sc.worst_first,
           sc.n::bigint, sc.score_sum::bigint, sc.satisfied::bigint
    FROM shown_companies sc
    UNION ALL
    SELECT 'resolution_time', tc.key, NULL, NULL, NULL,
           sum(tc.n)::bigint, sum(tc.n * tc.score)::bigint,
           (sum(tc.n) FILTER (WHERE tc.score >= 4))::bigint
    FROM ticket_cells tc
    WHERE tc.dimension = 'resolution'
    GROUP BY tc.key
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
    SELECT b.dimension, b.n, b.id, b.company_rank, b.company_order,
           CASE b.dimension
               WHEN 'source' THEN to_jsonb(b.value)
               WHEN 'source_platform' THEN to_jsonb(b.value)
               WHEN 'carrier' THEN to_jsonb(c.name)
               WHEN 'ticket_type' THEN to_jsonb(tt.name)
               WHEN 'resolution_time' THEN to_jsonb(b.value)
               ELSE to_jsonb(b.id)
           END                                                                   AS key,
           CASE b.dimension
               WHEN 'source' THEN b.value
               WHEN 'source_platform' THEN b.value
               WHEN 'carrier' THEN c.description
               WHEN 'ticket_type' THEN tt.description
               WHEN 'agent' THEN a.name
               WHEN 'locale' THEN l.name
               WHEN 'company' THEN co.name
               WHEN 'resolution_time' THEN CASE b.value WHEN 'under_4h' THEN 'Under 4 hours'
                                                        WHEN '4h_to_24h' THEN '4 to 24 hours'
                                                        WHEN '1d_to_3d' THEN '1 to 3 days'
                                                        WHEN 'over_3d' THEN 'Over 3 days'
                                                        ELSE 'Unresolved' END
           END                                                                   AS name,
           -- The list parameters that, added to the request's, select exactly this entry's
           -- ratings; NULL where none can (no carrier, no agent, a ticket type).
           CASE WHEN b.dimension = 'source' THEN jsonb_build_object('source', b.value)
                WHEN b.dimension = 'source_platform' THEN jsonb_build_object('sourcePlatform', b.value)
                WHEN b.dimension = 'resolution_time' THEN jsonb_build_object('resolution', b.value)
                WHEN b.id IS NULL THEN NULL
                WHEN b.dimension = 'carrier' THEN jsonb_build_object('carrier', c.name)
                WHEN b.dimension = 'agent' THEN jsonb_build_object('agents', b.id::text)
                WHEN b.dimension = 'locale' THEN jsonb_build_object('localeId', b.id::text)
                WHEN b.dimension = 'company' THEN jsonb_build_object('companyId', b.id::text)
           END                                                                   AS filter,
           round(b.score_sum::numeric / b.n, 2)::float8                          AS average,
           coalesce(b.satisfied, 0)                                              AS satisfied,
           b.centre - b.half_width                                               AS lower_exact,
           round((100 * b.p)::numeric, 1)::float8                                AS csat,
           round((100 * (b.centre - b.half_width))::numeric, 1)::float8          AS csat_lower,
           round((100 * (b.centre + b.half_width))::numeric, 1)::float8          AS csat_upper,
           b.n < p.min_sample                                                    AS low_sample
    FROM bounds b
    CROSS JOIN params p
    LEFT JOIN carriers c ON c.id = b.id AND b.dimension = 'carrier'
    LEFT JOIN ticket_types tt ON tt.id = b.id AND b.dimension = 'ticket_type'
    LEFT JOIN administrators a ON a.id = b.id AND b.dimension = 'agent'
    LEFT JOIN locales l ON l.id = b.id AND b.dimension = 'locale'
    LEFT JOIN companies co ON co.id = b.id AND b.dimension = 'company'
),
-- rank: 1 = the highest csat_lower of its breakdown among entries with enough ratings
-- (ties share a rank); the unrounded bound decides.
-- Companies: the shippers at risk, the 25 ranked lowest, worst first; or, for the previous
-- period of a comparison, exactly the companies the current period shows (company_keys).
shown AS (
    SELECT en.*,
           CASE WHEN en.dimension = 'company' THEN en.company_rank
                WHEN NOT en.low_sample
                THEN rank() OVER (PARTITION BY en.dimension, en.low_sample ORDER BY en.lower_exact DESC)
           END AS rank,
           en.company_order AS worst_first
    FROM entries en
),
breakdowns AS (
    SELECT json_build_object(
               'source', coalesce(json_agg(e.entry ORDER BY e.n DESC, e.key) FILTER (WHERE e.dimension = 'source'), '[]'),
               'source_platform', coalesce(json_agg(e.entry ORDER BY e.n DESC, e.key) FILTER (WHERE e.dimension = 'source_platform'), '[]'),
               'carrier', coalesce(json_agg(e.entry ORDER BY e.n DESC, e.key) FILTER (WHERE e.dimension = 'carrier'), '[]'),
               'ticket_type', coalesce(json_agg(e.entry ORDER BY e.n DESC, e.key) FILTER (WHERE e.dimension = 'ticket_type'), '[]'),
               'agent', coalesce(json_agg(e.entry ORDER BY e.n DESC, e.key) FILTER (WHERE e.dimension = 'agent'), '[]'),
               'locale', coalesce(json_agg(e.entry ORDER BY e.n DESC, e.key) FILTER (WHERE e.dimension = 'locale'), '[]'),
               'company', coalesce(json_agg(e.entry ORDER BY e.worst_first) FILTER (WHERE e.dimension = 'company'), '[]'),
               -- Fastest first, unresolved last: the buckets' own order.
               'resolution_time', coalesce(json_agg(e.entry ORDER BY array_position(
                   ARRAY['under_4h', '4h_to_24h', '1d_to_3d', 'over_3d', 'unresolved'], e.key #>> '{}'))
                   FILTER (WHERE e.dimension = 'resolution_time'), '[]')
           ) AS breakdowns
    FROM (SELECT sh.dimension, sh.n, sh.key, sh.worst_first,
                 json_build_object('key', sh.key, 'name', sh.name, 'count', sh.n, 'average', sh.average,
                                   'csat', sh.csat, 'csat_lower', sh.csat_lower, 'csat_upper', sh.csat_upper,
                                   'low_sample', sh.low_sample, 'rank', sh.rank, 'filter', sh.filter,
                                   'satisfied', sh.satisfied) AS entry
          FROM shown sh) e
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
       stamp.version                                                             AS filter_version,
       hw.how,
       -- What to remember for the next request (none when it is what is remembered already).
       CASE WHEN hw.how <> 'remembered' THEN jsonb_build_object(
           'rating', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                 'l', c.locale_id, 'c', c.carrier_id, 's', c.score, 'n', c.n, 't', c.ticket, 'ca', c.carrier,
                                 'sh', c.shop, 'p', c.platform, 'w', c.whatsapp, 'cm', c.with_comment)), '[]')
                      FROM rating_cells c),
           'ticket', (SELECT coalesce(jsonb_agg(jsonb_build_object('d', c.dimension, 'k', c.key, 's', c.score, 'n', c.n)), '[]')
                      FROM ticket_cells c),
           'day', (SELECT coalesce(jsonb_agg(jsonb_build_object('d', c.day, 'n', c.n, 'ss', c.score_sum, 'sa', c.satisfied)), '[]')
                   FROM day_cells c),
           'followed_up', h.detractors_followed_up)::text END                     AS cells,
       co.company_ids, co.company_ratings, co.company_score_sums, co.company_satisfied
FROM headline h, range_granularity r, breakdowns b, trend t, rating_filter_version stamp, how hw,
     LATERAL (SELECT coalesce(array_agg(c.company_id), '{}')          AS company_ids,
                     coalesce(array_agg(c.n::bigint), '{}')           AS company_ratings,
                     coalesce(array_agg(c.score_sum::bigint), '{}')   AS company_score_sums,
                     coalesce(array_agg(c.satisfied::bigint), '{}')   AS company_satisfied
              FROM company_cells c
              WHERE hw.how <> 'remembered') co;
