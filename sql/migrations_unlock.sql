-- migrations_unlock.sql :one — releases the advisory lock taken by migrations_lock.sql.
-- Params: none.
-- psql -d "$DATABASE_URL" -f sql/migrations_unlock.sql
SELECT pg_advisory_unlock(hashtext('csat:migrations')) AS unlocked;
