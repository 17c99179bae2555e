-- 20_csat_rating_rows_by_ids.sql: csat_rating_rows_by_ids(ids), the list rows of given ratings through a plan cached per connection.
-- psql -1 -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/definitions/20_csat_rating_rows_by_ids.sql
--
-- psycopg2 sends literal SQL, so PostgreSQL planned the view's 7-table join on every request
-- (3-15 ms of planning for 1-2 ms of execution at 1,000,000 ratings). PL/pgSQL prepares its
-- queries once per connection, and plan_cache_mode makes that plan generic at once: planning
-- drops to ~0.05 ms. Rows come in no particular order. Migration 0020 created it.

CREATE OR REPLACE FUNCTION csat_rating_rows_by_ids(ids bigint[]) RETURNS SETOF csat_rating_rows
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN QUERY SELECT v.* FROM csat_rating_rows v WHERE v.rating_id = ANY (ids);
END
$$;

COMMENT ON FUNCTION csat_rating_rows_by_ids IS
    'csat_rating_rows of the given rating ids (unordered), through a generic plan cached per connection.';
