-- schema_migrations_create.sql: creates the migrations ledger if this database has none yet.
-- Params: none. Same definition as in sql/migrations/0001_schema.sql.
-- psql -d "$DATABASE_URL" -f sql/schema_migrations_create.sql
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     text        PRIMARY KEY,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
