-- transaction_settings.sql :one — applies the service's settings to the current transaction only; one row with the values now in force.
-- Params: statement_timeout_ms integer (0: no limit),
--         idle_in_transaction_timeout_ms integer (0: no limit)
-- psql -v statement_timeout_ms=5000 \
--      -v idle_in_transaction_timeout_ms=60000 \
--      -d "$DATABASE_URL" -f sql/transaction_settings.sql
--
-- The service sends no startup options (PgBouncer in transaction mode refuses them) and never
-- SETs anything for a session (through PgBouncer a session is shared with other clients).
-- csat/db.py sends this statement in the same query string as every query, ahead of it:
-- PostgreSQL runs a multi-statement string as one implicit transaction, so the LOCAL values
-- (set_config's third argument) cover the query and end with it, in one round trip. An
-- export's explicit transaction starts with it too (csat/exports.py).
-- statement_timeout: DB_STATEMENT_TIMEOUT_MS, or the export's own limit.
-- TimeZone = UTC: timestamps are read and written in UTC whatever the server's default.
-- jit = off: compiling costs far more than it saves on queries this short.
-- idle_in_transaction_session_timeout: an export whose client stopped reading for this long
-- gives its connection (and its snapshot) back.
WITH params AS (
    SELECT :'statement_timeout_ms'::integer AS statement_timeout_ms,
           :'idle_in_transaction_timeout_ms'::integer AS idle_in_transaction_timeout_ms
)
SELECT set_config('statement_timeout', p.statement_timeout_ms::text, true) AS statement_timeout,
       set_config('TimeZone', 'UTC', true) AS time_zone,
       set_config('jit', 'off', true) AS jit,
       set_config('idle_in_transaction_session_timeout', p.idle_in_transaction_timeout_ms::text, true)
           AS idle_in_transaction_session_timeout
FROM params p;
