-- export_session_setup.sql: applies an export's transaction-local settings and returns them (statement_timeout, jit).
-- Params: statement_timeout_ms integer (0: no limit)
-- psql -v statement_timeout_ms=0 -d "$DATABASE_URL" -f sql/export_session_setup.sql
--
-- set_config(name, value, true) is SET LOCAL with a parameter: both settings end with the
-- export's transaction, so the pooled connection goes back with the service's defaults.
-- statement_timeout: each FETCH of the export's cursor is one statement; exports get their
-- own limit (EXPORT_STATEMENT_TIMEOUT_MS) instead of the list's 5 s. A CSV export's second
-- COPY is one statement for the rest of the download, so it is applied again with 0 for it.
-- jit = off: a million-row export costs enough to trigger JIT compilation with inlining and
-- optimisation, which spends ~2 s before the first row and gains nothing on this plan.
-- cursor_tuple_fraction stays at its default (0.1) on purpose: the cursor then gets a
-- fast-start plan where an index serves the order (ratingDate: ratings_created_at_id_idx),
-- so the first batch leaves in milliseconds. With 1 the planner sorts every matching row
-- first: ~1.5x less database time in all, but no byte for seconds on a million rows.
WITH params AS (
    SELECT :'statement_timeout_ms'::integer AS statement_timeout_ms
)
SELECT set_config('statement_timeout', p.statement_timeout_ms::text, true) AS statement_timeout,
       set_config('jit', 'off', true)                                      AS jit
FROM params p;
