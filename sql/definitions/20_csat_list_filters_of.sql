-- 20_csat_list_filters_of.sql: csat_list_filters_of, the list filters' fifteen query-file parameters (text) converted once, for every query that filters ratings.
-- psql -1 -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/definitions/20_csat_list_filters_of.sql
--
-- Query files call it in their params CTE:
--   FROM csat_list_filters_of(:'locale_ids', :'company_ids', ..., :'resolutions') f
-- A LANGUAGE sql, IMMUTABLE, set-returning function of one SELECT is inlined by the planner
-- (a scalar one returning a row would not be), and so are the csat_arg_* converters it calls:
-- the planner still sees each filter as a constant it folds into index conditions, exactly as
-- when the conversions were written out in each query (same plans). Not STRICT, which would
-- stop the inlining. An empty text is "no filter" (NULL), as psql's -v name= gives it.
-- The result row is the type csat_list_filters (migration 0090): a new filter changes the
-- type there, and this function here.
CREATE OR REPLACE FUNCTION csat_list_filters_of(
    locale_ids        text,
    company_ids       text,
    sources           text,
    source_platforms  text,
    rating            text,
    scores            text,
    start_date        text,
    end_date          text,
    time_zone         text,
    agent_ids         text,
    carriers          text,
    has_comment       text,
    follow_up         text,
    search            text,
    resolutions       text
) RETURNS SETOF csat_list_filters
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT csat_arg_smallints(locale_ids),
           csat_arg_bigints(company_ids),
           csat_arg_texts(sources),
           csat_arg_texts(source_platforms),
           NULLIF(rating, '')::smallint,
           csat_arg_smallints(scores),
           csat_arg_date(start_date),
           csat_arg_date(end_date),
           time_zone,
           csat_arg_integers(agent_ids),
           csat_arg_texts(carriers),
           NULLIF(has_comment, '')::boolean,
           NULLIF(follow_up, ''),
           NULLIF(search, ''),
           csat_arg_texts(resolutions)
$$;

COMMENT ON FUNCTION csat_list_filters_of IS
    'The list filters from their query-file parameters (text; empty: no filter), as csat_list_filters.';
