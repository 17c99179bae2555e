-- migrations_applied.sql :many — the migration versions already applied, oldest first, with the checksum recorded for each (NULL: none yet).
-- Params: none.
-- psql -d "$DATABASE_URL" -f sql/migrations_applied.sql
--
-- checksum is read through to_jsonb so the query also runs on a ledger of an older release,
-- which has no such column yet: `flask migrate --status` reads it without changing it.
SELECT m.version, m.applied_at, to_jsonb(m) ->> 'checksum' AS checksum
FROM schema_migrations m
ORDER BY m.version;
