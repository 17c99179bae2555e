-- seed_lock_release.sql :one — releases the seed's advisory lock taken by seed_lock_acquire.sql; one row (released: the session held it).
-- Params: none
-- psql -d "$DATABASE_URL" -f sql/seed_lock_release.sql
SELECT pg_advisory_unlock(7261733) AS released;
