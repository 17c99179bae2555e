-- 0006_filter_args.sql: IMMUTABLE text -> array/date converters for query-file parameters, and
-- csat_filtered_ratings rewritten (same signature and meaning) so agents and carriers use indexes.
-- Params: none.
-- psql -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/migrations/0006_filter_args.sql
--
-- Query files receive every parameter as text (psql's -v, or the loader's literal) and write
-- NULLIF(:'ids', '')::bigint[]. That cast calls array_in (or date_in), which PostgreSQL marks
-- STABLE because some element types depend on settings, so the planner does not evaluate it:
-- "ids IS NULL OR company_id = ANY (ids)" then stays an OR, no index serves it, and counts
-- become sequential scans (2.6 s instead of 3 ms for two companies + scores + 90 days on 1M
-- ratings). For these element types the result depends on the text alone, so the wrappers are
-- honestly IMMUTABLE: the planner evaluates them once and sees constants. An empty text is
-- NULL ("no filter"), exactly what psql's -v name= means.
-- Use: csat_arg_bigints(:'company_ids'), csat_arg_date(:'start_date'), ...

BEGIN;

CREATE FUNCTION csat_arg_bigints(value text) RETURNS bigint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN NULLIF(value, '')::bigint[];

CREATE FUNCTION csat_arg_integers(value text) RETURNS integer[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN NULLIF(value, '')::integer[];

CREATE FUNCTION csat_arg_smallints(value text) RETURNS smallint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN NULLIF(value, '')::smallint[];

CREATE FUNCTION csat_arg_texts(value text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN NULLIF(value, '')::text[];

-- YYYY-MM-DD (no 'today' or other clock-dependent input, which would not be immutable).
CREATE FUNCTION csat_arg_date(value text) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN value = '' THEN NULL
            ELSE make_date(split_part(value, '-', 1)::integer, split_part(value, '-', 2)::integer,
                           split_part(value, '-', 3)::integer)
       END;

-- Same signature and meaning as in 0003. Only the agents and carriers filters change form:
-- a sub-select inside "x IS NULL OR ..." cannot become a join (PostgreSQL pulls sub-selects up
-- before it folds the NULL test away), so it ran as a hashed sub-plan probed by every rating:
-- 1.7 s for one agent on 1M ratings. ARRAY(SELECT ...) is evaluated once, and
-- "column = ANY (that array)" is an index condition on ratings.ticket_id / ratings.carrier_id.
CREATE OR REPLACE FUNCTION csat_filtered_ratings(
    locale_ids        smallint[],
    company_ids       bigint[],
    sources           text[],
    source_platforms  text[],
    rating            smallint,
    scores            smallint[],
    start_date        date,
    end_date          date,
    time_zone         text,
    agent_ids         integer[],
    carriers          text[],
    has_comment       boolean,
    follow_up         text,
    search            text
) RETURNS SETOF ratings
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT r.*
    FROM ratings r
    WHERE (locale_ids IS NULL OR r.locale_id = ANY (locale_ids))
      AND (company_ids IS NULL OR r.company_id = ANY (company_ids))
      AND (sources IS NULL OR r.source = ANY (sources))
      AND (source_platforms IS NULL OR r.source_platform = ANY (source_platforms))
      AND (rating IS NULL OR r.score = rating)
      AND (scores IS NULL OR r.score = ANY (scores))
      -- Dates are whole days in the business time zone, both ends inclusive.
      AND (start_date IS NULL OR r.created_at >= start_date::timestamp AT TIME ZONE time_zone)
      AND (end_date IS NULL OR r.created_at < (end_date + 1)::timestamp AT TIME ZONE time_zone)
      AND (agent_ids IS NULL OR r.ticket_id = ANY (ARRAY(
              SELECT t.id FROM tickets t WHERE t.assigned_admin_id = ANY (agent_ids))))
      AND (carriers IS NULL OR r.carrier_id = ANY (ARRAY(
              SELECT c.id FROM carriers c
              WHERE lower(c.name) = ANY (carriers) OR lower(c.description) = ANY (carriers))))
      AND (has_comment IS NULL OR (coalesce(r.comment, '') <> '') = has_comment)
      -- pending: a detractor (1-2 stars) nobody has followed up yet; done: followed up.
      AND (follow_up IS NULL
           OR (follow_up = 'done'
               AND EXISTS (SELECT 1 FROM rating_follow_ups f WHERE f.rating_id = r.id))
           OR (follow_up = 'pending' AND r.score <= 2
               AND NOT EXISTS (SELECT 1 FROM rating_follow_ups f WHERE f.rating_id = r.id)))
      AND (search IS NULL OR r.comment ILIKE
              '%' || replace(replace(replace(search, '\', '\\'), '%', '\%'), '_', '\_') || '%')
$$;

INSERT INTO schema_migrations (version) VALUES ('0006_filter_args');

COMMIT;
