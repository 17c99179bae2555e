-- seed_lock_acquire.sql :one — takes the session-level advisory lock that keeps two seeds of one database from interleaving; one row (locked).
-- Params: none. Released by seed_lock_release.sql or when the session ends.
-- psql -d "$DATABASE_URL" -f sql/seed_lock_acquire.sql
SELECT pg_advisory_lock(7261733) IS NOT NULL AS locked;
