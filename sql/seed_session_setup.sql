-- seed_session_setup.sql :one — applies the seed's session settings on one of its connections and returns them.
-- Params: none
-- psql -d "$DATABASE_URL" -f sql/seed_session_setup.sql
--
-- set_config(name, value, false) is SET: the settings last for the session once the transaction
-- running this commits; seed_session_reset.sql puts the caller's connection back as it was.
-- max_parallel_maintenance_workers = 0: both cores are already busy with a task each; parallel
-- index builds would only steal time from the other connection.
SELECT set_config('statement_timeout', '0', false)                AS statement_timeout,
       set_config('jit', 'off', false)                            AS jit,
       set_config('work_mem', '256MB', false)                     AS work_mem,
       set_config('maintenance_work_mem', '512MB', false)         AS maintenance_work_mem,
       set_config('synchronous_commit', 'off', false)             AS synchronous_commit,
       set_config('max_parallel_maintenance_workers', '0', false) AS max_parallel_maintenance_workers;
