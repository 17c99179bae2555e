-- themes_terms.sql :one — one row: the most frequent comment terms of detractors (1-2 stars) and promoters (4-5 stars) among the ratings matching the list filters, as two JSON arrays, with the rating_filter_version they were read at.
-- Params: locale_ids smallint[]|empty, company_ids bigint[]|empty, sources text[]|empty,
--         source_platforms text[]|empty, rating smallint|empty, scores smallint[]|empty,
--         start_date date, end_date date, time_zone text, agent_ids integer[]|empty,
--         carriers text[]|empty (lower-case), has_comment boolean|empty,
--         follow_up text|empty (pending|done), search text|empty, resolutions text[]|empty,
--         max_terms int
-- psql -v locale_ids= \
--      -v company_ids= \
--      -v sources= \
--      -v source_platforms= \
--      -v rating= \
--      -v scores= \
--      -v start_date=2026-08-03 \
--      -v end_date=2026-10-31 \
--      -v time_zone=America/Mexico_City \
--      -v agent_ids= \
--      -v carriers= \
--      -v has_comment= \
--      -v follow_up= \
--      -v search= \
--      -v resolutions= \
--      -v max_terms=30 \
--      -d "$DATABASE_URL" -f sql/themes_terms.sql
--
-- The ratings are the list's (csat_filtered_ratings); their comments' terms were parsed when
-- written (rating_comment_terms, migration 0026: stemmed, stop words removed, in the
-- language of the company's country). A tsvector holds each term once, so unnesting it gives
-- one row per (comment, term), and counting rows counts comments.
-- For each group (detractors, promoters):
--   count = the group's comments containing the term;
--   lift  = (count / the group's comments) / (all comments with the term / all comments),
--           all comments meaning every matching rating with a comment, 3 stars included;
--           compared exactly (integer cross-products), shown with 2 decimals;
--   example_rating_id = the group's highest rating id containing the term (the latest recorded).
-- Only terms with lift > 1 are kept (more typical of the group than of the comments as a
-- whole), and only terms with a letter (numbers and scores like "10/10" say nothing); the
-- first max_terms by count descending, then term (byte order, the same under every collation).
WITH params AS NOT MATERIALIZED (
    SELECT f.*,
           :'max_terms'::integer AS max_terms
    FROM csat_list_filters_of(:'locale_ids', :'company_ids', :'sources', :'source_platforms',
                              :'rating', :'scores', :'start_date', :'end_date', :'time_zone',
                              :'agent_ids', :'carriers', :'has_comment', :'follow_up', :'search',
                              :'resolutions') f
),
-- NOT MATERIALIZED: each aggregation below reads the join with its own parallel plan
-- (materialized once, unnesting and grouping ran in one process, and slower).
commented AS NOT MATERIALIZED (
    SELECT r.id, r.score, t.terms
    FROM params p,
         csat_filtered_ratings(p.locale_ids, p.company_ids, p.sources, p.source_platforms,
                               p.rating, p.scores, p.start_date, p.end_date, p.time_zone,
                               p.agent_ids, p.carriers, p.has_comment, p.follow_up, p.search,
                               p.resolutions) r
    JOIN rating_comment_terms t ON t.rating_id = r.id
),
comments AS (
    SELECT count(*)                              AS all_n,
           count(*) FILTER (WHERE c.score <= 2)  AS detractors_n,
           count(*) FILTER (WHERE c.score >= 4)  AS promoters_n
    FROM commented c
),
term_counts AS (
    SELECT u.lexeme                                       AS term,
           count(*)                                       AS all_n,
           count(*) FILTER (WHERE c.score <= 2)           AS detractors_n,
           max(c.id) FILTER (WHERE c.score <= 2)          AS detractors_example,
           count(*) FILTER (WHERE c.score >= 4)           AS promoters_n,
           max(c.id) FILTER (WHERE c.score >= 4)          AS promoters_example
    FROM commented c,
         LATERAL unnest(c.terms) AS u
    GROUP BY u.lexeme
),
ranked AS (
    SELECT g.grp, tc.term, g.n AS count,
           round((g.n::numeric / g.group_n) / (tc.all_n::numeric / tot.all_n), 2) AS lift,
           g.example AS example_rating_id,
           row_number() OVER (PARTITION BY g.grp ORDER BY g.n DESC, tc.term COLLATE "C") AS position
    FROM term_counts tc
    CROSS JOIN comments tot
    CROSS JOIN LATERAL (VALUES ('detractors', tc.detractors_n, tot.detractors_n, tc.detractors_example),
                               ('promoters', tc.promoters_n, tot.promoters_n, tc.promoters_example))
               AS g (grp, n, group_n, example)
    WHERE g.n > 0
      AND g.n * tot.all_n > tc.all_n * g.group_n  -- lift > 1, exactly
      AND upper(tc.term) <> lower(tc.term)         -- has a letter
)
SELECT p.start_date,
       p.end_date,
       coalesce((SELECT json_agg(json_build_object('term', r.term, 'count', r.count, 'lift', r.lift,
                                                   'example_rating_id', r.example_rating_id)
                                 ORDER BY r.position)
                 FROM ranked r WHERE r.grp = 'detractors' AND r.position <= p.max_terms),
                '[]') AS detractors,
       coalesce((SELECT json_agg(json_build_object('term', r.term, 'count', r.count, 'lift', r.lift,
                                                   'example_rating_id', r.example_rating_id)
                                 ORDER BY r.position)
                 FROM ranked r WHERE r.grp = 'promoters' AND r.position <= p.max_terms),
                '[]') AS promoters,
       (SELECT v.version FROM rating_filter_version v) AS filter_version
FROM params p;
