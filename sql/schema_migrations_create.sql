-- schema_migrations_create.sql :none — creates the migrations ledger if this database has none yet, and gives a ledger of an older release its checksum column.
-- Params: none.
-- psql -d "$DATABASE_URL" -f sql/schema_migrations_create.sql
--
-- The table is also created by sql/migrations/0001_schema.sql (without checksum: landed
-- migrations never change), so a database migrated with psql alone has it in that shape.
-- checksum: sha256 of the migration file's bytes when `flask migrate` applied or first saw
-- it (csat/migrations.py); NULL for a file run with psql until the next `flask migrate`.
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     text        PRIMARY KEY,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum text;
