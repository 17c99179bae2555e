-- export_session_setup.sql :one — applies an export's transaction-local settings and returns them (statement_timeout, jit, cursor_tuple_fraction, enable_memoize).
-- Params: statement_timeout_ms integer (0: no limit)
-- psql -v statement_timeout_ms=0 -d "$DATABASE_URL" -f sql/export_session_setup.sql
--
-- set_config(name, value, true) is SET LOCAL with a parameter: both settings end with the
-- export's transaction, so the pooled connection goes back with the service's defaults.
-- statement_timeout: the export's statements before its first byte (slot, first rows) get
-- their own limit (EXPORT_STATEMENT_TIMEOUT_MS) instead of the list's 5 s. The second COPY
-- (every body's) is one statement for the rest of the download, so it is applied again with
-- 0 for it.
-- jit = off: a million-row export costs enough to trigger JIT compilation with inlining and
-- optimisation, which delays the first row and gains nothing on this plan.
-- cursor_tuple_fraction = 1: a cursor over the export reads all it selects, so it is planned
-- as a whole read (hash joins and one sort), as COPY plans it; since issue 15 every body is a
-- COPY, and this only keeps a cursor from planning otherwise.
-- enable_memoize = off: the export reads everything. Left on, the planner may narrow the
-- workers' sort by joining ticket_statuses after the Gather Merge through a memoized lookup,
-- which moves that join and the row's formatting into the one process that merges the
-- workers' rows and bounds the export; off, the joins and formatting stay in the workers.
-- The first batch comes from its own LIMIT 1000 statement, which the planner gives a
-- fast-start plan whatever this says, so the first byte still leaves in milliseconds.
WITH params AS (
    SELECT :'statement_timeout_ms'::integer AS statement_timeout_ms
)
SELECT set_config('statement_timeout', p.statement_timeout_ms::text, true) AS statement_timeout,
       set_config('jit', 'off', true)                                      AS jit,
       set_config('cursor_tuple_fraction', '1', true)                      AS cursor_tuple_fraction,
       set_config('enable_memoize', 'off', true)                           AS enable_memoize
FROM params p;
