-- migration_ledgers_check.sql :one — whether this database has the migrations ledger and the definitions ledger yet; one row (migrations, definitions).
-- Params: none.
-- psql -d "$DATABASE_URL" -f sql/migration_ledgers_check.sql
--
-- `flask migrate --status` changes nothing, so it cannot create them to read them.
SELECT to_regclass('schema_migrations') IS NOT NULL AS migrations,
       to_regclass('schema_definitions') IS NOT NULL AS definitions;
