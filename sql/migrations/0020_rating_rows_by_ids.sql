-- 0020_rating_rows_by_ids.sql: csat_rating_rows_by_ids(ids), the list rows of given ratings through a plan cached per connection.
-- Params: none.
-- psql -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/migrations/0020_rating_rows_by_ids.sql
--
-- Why: the list page picks its 100 rating ids on ratings alone, then joins them to the
-- csat_rating_rows view (7 tables). psycopg2 sends literal SQL, so PostgreSQL planned that
-- 7-table join on every request: 3-15 ms of planning for 1-2 ms of execution at 1,000,000
-- ratings. Fetching rows by id is the case where one generic plan is right for every call
-- (primary-key lookups, then a lookup per joined table), so it lives in a PL/pgSQL function:
-- PL/pgSQL prepares its queries once per connection, and plan_cache_mode makes that plan
-- generic at once. The pooled connections keep it; planning drops to ~0.05 ms.
-- The row is still defined once, by the view: the function returns csat_rating_rows rows.
-- Rows come in no particular order; callers order them (by their page's sort key).

BEGIN;

CREATE FUNCTION csat_rating_rows_by_ids(ids bigint[]) RETURNS SETOF csat_rating_rows
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN QUERY SELECT v.* FROM csat_rating_rows v WHERE v.rating_id = ANY (ids);
END
$$;

COMMENT ON FUNCTION csat_rating_rows_by_ids IS
    'csat_rating_rows of the given rating ids (unordered), through a generic plan cached per connection.';

INSERT INTO schema_migrations (version) VALUES ('0020_rating_rows_by_ids');

COMMIT;
