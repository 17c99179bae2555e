-- migrations_applied.sql: the migration versions already applied, oldest first.
-- Params: none.
-- psql -d "$DATABASE_URL" -f sql/migrations_applied.sql
SELECT m.version, m.applied_at
FROM schema_migrations m
ORDER BY m.version;
