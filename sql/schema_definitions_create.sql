-- schema_definitions_create.sql :none — creates the ledger of the definition files (sql/definitions) applied to this database, if it has none yet.
-- Params: none.
-- psql -d "$DATABASE_URL" -f sql/schema_definitions_create.sql
--
-- One row per file: the sha256 of its bytes when `flask migrate` last applied it, so the next
-- run re-applies only the files whose content changed (csat/migrations.py).
CREATE TABLE IF NOT EXISTS schema_definitions (
    name        text        PRIMARY KEY,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
