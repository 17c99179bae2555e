-- migrations_lock.sql :one — takes the session-level advisory lock that serialises migration runs.
-- Params: none. Released by migrations_unlock.sql or when the session ends.
-- psql -d "$DATABASE_URL" -f sql/migrations_lock.sql
SELECT pg_advisory_lock(hashtext('csat:migrations')) IS NOT NULL AS locked;
