-- 10_csat_arg.sql: the csat_arg_* converters: a query file's text parameter as an array or a date the planner can fold.
-- psql -1 -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/definitions/10_csat_arg.sql
--
-- Query files receive every parameter as text (psql's -v, or the loader's literal) and write
-- NULLIF(:'ids', '')::bigint[]. That cast calls array_in (or date_in), which PostgreSQL marks
-- STABLE because some element types depend on settings, so the planner does not evaluate it:
-- "ids IS NULL OR company_id = ANY (ids)" then stays an OR, no index serves it, and counts
-- become sequential scans (2.6 s instead of 3 ms for two companies + scores + 90 days on 1M
-- ratings). For these element types the result depends on the text alone, so the wrappers are
-- honestly IMMUTABLE: the planner evaluates them once and sees constants. An empty text is
-- NULL ("no filter"), exactly what psql's -v name= means. Migration 0006 created them.

CREATE OR REPLACE FUNCTION csat_arg_bigints(value text) RETURNS bigint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN NULLIF(value, '')::bigint[];

CREATE OR REPLACE FUNCTION csat_arg_integers(value text) RETURNS integer[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN NULLIF(value, '')::integer[];

CREATE OR REPLACE FUNCTION csat_arg_smallints(value text) RETURNS smallint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN NULLIF(value, '')::smallint[];

CREATE OR REPLACE FUNCTION csat_arg_texts(value text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN NULLIF(value, '')::text[];

-- YYYY-MM-DD (no 'today' or other clock-dependent input, which would not be immutable).
CREATE OR REPLACE FUNCTION csat_arg_date(value text) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN value = '' THEN NULL
            ELSE make_date(split_part(value, '-', 1)::integer, split_part(value, '-', 2)::integer,
                           split_part(value, '-', 3)::integer)
       END;
